"""The pipeline catalogue: what each pipeline accepts, how its input is prepared before the
execution starts, and how its raw output becomes the documented result.

Schemas come from api/openapi.yaml (via pipeline_schemas.json, generated and checked by a
test). ``prepare`` and ``normalize`` are pure: storage is passed in as small callables.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigw_common import limits, media
from aigw_common.errors import Internal, InvalidInput, NotFound, PayloadTooLarge
from aigw_common.json_input import excerpt, schema_error_message
from aigw_common.limits import LANGUAGE_DETECTION_MIN_CHARACTERS
from aigw_common.llm import (
    ModelCatalogue,
    PromptReader,
    normalize_generation,
    prepare_generate,
    prepare_summary,
)
from aigw_common.text import Chunk, merge_insights, split_text

if TYPE_CHECKING:
    from jsonschema import Draft7Validator

#: Text jobs, in UTF-8 bytes. Each chunk's entities, key phrases and PII go to S3, so the
#: workflow's payloads stay under Step Functions' 256 KB whatever Comprehend finds
#: (tests/gateway/test_payload_limits.py runs this much text with the most it can find).
MAX_TEXT_BYTES = 25_000
#: Inline documents and images (decoded); larger files go through POST /v1/uploads.
MAX_INLINE_BYTES = 3 * 1024 * 1024
#: Predict feature names (their count and values are bounded by the input schema).
MAX_FEATURE_NAME = 64

ObjectWriter = Callable[[str, bytes], None]


@dataclass(frozen=True)
class ObjectHead:
    """An uploaded object's size and first bytes (at most media.HEAD_BYTES)."""

    size: int
    head: bytes


#: Reads an upload's size and first bytes by key; None if there is no such object.
ObjectHeadReader = Callable[[str], ObjectHead | None]
#: Reads an object of the gateway's bucket by key (the per-chunk insights text-insights stored).
ObjectReader = Callable[[str], bytes]


@dataclass(frozen=True)
class Submission:
    """Who submits, where inline files go and, for the LLM pipelines, the models the gateway
    may call and how the tenant's prompt templates are read."""

    tenant_id: str
    job_id: str
    bucket: str
    write_object: ObjectWriter
    read_head: ObjectHeadReader
    models: ModelCatalogue | None = None
    read_prompt: PromptReader | None = None

    def llm(self) -> tuple[ModelCatalogue, PromptReader]:
        if self.models is None or self.read_prompt is None:
            raise Internal("the LLM pipelines are not configured for this function")
        return self.models, self.read_prompt


@dataclass(frozen=True)
class Pipeline:
    name: str
    mode: str
    description: str
    input_schema: dict[str, Any]
    options_schema: dict[str, Any]

    @property
    def runs_synchronously(self) -> bool:
        return self.mode == "sync"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "description": self.description,
            "input_schema": self.input_schema,
            "options_schema": self.options_schema,
        }

    def validate(self, pipeline_input: Any, options: Any) -> None:
        # Imported when a submission is validated, not by every function that imports the
        # catalogue (finalize normalizes results only): jsonschema costs a quarter of boto3.
        from jsonschema import Draft7Validator

        _check(Draft7Validator(self.input_schema), pipeline_input, "input")
        _check(Draft7Validator(self.options_schema), options, "options")


def _check(validator: Draft7Validator, value: Any, where: str) -> None:
    # Paths mix keys and indexes: compared as text, never str against int.
    errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.path])
    if errors:
        first = errors[0]
        location = ".".join(
            str(part) if len(str(part)) <= 40 else excerpt(part) for part in [where, *first.path]
        )
        if first.validator == "maxLength" and str(first.path[-1]).endswith("_base64"):
            # An inline file over the limit is too large, not malformed: say where it goes.
            raise PayloadTooLarge(
                f"{location}: {len(first.instance)} characters of base64; inline files may "
                f"have at most {MAX_INLINE_BYTES} bytes ({first.validator_value} characters); "
                "upload larger ones with POST /v1/uploads"
            )
        raise InvalidInput(f"{location}: {schema_error_message(first)}")


@cache
def catalogue() -> dict[str, Pipeline]:
    raw = json.loads((Path(__file__).parent / "pipeline_schemas.json").read_text())
    return {name: Pipeline(name=name, **entry) for name, entry in sorted(raw.items())}


def get_pipeline(name: str) -> Pipeline:
    pipelines = catalogue()
    if name not in pipelines:
        raise NotFound(f"unknown pipeline {excerpt(name)}; known: {', '.join(pipelines)}")
    return pipelines[name]


# ---------------------------------------------------------------------------- prepare


def prepare(
    pipeline: Pipeline, pipeline_input: dict[str, Any], options: dict[str, Any], who: Submission
) -> dict[str, Any]:
    """Validate and turn the client's input into the pipeline's execution input."""
    pipeline.validate(pipeline_input, options)
    if pipeline.name == "text-insights":
        return _prepare_text(pipeline_input["text"], options)
    if pipeline.name == "document-insights":
        return _prepare_object(pipeline_input, "document_base64", who, _check_document)
    if pipeline.name == "image-insights":
        return _prepare_object(pipeline_input, "image_base64", who, _check_image)
    if pipeline.name == "predict":
        _check_feature_names(pipeline_input["features"])
        _check_prediction(pipeline_input["model"], pipeline_input["features"])
    if pipeline.name == "llm-generate":
        return prepare_generate(pipeline_input, options, *who.llm())
    if pipeline.name == "document-summary":
        llm = prepare_summary(options, who.llm()[0])
        document = _prepare_object(pipeline_input, "document_base64", who, _check_document)
        return {**document, "llm": llm}
    return dict(pipeline_input)


def _check_feature_names(features: dict[str, Any]) -> None:
    # JSON Schema draft 4 (API Gateway's, OpenAPI 3.0's) cannot bound property names.
    for name in features:
        if not 1 <= len(name) <= MAX_FEATURE_NAME:
            raise InvalidInput(
                f"input.features: the feature name {excerpt(name)} must have 1 to "
                f"{MAX_FEATURE_NAME} characters"
            )


def _check_prediction(model_name: str, features: dict[str, Any]) -> None:
    """The model and features against the model catalogue (GET /v1/models), at submission:
    a typo is a 400 naming it, not a job that fails later in the workflow."""
    # The model catalogue is read for predict submissions only.
    from aigw_common.predict_models import InvalidFeatures, UnknownModel, load_catalogue, preprocess

    try:
        model = load_catalogue().get(model_name)
    except UnknownModel as error:
        raise InvalidInput(f"input.model: {error}") from None
    try:
        preprocess(model, features)
    except InvalidFeatures as error:
        raise InvalidInput(f"input.features: {error}") from None


def _prepare_text(text: str, options: dict[str, Any]) -> dict[str, Any]:
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise PayloadTooLarge(
            f"text is {size} bytes of UTF-8; at most {MAX_TEXT_BYTES} are accepted in one job"
        )
    try:
        chunks = split_text(text)
    except ValueError as error:
        raise InvalidInput(f"input.text: {error}") from error
    characters = len(text.strip())
    if options.get("language") is None and characters < LANGUAGE_DETECTION_MIN_CHARACTERS:
        # Comprehend's DetectDominantLanguage needs 20 characters to be reliable: a guess
        # on "Gift" or "Hola!" would send the text on to the wrong models, so ask instead.
        raise InvalidInput(
            f"input.text has {characters} characters; detecting its language needs at least "
            f'{LANGUAGE_DETECTION_MIN_CHARACTERS}: give options.language (e.g. "en")'
        )
    return {
        "chunks": [{"text": chunk.text, "offset": chunk.offset} for chunk in chunks],
        "language": options.get("language"),
        "target_language": options.get("target_language"),
    }


def _prepare_object(
    pipeline_input: dict[str, Any],
    inline_field: str,
    who: Submission,
    check: Callable[[str, ObjectHead], None],
) -> dict[str, Any]:
    """The object a document or image job reads: the tenant's upload, or the inline file
    stored as one; either refused here if the service cannot read it."""
    if "s3_uri" in pipeline_input:
        bucket, _, key = pipeline_input["s3_uri"].removeprefix("s3://").partition("/")
        # Only this tenant's own uploads: anything else answers as if it did not exist.
        if bucket != who.bucket or not key.startswith(f"uploads/{who.tenant_id}/"):
            raise NotFound(f"{excerpt(pipeline_input['s3_uri'])} is not one of your uploads")
        head = who.read_head(key)
        if head is None:
            raise NotFound(
                f"{excerpt(pipeline_input['s3_uri'])} has no file: was the upload completed?"
            )
        check("input.s3_uri", head)
        return {"bucket": bucket, "key": key}
    try:
        content = base64.b64decode(pipeline_input[inline_field], validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput(f"input.{inline_field}: not valid base64") from error
    if not content:
        raise InvalidInput(f"input.{inline_field}: the file is empty")
    if len(content) > MAX_INLINE_BYTES:
        raise PayloadTooLarge(
            f"input.{inline_field}: {len(content)} bytes; inline files may have at most "
            f"{MAX_INLINE_BYTES}; upload larger ones with POST /v1/uploads"
        )
    check(f"input.{inline_field}", ObjectHead(len(content), content[: media.HEAD_BYTES]))
    key = f"uploads/{who.tenant_id}/{who.job_id}/inline"
    who.write_object(key, content)
    return {"bucket": who.bucket, "key": key}


def _check_image(where: str, file: ObjectHead) -> None:
    """Rekognition reads JPEG and PNG of 80 to 10,000 pixels a side, 15 MB from S3."""
    kind = media.file_format(file.head)
    if kind not in limits.REKOGNITION_FORMATS:
        found = kind.upper() if kind else media.describe(file.head)
        raise InvalidInput(f"{where}: Rekognition reads JPEG and PNG images; this is {found}")
    if file.size > limits.REKOGNITION_S3_IMAGE_BYTES:
        raise PayloadTooLarge(
            f"{where}: the image is {file.size} bytes; Rekognition reads images of at most "
            f"{limits.REKOGNITION_S3_IMAGE_BYTES} bytes (15 MB)"
        )
    _check_pixels(where, file, limits.REKOGNITION_MIN_PIXELS, limits.REKOGNITION_MAX_PIXELS)


def _check_document(where: str, file: ObjectHead) -> None:
    """Textract's asynchronous APIs read PDF and TIFF (500 MB) and JPEG and PNG (10 MB)."""
    kind = media.file_format(file.head)
    if kind not in limits.TEXTRACT_FORMATS:
        raise InvalidInput(
            f"{where}: Textract reads PDF, TIFF, JPEG and PNG documents; this is "
            f"{media.describe(file.head)}"
        )
    most = (
        limits.TEXTRACT_IMAGE_BYTES if kind in ("jpeg", "png") else limits.TEXTRACT_DOCUMENT_BYTES
    )
    if file.size > most:
        raise PayloadTooLarge(
            f"{where}: the {kind.upper()} is {file.size} bytes; Textract reads "
            f"{kind.upper()} files of at most {most} bytes"
        )
    if kind in ("jpeg", "png"):
        _check_pixels(where, file, 1, limits.TEXTRACT_MAX_PIXELS)


def _check_pixels(where: str, file: ObjectHead, least: int, most: int) -> None:
    dimensions = media.image_dimensions(file.head)
    if dimensions is None:
        return  # not in the first bytes: the service itself will say
    width, height = dimensions
    if min(width, height) < least or max(width, height) > most:
        raise InvalidInput(
            f"{where}: the image is {width} x {height} pixels; it must have {least} to "
            f"{most} pixels a side"
        )


# ---------------------------------------------------------------------------- normalize


def normalize(
    pipeline_name: str, raw: Any, prepared_input: dict[str, Any], read_object: ObjectReader
) -> dict[str, Any]:
    """The documented result shape of a pipeline from its state machine's raw output.

    text-insights leaves each chunk's entities, key phrases and PII in S3 (their size grows
    with the text, a state's payload may not): ``read_object`` fetches them by key.
    """
    if pipeline_name == "text-insights":
        return merge_insights(_stored_insights(raw, read_object), _chunks(prepared_input))
    if pipeline_name == "image-insights":
        return _normalize_image(raw)
    if pipeline_name == "llm-generate":
        return normalize_generation(raw, prepared_input)
    if pipeline_name == "document-summary":
        return {
            "document": raw["document"],
            "summary": normalize_generation(raw["summary"], prepared_input["llm"]),
        }
    if pipeline_name == "document-insights":
        insights = raw.get("insights")
        return {
            "document": raw["document"],
            "insights": merge_insights(
                _stored_insights(insights, read_object), [Chunk(**c) for c in raw["chunks"]]
            )
            if insights
            else None,
        }
    return raw


#: The per-chunk answers text-insights stores in S3 instead of its output.
_STORED = ("entities", "key_phrases", "pii")


def _stored_insights(raw: dict[str, Any], read_object: ObjectReader) -> dict[str, Any]:
    """The raw insights with each chunk's stored answers read back in place of their keys."""
    results = raw.get("chunks") if isinstance(raw, dict) else None
    if not isinstance(results, list):
        return raw  # merge_insights says what is wrong with it
    chunks = []
    for result in results:
        if not isinstance(result, dict):
            chunks.append(result)
            continue
        loaded = dict(result)
        for field in _STORED:
            if isinstance(result.get(field), str):
                loaded[field] = json.loads(read_object(result[field]))
        chunks.append(loaded)
    return {**raw, "chunks": chunks}


def _chunks(prepared_input: dict[str, Any]) -> list[Chunk]:
    return [Chunk(text=chunk["text"], offset=chunk["offset"]) for chunk in prepared_input["chunks"]]


def _normalize_image(raw: dict[str, Any]) -> dict[str, Any]:
    """The four Rekognition answers, which the workflow cut to parallel lists of the fields
    used (Rekognition's own order: labels and faces by confidence, text in reading order)."""
    labels, text, faces, moderation = (
        raw["labels"],
        raw["text"],
        raw["faces"],
        raw["moderation"],
    )

    def box(bounding: dict[str, Any]) -> dict[str, float]:
        return {
            "left": bounding.get("Left", 0.0),
            "top": bounding.get("Top", 0.0),
            "width": bounding.get("Width", 0.0),
            "height": bounding.get("Height", 0.0),
        }

    return {
        "labels": [
            {"name": name, "confidence": round(confidence, 2)}
            for name, confidence in zip(labels["names"], labels["confidences"], strict=True)
        ],
        "text": [
            {"text": found, "confidence": round(confidence, 2)}
            for found, kind, confidence in zip(
                text["texts"], text["types"], text["confidences"], strict=True
            )
            if kind == "LINE"
        ],
        "faces": [
            {"confidence": round(confidence, 2), "box": box(bounding)}
            for confidence, bounding in zip(faces["confidences"], faces["boxes"], strict=True)
        ],
        "moderation": [
            {"name": name, "confidence": round(confidence, 2)}
            for name, confidence in zip(moderation["names"], moderation["confidences"], strict=True)
        ],
    }
