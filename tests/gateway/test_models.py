"""The model catalogue: GET /v1/models lists what predict runs with, and a predict input is
checked against it when it is submitted (SPEC §6)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Gateway, assert_documented_shape
from jsonschema import Draft7Validator

CUSTOMER = {
    "tenure_months": 2,
    "monthly_charges": 99.0,
    "support_calls": 7,
    "plan": "basic",
    "paperless_billing": True,
}


def _churn(gateway: Gateway) -> dict[str, Any]:
    answer = gateway.request("GET", "/models")
    assert answer.status == 200, answer.body
    return next(model for model in answer.json()["models"] if model["name"] == "churn")


def test_given_the_models_route_then_each_predict_model_has_its_features_and_output(
    gateway: Gateway,
) -> None:
    answer = gateway.request("GET", "/models")

    assert answer.status == 200
    assert_documented_shape(answer.json(), "ModelList")
    churn = _churn(gateway)
    assert churn["description"]
    assert churn["labels"] == ["stay", "churn"]
    features = churn["features_schema"]
    assert features["required"] == list(CUSTOMER)
    assert features["properties"]["plan"] == {
        "type": "string",
        "enum": ["basic", "pro", "enterprise"],
    }
    assert features["properties"]["tenure_months"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 600,
    }
    assert "endpoint_name" not in churn  # the deployment's business, not the client's


def test_given_the_models_route_then_the_llm_models_the_llm_pipelines_accept(
    gateway: Gateway,
) -> None:
    llms = gateway.request("GET", "/models").json()["llm_models"]

    # The template's defaults: BedrockModels, BedrockDefaultModel.
    assert llms == [
        {"id": "amazon.nova-micro-v1:0", "default": True},
        {"id": "amazon.nova-lite-v1:0", "default": False},
    ]
    refused = gateway.request(
        "POST",
        "/run/llm-generate",
        {
            "input": {"messages": [{"role": "user", "content": "Hi"}]},
            "options": {"model": "amazon.nova-pro-v1:0"},
        },
    )
    assert refused.status == 400
    assert "amazon.nova-micro-v1:0, amazon.nova-lite-v1:0" in refused.json()["error"]["message"]


def test_given_a_listed_model_then_a_prediction_matches_its_output_schema(
    gateway: Gateway,
) -> None:
    churn = _churn(gateway)
    assert not list(Draft7Validator(churn["features_schema"]).iter_errors(CUSTOMER))

    job = gateway.wait(gateway.submit("predict", {"model": "churn", "features": CUSTOMER}))

    assert job["status"] == "SUCCEEDED", job
    errors = list(Draft7Validator(churn["output_schema"]).iter_errors(job["result"]))
    assert not errors, [error.message for error in errors]


def test_given_the_models_route_without_a_key_then_401(gateway: Gateway) -> None:
    answer = gateway.request("GET", "/models", key=None)

    assert answer.status == 401
    assert answer.json()["error"]["code"] == "Unauthorized"


@pytest.mark.parametrize(
    ("case", "model", "features", "named"),
    [
        ("an unknown model", "fraud", CUSTOMER, "'fraud'"),
        ("an unknown feature", "churn", {**CUSTOMER, "tenure_years": 2}, "'tenure_years'"),
        (
            "a missing feature",
            "churn",
            {k: v for k, v in CUSTOMER.items() if k != "plan"},
            "'plan'",
        ),
        ("a value out of range", "churn", {**CUSTOMER, "tenure_months": -4}, "'tenure_months'"),
        ("a category not listed", "churn", {**CUSTOMER, "plan": "gold"}, "'plan'"),
    ],
)
@pytest.mark.parametrize("route", ["/jobs", "/run/predict"])
def test_given_a_predict_input_the_catalogue_refuses_then_400_naming_it_and_no_job(
    gateway: Gateway, case: str, model: str, features: dict[str, Any], named: str, route: str
) -> None:
    body: dict[str, Any] = {"input": {"model": model, "features": features}}
    if route == "/jobs":
        body["pipeline"] = "predict"
    before = gateway.request("GET", "/jobs", query={"limit": "100"}).json()["jobs"]

    answer = gateway.request("POST", route, body)

    assert answer.status == 400, (case, answer.body)
    error = answer.json()["error"]
    assert error["code"] == "InvalidInput"
    assert named in error["message"], error
    assert error["message"].startswith("input.model" if model == "fraud" else "input.features")
    after = gateway.request("GET", "/jobs", query={"limit": "100"}).json()["jobs"]
    assert after == before  # nothing was created, nothing ran
