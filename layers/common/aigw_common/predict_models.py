"""The predict pipeline's model contract: features in, a labelled prediction out.

Everything a model needs is in its configuration (``predict_models.json`` beside this
module), so adding a model is a configuration change, not code. It lives in the layer
because three readers share it: the predict workflow's processing function, the API (which
validates a predict job's model and features when it is submitted) and ``GET /v1/models``
(which lists the models, their features as JSON Schema and their output).

- Pre-processing validates the caller's features (required, type, range, category; unknown
  names are rejected so a typo cannot silently fall back to a default), puts them in the
  configured order, encodes them (numbers as they are, booleans as 1/0, categories one-hot
  in the order of their ``values`` or as their index) and serialises the vector as the
  endpoint's ``content_type`` wants it: one CSV row, or JSON ``{"instances": [[...]]}``.
- Post-processing reads the endpoint's answer in the model's ``accept`` type: one
  probability (of the second of two labels) or one score per label, as a CSV row, a JSON
  number or list, a batch of one (``[[...]]``) or ``{"predictions": ...}``.

The error classes' names are what Step Functions sees (a Lambda error's type), so the
workflow can refuse to retry them; their messages name features and limits, never values.
A configuration that breaks the contract raises ``ValidationError`` naming every problem.
Plain classes, not pydantic models: the predict processing function loads the catalogue at
every cold start, and pydantic with these models' schemas cost it a third of a ``boto3``
import (docs/benchmarks.md, "Cold start").
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from aigw_common.state_input import Fields, ValidationError

ContentType = Literal["text/csv", "application/json"]
CONTENT_TYPES = ("text/csv", "application/json")
#: An error names this many problems at most, so its message stays short.
MAX_LISTED_PROBLEMS = 5
CONFIGURATION = Path(__file__).parent / "predict_models.json"
#: What clients may send as ``model`` (the predict input schema in api/openapi.yaml).
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
#: A SageMaker endpoint's name.
ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")


class UnknownModel(ValueError):
    """The request names a model the configuration does not list."""


class InvalidFeatures(ValueError):
    """The features do not satisfy the model's contract; the message names each feature."""


class InvalidModelOutput(ValueError):
    """The endpoint answered with something the model's contract cannot read."""


class _Rejected(ValueError):
    """One feature's value is unusable (collected into one InvalidFeatures)."""


@dataclass(frozen=True)
class _Feature:
    name: str
    #: A feature with a default may be left out; one without is required.
    default: Any

    def encode(self, value: Any) -> list[int | float]:
        """The feature's columns in the encoded vector; _Rejected if the value is unusable."""
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        """What a client may send for this feature, as JSON Schema."""
        raise NotImplementedError

    def _with_default(self, schema: dict[str, Any]) -> dict[str, Any]:
        return schema if self.default is None else {**schema, "default": self.default}

    def _check_default(self, fields: Fields) -> None:
        if self.default is not None:
            try:
                self.encode(self.default)
            except _Rejected as error:
                fields.problem(f"the default of {error}")


@dataclass(frozen=True)
class NumberFeature(_Feature):
    type: Literal["number", "integer"]
    min: float | None = None
    max: float | None = None

    def encode(self, value: Any) -> list[int | float]:
        # bool is an int in Python, but true is not a number in JSON.
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value):
            raise _Rejected(f"{self.name!r} must be a number")
        if self.type == "integer":
            if not float(value).is_integer():
                raise _Rejected(f"{self.name!r} must be a whole number")
            value = int(value)
        if self.min is not None and value < self.min:
            raise _Rejected(f"{self.name!r} must be at least {self.min:g}")
        if self.max is not None and value > self.max:
            raise _Rejected(f"{self.name!r} must be at most {self.max:g}")
        return [value]

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type}
        for bound, keyword in ((self.min, "minimum"), (self.max, "maximum")):
            if bound is not None:
                schema[keyword] = int(bound) if float(bound).is_integer() else bound
        return self._with_default(schema)


@dataclass(frozen=True)
class BooleanFeature(_Feature):
    type: Literal["boolean"] = "boolean"

    def encode(self, value: Any) -> list[int | float]:
        if not isinstance(value, bool):
            raise _Rejected(f"{self.name!r} must be true or false")
        return [int(value)]

    def json_schema(self) -> dict[str, Any]:
        return self._with_default({"type": "boolean"})


@dataclass(frozen=True)
class CategoryFeature(_Feature):
    values: list[str] = field(default_factory=list)
    #: one_hot: one 0/1 column per value, in this order; ordinal: the value's index.
    encoding: Literal["one_hot", "ordinal"] = "one_hot"
    type: Literal["category"] = "category"

    def encode(self, value: Any) -> list[int | float]:
        if not isinstance(value, str) or value not in self.values:
            raise _Rejected(f"{self.name!r} must be one of {', '.join(self.values)}")
        index = self.values.index(value)
        if self.encoding == "ordinal":
            return [index]
        return [int(position == index) for position in range(len(self.values))]

    def json_schema(self) -> dict[str, Any]:
        return self._with_default({"type": "string", "enum": list(self.values)})


Feature = NumberFeature | BooleanFeature | CategoryFeature
FEATURE_TYPES = ("number", "integer", "boolean", "category")


def _feature(fields: Fields) -> Feature | None:
    """One feature of the configuration, by its ``type``; None (with the problems noted on
    ``fields``) when it is not one."""
    kind = fields.tag("type", FEATURE_TYPES)
    if kind is None:
        return None
    name = fields.string("name", min_length=1)
    feature: Feature
    if kind in ("number", "integer"):
        low = fields.number("min", default=None)
        high = fields.number("max", default=None)
        default = fields.number("default", default=None)
        if isinstance(low, float) and isinstance(high, float) and low > high:
            fields.problem(f"{name!r}: min is larger than max")
        feature = NumberFeature(name=name, default=default, type=kind, min=low, max=high)
    elif kind == "boolean":
        feature = BooleanFeature(name=name, default=fields.boolean("default", default=None))
    else:
        values = fields.strings("values", min_length=2)
        feature = CategoryFeature(
            name=name,
            default=fields.string("default", default=None),
            values=values,
            encoding=fields.choice("encoding", ("one_hot", "ordinal"), default="one_hot"),
        )
        if len(set(values)) != len(values):
            fields.problem(f"{name!r} lists a value twice")
    if fields.ok:
        feature._check_default(fields)
    return feature


@dataclass(frozen=True)
class ModelSpec:
    """One model: its endpoint, how to talk to it, and how to read its answer."""

    #: What clients may send as ``model`` (the predict input schema in api/openapi.yaml).
    name: str
    #: What the model predicts, for people choosing one (GET /v1/models).
    description: str
    endpoint_name: str
    content_type: ContentType
    accept: ContentType
    features: list[Feature]
    labels: list[str]
    #: Binary models: the second label wins when its probability is at least this.
    threshold: float | None = None

    @classmethod
    def parse(cls, data: Any) -> ModelSpec:
        """One model of the configuration; ValidationError names every problem."""
        fields = Fields("ModelSpec", data)
        model = cls._read(fields)
        fields.check()
        return model

    @classmethod
    def _read(cls, fields: Fields) -> ModelSpec:
        name = fields.string("name", pattern=MODEL_NAME)
        description = fields.string("description", min_length=1, max_length=500)
        endpoint_name = fields.string("endpoint_name", pattern=ENDPOINT_NAME, max_length=63)
        content_type = fields.choice("content_type", CONTENT_TYPES)
        accept = fields.choice("accept", CONTENT_TYPES, default="application/json")
        features = [_feature(item) for item in fields.objects("features", "Feature", min_length=1)]
        labels = fields.strings("labels", min_length=2)
        threshold = fields.number("threshold", default=None, above=0, below=1)
        if fields.ok:
            names = [feature.name for feature in features if feature]
            if len(set(names)) != len(names):
                fields.problem(f"model {name!r} lists a feature twice")
            if len(set(labels)) != len(labels):
                fields.problem(f"model {name!r} lists a label twice")
            if threshold is not None and len(labels) != 2:
                fields.problem(f"model {name!r}: a threshold needs exactly two labels")
        return cls(
            name=name,
            description=description,
            endpoint_name=endpoint_name,
            content_type=content_type,
            accept=accept,
            features=[feature for feature in features if feature],
            labels=labels,
            threshold=threshold,
        )

    def describe(self) -> dict[str, Any]:
        """The model as GET /v1/models lists it: what to send and what comes back. Never
        its endpoint: that is the deployment's business, not the client's."""
        required = [feature.name for feature in self.features if feature.default is None]
        scores = {"type": "number", "minimum": 0, "maximum": 1}
        return {
            "name": self.name,
            "description": self.description,
            "features_schema": {
                "type": "object",
                "properties": {feature.name: feature.json_schema() for feature in self.features},
                "required": required,
                "additionalProperties": False,
            },
            "labels": list(self.labels),
            "output_schema": {
                "type": "object",
                "required": ["model", "prediction"],
                "properties": {
                    "model": {"type": "string", "enum": [self.name]},
                    "prediction": {
                        "type": "object",
                        "required": ["label", "score", "scores"],
                        "properties": {
                            "label": {"type": "string", "enum": list(self.labels)},
                            "score": scores,
                            "scores": {
                                "type": "object",
                                "properties": {label: scores for label in self.labels},
                                "required": list(self.labels),
                                "additionalProperties": False,
                            },
                        },
                    },
                },
            },
        }


@dataclass(frozen=True)
class ModelCatalogue:
    """The models the gateway serves (``predict_models.json``)."""

    models: list[ModelSpec]

    @classmethod
    def parse(cls, data: Any) -> ModelCatalogue:
        """The configuration; ValidationError names every problem."""
        fields = Fields("ModelCatalogue", data)
        models = [
            ModelSpec._read(item) for item in fields.objects("models", "ModelSpec", min_length=1)
        ]
        names = [model.name for model in models]
        if fields.ok and len(set(names)) != len(names):
            fields.problem("two models share a name")
        fields.check()
        return cls(models)

    def get(self, name: str) -> ModelSpec:
        for model in self.models:
            if model.name == name:
                return model
        known = ", ".join(model.name for model in self.models)
        raise UnknownModel(f"there is no model {name!r}; the models are: {known}")


@cache
def load_catalogue() -> ModelCatalogue:
    """The configured models; a broken configuration fails here, at a function's start."""
    try:
        data = json.loads(CONFIGURATION.read_bytes())
    except ValueError as error:
        raise ValidationError(f"{CONFIGURATION.name} is not JSON: {error}") from None
    return ModelCatalogue.parse(data)


@dataclass(frozen=True)
class EndpointRequest:
    """What the workflow sends to SageMaker InvokeEndpoint."""

    model: str
    endpoint_name: str
    content_type: ContentType
    accept: ContentType
    body: str


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    scores: dict[str, float]


@dataclass(frozen=True)
class PredictionResult:
    model: str
    prediction: Prediction


def preprocess(model: ModelSpec, features: Any) -> EndpointRequest:
    """Validate and encode the features; InvalidFeatures lists every problem at once."""
    if not isinstance(features, dict):
        raise InvalidFeatures("features must be an object of feature names to values")
    problems = [
        f"unknown feature {name!r}"
        for name in features
        if name not in {feature.name for feature in model.features}
    ]
    vector: list[int | float] = []
    for feature in model.features:
        value = features.get(feature.name)
        if value is None:  # absent or null
            value = feature.default
        if value is None:
            problems.append(f"{feature.name!r} is required")
            continue
        try:
            vector.extend(feature.encode(value))
        except _Rejected as error:
            problems.append(str(error))
    if problems:
        listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
        if len(problems) > MAX_LISTED_PROBLEMS:
            listed += f" (and {len(problems) - MAX_LISTED_PROBLEMS} more)"
        raise InvalidFeatures(f"invalid features for model {model.name!r}: {listed}")
    return EndpointRequest(
        model=model.name,
        endpoint_name=model.endpoint_name,
        content_type=model.content_type,
        accept=model.accept,
        body=_serialise(vector, model.content_type),
    )


def _serialise(vector: list[int | float], content_type: ContentType) -> str:
    if content_type == "text/csv":
        return ",".join(repr(value) for value in vector)
    return json.dumps({"instances": [vector]})


def postprocess(model: ModelSpec, body: str) -> PredictionResult:
    """Label the endpoint's answer: the threshold decides binary models, else the top score."""
    values = _read_scores(body, model.accept)
    if len(values) == 1:
        if len(model.labels) != 2:
            raise InvalidModelOutput(
                f"model {model.name!r} answered one probability but has {len(model.labels)} labels"
            )
        values = [1.0 - values[0], values[0]]
    if len(values) != len(model.labels):
        raise InvalidModelOutput(
            f"model {model.name!r} answered {len(values)} scores for {len(model.labels)} labels"
        )
    if model.threshold is not None:
        best = 1 if values[1] >= model.threshold else 0
    else:
        best = max(range(len(values)), key=values.__getitem__)  # the first of equal scores
    scores = {label: round(value, 4) for label, value in zip(model.labels, values, strict=True)}
    label = model.labels[best]
    return PredictionResult(
        model=model.name, prediction=Prediction(label=label, score=scores[label], scores=scores)
    )


def _read_scores(body: str, accept: ContentType) -> list[float]:
    cells: Any
    if accept == "text/csv":
        rows = body.strip().splitlines()
        if len(rows) != 1:
            raise InvalidModelOutput(f"expected one CSV row from the endpoint, got {len(rows)}")
        try:
            cells = [float(cell) for cell in rows[0].split(",")]
        except ValueError:
            raise InvalidModelOutput("the endpoint's CSV answer is not numbers") from None
    else:
        try:
            cells = json.loads(body)
        except ValueError:
            raise InvalidModelOutput("the endpoint's answer is not JSON") from None
        if isinstance(cells, dict) and "predictions" in cells:
            cells = cells["predictions"]
        if isinstance(cells, list) and len(cells) == 1 and isinstance(cells[0], list):
            cells = cells[0]  # a batch of one
        if not isinstance(cells, list):
            cells = [cells]
    for cell in cells:
        # bool is an int in Python; NaN fails the range check.
        if isinstance(cell, bool) or not isinstance(cell, int | float) or not 0 <= cell <= 1:
            raise InvalidModelOutput(
                "the endpoint must answer a probability or one score per label, each in [0, 1]"
            )
    return [float(cell) for cell in cells]
