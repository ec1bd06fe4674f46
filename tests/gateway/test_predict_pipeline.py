"""The predict pipeline: the model contract (pre/post-processing) and the workflow run for real
on the offline runtime, with SageMaker Runtime answered by a local provider."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from aws_shapes import assert_output_shape

from aigw.local import LocalRuntime
from aigw.local.services.providers import ServiceError
from aigw.local.testing import runtime_fixture
from aigw_common.predict_models import (
    InvalidFeatures,
    InvalidModelOutput,
    ModelSpec,
    UnknownModel,
    ValidationError,
    load_catalogue,
    postprocess,
    preprocess,
)

ROOT = Path(__file__).resolve().parents[2]
app = runtime_fixture(
    Path(__file__).parent / "pipelines_app" / "template.yaml",
)

CATALOGUE = load_catalogue()
CHURN = CATALOGUE.get("churn")
CUSTOMER = {
    "tenure_months": 24,
    "monthly_charges": 70.5,
    "support_calls": 3,
    "plan": "pro",
    "paperless_billing": True,
}


def _model(**overrides: Any) -> ModelSpec:
    """A three-class model with JSON in and out, ordinal and defaulted features."""
    spec: dict[str, Any] = {
        "name": "priority",
        "description": "How urgent a request is.",
        "endpoint_name": "aigw-priority",
        "content_type": "application/json",
        "accept": "application/json",
        "features": [
            {"name": "amount", "type": "number", "min": 0},
            {"name": "tier", "type": "category", "values": ["a", "b", "c"], "encoding": "ordinal"},
            {"name": "vip", "type": "boolean", "default": False},
        ],
        "labels": ["low", "medium", "high"],
    }
    return ModelSpec.parse(spec | overrides)


# --- configuration ------------------------------------------------------------------------


def test_given_the_shipped_configuration_then_churn_takes_the_documented_features() -> None:
    assert [feature.name for feature in CHURN.features] == list(CUSTOMER)
    assert CHURN.labels == ["stay", "churn"]


def test_given_an_unknown_model_name_then_it_is_unknown_model() -> None:
    with pytest.raises(UnknownModel, match="'fraud'"):
        CATALOGUE.get("fraud")


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"threshold": 0.5}, "threshold needs exactly two labels"),
        ({"labels": ["low", "low", "high"]}, "label twice"),
        (
            {"features": [{"name": "x", "type": "number"}, {"name": "x", "type": "boolean"}]},
            "feature twice",
        ),
        ({"features": [{"name": "x", "type": "number", "min": 5, "max": 1}]}, "min is larger"),
        ({"features": [{"name": "x", "type": "integer", "max": 9, "default": 10}]}, "default"),
        ({"features": [{"name": "x", "type": "category", "values": ["a", "a"]}]}, "value twice"),
        ({"features": [{"name": "x", "type": "text"}]}, "does not match any of the expected"),
        ({"features": [{"name": "x", "type": "number", "mni": 0}]}, "Extra inputs"),
        ({"endpoint_name": "not a name"}, "endpoint_name"),
        ({"name": "Priority_Model"}, "name"),
    ],
)
def test_given_an_inconsistent_model_when_loaded_then_it_is_refused(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        _model(**overrides)


# --- pre-processing -------------------------------------------------------------------------


def test_given_valid_features_when_preprocessed_then_they_are_ordered_encoded_and_csv() -> None:
    shuffled = dict(reversed(list(CUSTOMER.items())))

    request = preprocess(CHURN, shuffled)

    assert asdict(request) == {
        "model": "churn",
        "endpoint_name": "aigw-churn",
        "content_type": "text/csv",
        "accept": "application/json",
        # tenure, charges, calls, plan one-hot (basic, pro, enterprise), paperless
        "body": "24,70.5,3,0,1,0,1",
    }


def test_given_a_json_model_when_preprocessed_then_defaults_fill_in_and_categories_are_indexes():
    request = preprocess(_model(), {"amount": 12.5, "tier": "c"})

    assert json.loads(request.body) == {"instances": [[12.5, 2, 0]]}


def test_given_a_whole_float_for_an_integer_feature_when_preprocessed_then_it_is_an_integer():
    request = preprocess(CHURN, CUSTOMER | {"tenure_months": 24.0})

    assert request.body.startswith("24,")


@pytest.mark.parametrize(
    ("features", "problem"),
    [
        ({k: v for k, v in CUSTOMER.items() if k != "plan"}, "'plan' is required"),
        (CUSTOMER | {"support_calls": None}, "'support_calls' is required"),
        (CUSTOMER | {"monthly_charges": "70.5"}, "'monthly_charges' must be a number"),
        (CUSTOMER | {"monthly_charges": True}, "'monthly_charges' must be a number"),
        (CUSTOMER | {"monthly_charges": float("nan")}, "'monthly_charges' must be a number"),
        (CUSTOMER | {"tenure_months": 2.5}, "'tenure_months' must be a whole number"),
        (CUSTOMER | {"paperless_billing": 1}, "'paperless_billing' must be true or false"),
        (CUSTOMER | {"tenure_months": -1}, "'tenure_months' must be at least 0"),
        (CUSTOMER | {"tenure_months": 601}, "'tenure_months' must be at most 600"),
        (CUSTOMER | {"plan": "gold"}, "'plan' must be one of basic, pro, enterprise"),
        (CUSTOMER | {"plan": 1}, "'plan' must be one of basic, pro, enterprise"),
        (CUSTOMER | {"tenure_month": 24}, "unknown feature 'tenure_month'"),
    ],
)
def test_given_invalid_features_when_preprocessed_then_invalid_features_names_the_feature(
    features: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidFeatures, match=problem):
        preprocess(CHURN, features)


def test_given_several_problems_when_preprocessed_then_all_are_reported_without_values() -> None:
    with pytest.raises(InvalidFeatures) as raised:
        preprocess(CHURN, {"plan": "secret-plan", "monthly_charges": -4})

    message = str(raised.value)
    for problem in (
        "'tenure_months' is required",
        "'monthly_charges' must be at least 0",
        "'plan' must be one of",
        "'paperless_billing' is required",
    ):
        assert problem in message
    assert "secret-plan" not in message


def test_given_features_that_are_not_an_object_when_preprocessed_then_invalid_features() -> None:
    with pytest.raises(InvalidFeatures, match="must be an object"):
        preprocess(CHURN, [24, 70.5])


# --- post-processing ------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["0.73", "[0.73]", "[[0.73]]", '{"predictions": [0.73]}'])
def test_given_a_binary_probability_when_postprocessed_then_the_second_label_has_it(
    body: str,
) -> None:
    result = postprocess(CHURN, body)

    assert asdict(result) == {
        "model": "churn",
        "prediction": {"label": "churn", "score": 0.73, "scores": {"stay": 0.27, "churn": 0.73}},
    }


@pytest.mark.parametrize(("probability", "label"), [(0.5, "churn"), (0.4999, "stay")])
def test_given_the_threshold_when_postprocessed_then_it_decides_binary_labels(
    probability: float, label: str
) -> None:
    prediction = postprocess(CHURN, str(probability)).prediction

    assert prediction.label == label
    assert prediction.score == prediction.scores[label]


def test_given_a_lower_threshold_when_postprocessed_then_a_less_likely_label_can_win() -> None:
    cautious = replace(CHURN, threshold=0.2)

    assert postprocess(cautious, "[[0.75, 0.25]]").prediction.label == "churn"


@pytest.mark.parametrize(
    ("accept", "body"),
    [
        ("application/json", "[[0.1, 0.7, 0.2]]"),
        ("application/json", '{"predictions": [[0.1, 0.7, 0.2]]}'),
        ("text/csv", "0.1,0.7,0.2\n"),
    ],
)
def test_given_class_scores_when_postprocessed_then_the_top_score_labels_it(
    accept: str, body: str
) -> None:
    prediction = postprocess(_model(accept=accept), body).prediction

    assert asdict(prediction) == {
        "label": "medium",
        "score": 0.7,
        "scores": {"low": 0.1, "medium": 0.7, "high": 0.2},
    }


@pytest.mark.parametrize(
    ("model", "body", "problem"),
    [
        (CHURN, "not json", "not JSON"),
        (CHURN, '{"score": 0.7}', "a probability or one score per label"),
        (CHURN, "[0.2, 0.3, 0.5]", "3 scores for 2 labels"),
        (CHURN, "1.5", r"in \[0, 1\]"),
        (CHURN, "NaN", r"in \[0, 1\]"),
        (CHURN, "true", "a probability or one score per label"),
        (_model(), "0.7", "one probability but has 3 labels"),
        (_model(accept="text/csv"), "0.1,0.7,0.2\n0.3,0.3,0.4\n", "one CSV row"),
        (_model(accept="text/csv"), "low,high", "not numbers"),
    ],
)
def test_given_an_unreadable_answer_when_postprocessed_then_invalid_model_output(
    model: ModelSpec, body: str, problem: str
) -> None:
    with pytest.raises(InvalidModelOutput, match=problem):
        postprocess(model, body)


# --- the workflow on the offline runtime ------------------------------------------------------

ENDPOINT_ANSWER = {
    "Body": b"[[0.27, 0.73]]",
    "ContentType": "application/json",
    "InvokedProductionVariant": "AllTraffic",
}


class FakeEndpoint:
    """SageMaker Runtime InvokeEndpoint for the tests: records requests, can fail first."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures: list[ServiceError] = []
        self.answer: dict[str, Any] = dict(ENDPOINT_ANSWER)

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(params)
        if self.failures:
            raise self.failures.pop(0)
        return dict(self.answer)


@pytest.fixture
def endpoint(app: LocalRuntime) -> Iterator[FakeEndpoint]:
    fake = FakeEndpoint()
    with app.providers.override("sagemaker-runtime", "InvokeEndpoint", fake):
        yield fake


@pytest.fixture
def lambda_calls(app: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The processing stages the workflow invokes during the test."""
    calls: list[str] = []
    invoke = app.bridge.invoke

    def counting(name_or_arn: str, event: Any) -> Any:
        calls.append(event["stage"])
        return invoke(name_or_arn, event)

    monkeypatch.setattr(app.bridge, "invoke", counting)
    return calls


Predict = Callable[..., dict[str, Any]]


@pytest.fixture
def predict(app: LocalRuntime) -> Predict:
    def run(features: Any = CUSTOMER, model: str = "churn") -> dict[str, Any]:
        execution_input = {
            "tenant_id": "t-1",
            "job_id": "j-1",
            "input": {"model": model, "features": features},
            "options": {},
        }
        return app.client("stepfunctions").start_sync_execution(
            stateMachineArn=app.arn("PredictStateMachine"), input=json.dumps(execution_input)
        )

    return run


def _error_message(result: dict[str, Any]) -> str:
    """A Lambda error's message, from the cause Step Functions keeps."""
    return json.loads(result["cause"])["errorMessage"]


def test_the_fake_endpoint_answers_in_invoke_endpoints_output_shape() -> None:
    assert_output_shape("sagemaker-runtime", "InvokeEndpoint", ENDPOINT_ANSWER)


def test_given_valid_features_when_predicted_then_the_labelled_prediction_comes_back(
    predict: Predict, endpoint: FakeEndpoint, lambda_calls: list[str]
) -> None:
    result = predict()

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert json.loads(result["output"]) == {
        "model": "churn",
        "prediction": {"label": "churn", "score": 0.73, "scores": {"stay": 0.27, "churn": 0.73}},
    }
    assert endpoint.requests == [
        {
            "EndpointName": "aigw-churn",
            "ContentType": "text/csv",
            "Accept": "application/json",
            "Body": "24,70.5,3,0,1,0,1",
        }
    ]
    assert lambda_calls == ["pre", "post"]


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",  # not modeled: SageMakerRuntime.SageMakerRuntimeException
        "InternalFailure",
        "ServiceUnavailable",
        "InternalDependencyException",
        "ModelNotReadyException",
    ],
)
def test_given_a_transient_endpoint_error_once_when_predicted_then_the_call_is_retried(
    predict: Predict, endpoint: FakeEndpoint, code: str
) -> None:
    endpoint.failures.append(ServiceError(code, "try again"))

    result = predict()

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert len(endpoint.requests) == 2


def test_given_throttling_that_persists_when_predicted_then_it_fails_after_three_retries(
    predict: Predict, endpoint: FakeEndpoint
) -> None:
    endpoint.failures = [ServiceError("ThrottlingException", "slow down")] * 10

    result = predict()

    assert result["status"] == "FAILED"
    assert result["error"] == "SageMakerRuntime.SageMakerRuntimeException"
    assert "slow down" in result["cause"]
    assert len(endpoint.requests) == 4


@pytest.mark.parametrize("code", ["ModelError", "ValidationError"])
def test_given_the_endpoint_refuses_when_predicted_then_it_fails_without_retry(
    predict: Predict, endpoint: FakeEndpoint, code: str
) -> None:
    endpoint.failures = [ServiceError(code, "refused")] * 10

    result = predict()

    assert result["status"] == "FAILED"
    assert result["error"] == f"SageMakerRuntime.{code}Exception"
    assert "refused" in result["cause"]
    assert len(endpoint.requests) == 1


def test_given_invalid_features_when_predicted_then_it_fails_before_sagemaker_is_called(
    predict: Predict, endpoint: FakeEndpoint, lambda_calls: list[str]
) -> None:
    result = predict(CUSTOMER | {"plan": "gold"})

    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidFeatures"
    assert "'plan' must be one of basic, pro, enterprise" in _error_message(result)
    assert endpoint.requests == []
    assert lambda_calls == ["pre"]  # and not retried


def test_given_an_unknown_model_when_predicted_then_it_fails_before_sagemaker_is_called(
    predict: Predict, endpoint: FakeEndpoint, lambda_calls: list[str]
) -> None:
    result = predict(model="fraud")

    assert result["status"] == "FAILED"
    assert result["error"] == "UnknownModel"
    assert endpoint.requests == []
    assert lambda_calls == ["pre"]


def test_given_an_unreadable_endpoint_answer_when_predicted_then_it_fails_without_retry(
    predict: Predict, endpoint: FakeEndpoint, lambda_calls: list[str]
) -> None:
    endpoint.answer["Body"] = b"<html>oops</html>"

    result = predict()

    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidModelOutput"
    assert lambda_calls == ["pre", "post"]


@pytest.mark.parametrize(
    ("event", "answer"),
    [
        (
            "predict_processing_pre.json",
            {
                "model": "churn",
                "endpoint_name": "aigw-churn",
                "content_type": "text/csv",
                "accept": "application/json",
                "body": "24,70.5,3,0,1,0,1",
            },
        ),
        (
            "predict_processing_post.json",
            {
                "model": "churn",
                "prediction": {
                    "label": "churn",
                    "score": 0.73,
                    "scores": {"stay": 0.27, "churn": 0.73},
                },
            },
        ),
    ],
)
def test_given_the_sample_events_when_the_function_is_invoked_then_it_answers(
    app: LocalRuntime, event: str, answer: dict[str, Any]
) -> None:
    response = app.client("lambda").invoke(
        FunctionName=app.physical_id("PredictProcessingFunction"),
        Payload=(ROOT / "events" / event).read_bytes(),
    )

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == answer
