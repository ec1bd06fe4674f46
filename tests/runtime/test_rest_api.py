"""The REST API of tests/runtime/api_app, served in-process by the API Gateway emulation.

Given the app's template deployed on the offline runtime, each test sends requests to the
API built from the template (routes from its OpenAPI body, stage, usage plan) and checks
what a client would see: status, headers and body, including the gateway's error shape for
the answers API Gateway gives by itself. The authorizer accepts "good-key" (tenant t1),
denies "pending-key", allows "reader-key" only GET /items/*, returns no usage plan key for
"keyless-key", fails for "broken-key" and answers "Unauthorized" for anything else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aigw.local.apis import rest_api
from aigw.local.apis.api_definition import ApiDefinition, RestApiError, StageConfig
from aigw.local.apis.rest_api import Request, Response, RestApi
from aigw.local.runtime import LocalRuntime
from aigw.local.testing import runtime_fixture

API_TEMPLATE = Path(__file__).parent / "api_app" / "template.yaml"

api_app = runtime_fixture(API_TEMPLATE, name="api_app")


class FakeClock:
    """Time that moves only when a test says so, for throttling and the authorizer cache."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(api_app: LocalRuntime, clock: FakeClock) -> RestApi:
    """A freshly deployed stage: empty authorizer cache, full token buckets."""
    return RestApi.from_runtime(api_app, clock=clock)


def call(
    api: RestApi,
    method: str,
    path: str,
    *,
    key: str | None = "good-key",
    headers: dict[str, str] | None = None,
    **request: Any,
) -> Response:
    sent = {"x-api-key": key} if key else {}
    return api.handle(Request(method, path, headers={**sent, **(headers or {})}, **request))


def error_of(response: Response) -> dict[str, Any]:
    """The gateway's error object, checked to have exactly the documented shape."""
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["request_id"] == response.headers["x-amzn-RequestId"]
    return body["error"]


def submit(api: RestApi, body: Any, **headers: str) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return call(api, "POST", "/v1/jobs", headers={"Idempotency-Key": "k-1", **headers}, body=text)


# ---------------------------------------------------------------------------- routing


def test_a_route_reaches_the_function_with_path_parameters_query_and_stage(api: RestApi) -> None:
    response = call(api, "GET", "/v1/items/abc", query="view=full&tag=a&tag=b")

    assert response.status == 200
    event = response.json()
    assert event["resource"] == "/items/{item_id}"
    assert event["path"] == "/items/abc"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"item_id": "abc"}
    assert event["queryStringParameters"] == {"view": "full", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"view": ["full"], "tag": ["a", "b"]}
    assert event["stageVariables"] == {"flavour": "local"}
    context = event["requestContext"]
    assert (context["stage"], context["path"]) == ("v1", "/v1/items/abc")
    assert context["resourcePath"] == "/items/{item_id}"
    assert context["requestId"] == response.headers["x-amzn-RequestId"] == response.request_id


def test_the_functions_answer_becomes_the_response(api: RestApi) -> None:
    response = call(api, "GET", "/v1/items/abc")

    assert response.headers["X-Echo"] == "yes"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["Content-Type"] == "application/json"
    assert response.gateway_error is None


def test_greedy_path_and_any_method(api: RestApi) -> None:
    event = call(api, "DELETE", "/v1/files/a/b/c.txt").json()

    assert event["resource"] == "/files/{proxy+}"
    assert event["httpMethod"] == "DELETE"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    # A static resource wins over the greedy one.
    assert call(api, "GET", "/v1/files/readme").json()["resource"] == "/files/readme"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing/here"),
        ("PUT", "/v1/items/abc"),  # the resource exists, the method does not
        ("GET", "/items/abc"),  # no stage
        ("GET", "/v2/items/abc"),  # another stage
    ],
)
def test_an_unknown_route_is_a_not_found_error(api: RestApi, method: str, path: str) -> None:
    response = call(api, method, path)

    # API Gateway's 403 "Missing Authentication Token", remapped by the gateway responses.
    assert response.status == 404
    assert error_of(response)["code"] == "NotFound"
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert api.authorizer_calls == []


def test_cors_preflight_is_answered_without_a_key(api: RestApi) -> None:
    response = call(api, "OPTIONS", "/v1/jobs", key=None)

    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,DELETE,OPTIONS"
    assert "x-api-key" in response.headers["Access-Control-Allow-Headers"]
    assert api.authorizer_calls == []


# ---------------------------------------------------------------------------- authorizer


def test_a_missing_key_is_unauthorized_without_calling_the_authorizer(api: RestApi) -> None:
    response = call(api, "GET", "/v1/items/abc", key=None)

    assert response.status == 401
    assert error_of(response) == {
        "code": "Unauthorized",
        "message": "Unauthorized",
        "request_id": response.request_id,
    }
    assert api.authorizer_calls == []


def test_a_wrong_key_is_unauthorized(api: RestApi) -> None:
    response = call(api, "GET", "/v1/items/abc", key="no-such-key")

    assert response.status == 401
    assert error_of(response)["code"] == "Unauthorized"
    assert [c.outcome for c in api.authorizer_calls] == ["Unauthorized"]


def test_a_denied_key_is_forbidden(api: RestApi) -> None:
    response = call(api, "GET", "/v1/items/abc", key="pending-key")

    assert response.status == 403
    error = error_of(response)
    assert error["code"] == "Forbidden"
    assert error["message"].endswith("with an explicit deny")


def test_the_policy_is_evaluated_against_each_method(api: RestApi) -> None:
    assert call(api, "GET", "/v1/items/abc", key="reader-key").status == 200

    response = submit(api, {"pipeline": "predict", "input": {}}, **{"x-api-key": "reader-key"})

    # The cached policy allows GET /items/* only; nothing matches POST /jobs.
    assert response.status == 403
    assert error_of(response)["message"] == "User is not authorized to access this resource"
    assert [c.cached for c in api.authorizer_calls] == [False, True]


def test_a_failing_authorizer_is_an_internal_error(api: RestApi) -> None:
    response = call(api, "GET", "/v1/items/abc", key="broken-key")

    assert response.status == 500
    assert error_of(response)["code"] == "Internal"
    assert response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"


def test_the_authorizer_result_is_cached_by_key(api: RestApi, clock: FakeClock) -> None:
    assert call(api, "GET", "/v1/items/a").status == 200
    assert call(api, "GET", "/v1/items/b", headers={"X-API-Key": "good-key"}).status == 200
    assert [c.cached for c in api.authorizer_calls] == [False, True]

    call(api, "GET", "/v1/items/a", key="reader-key")
    clock.advance(301)  # authorizerResultTtlInSeconds: 300
    call(api, "GET", "/v1/items/a")

    assert [(c.identity, c.cached) for c in api.authorizer_calls[2:]] == [
        (("reader-key",), False),
        (("good-key",), False),
    ]


def test_only_the_latest_authorizations_are_remembered(
    api: RestApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rest_api, "AUTHORIZER_CALLS_KEPT", 2)

    for key in ("good-key", "reader-key", "good-key"):
        call(api, "GET", "/v1/items/a", key=key)

    assert [(c.identity, c.cached) for c in api.authorizer_calls] == [
        (("reader-key",), False),
        (("good-key",), True),
    ]


def test_the_authorizer_context_reaches_the_function(api: RestApi) -> None:
    context = call(api, "GET", "/v1/items/abc").json()["requestContext"]

    assert context["authorizer"] == {
        "principalId": "t1",
        "tenant_id": "t1",
        "max_jobs": "5",
        "active": "true",
    }
    assert context["identity"]["apiKey"] == "usage-t1"


def test_a_caller_without_a_usage_plan_key_is_forbidden(api: RestApi) -> None:
    response = call(api, "GET", "/v1/items/abc", key="keyless-key")

    assert response.status == 403
    assert error_of(response)["code"] == "Forbidden"
    assert response.gateway_error == "INVALID_API_KEY"


def test_an_operation_without_security_needs_no_key(api: RestApi) -> None:
    event = call(api, "GET", "/v1/health", key=None).json()

    assert "authorizer" not in event["requestContext"]
    assert api.authorizer_calls == []


# ---------------------------------------------------------------------------- validation


def test_a_valid_body_reaches_the_function(api: RestApi) -> None:
    body = {"pipeline": "predict", "input": {"model": "m"}, "note": None}

    response = submit(api, body)

    assert response.status == 200
    assert json.loads(response.json()["body"]) == body


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"input": {}}, "'pipeline' is a required property"),
        ({"pipeline": "nope", "input": {}}, "'nope' is not one of ['text-insights', 'predict']"),
        ({"pipeline": "predict", "input": 3}, "$.input: 3 is not of type 'object'"),
        ({"pipeline": "predict", "input": {}, "extra": 1}, "Additional properties"),
        ("{not json", "request body is not JSON"),
        ("", "request body is empty"),
    ],
)
def test_an_invalid_body_is_rejected_with_the_reason(
    api: RestApi, body: Any, complaint: str
) -> None:
    response = submit(api, body)

    assert response.status == 400
    error = error_of(response)
    assert error["code"] == "InvalidInput"
    assert complaint in error["message"]


def test_a_missing_required_header_is_rejected(api: RestApi) -> None:
    response = call(api, "POST", "/v1/jobs", body=json.dumps({"pipeline": "predict", "input": {}}))

    assert response.status == 400
    assert error_of(response) == {
        "code": "InvalidInput",
        "message": "Missing required request parameters: [Idempotency-Key]",
        "request_id": response.request_id,
    }


@pytest.mark.parametrize("query", [None, {"status": ""}])
def test_a_missing_or_blank_required_query_parameter_is_rejected(
    api: RestApi, query: dict[str, str] | None
) -> None:
    response = call(api, "GET", "/v1/jobs", query=query)

    assert response.status == 400
    assert error_of(response)["message"] == "Missing required request parameters: [status]"
    assert call(api, "GET", "/v1/jobs", query={"status": "QUEUED"}).status == 200


def test_a_parameters_only_validator_leaves_the_body_alone(api: RestApi) -> None:
    assert call(api, "GET", "/v1/items/abc", body="{not json").status == 200


def test_a_body_over_10_mb_is_too_large(api: RestApi) -> None:
    response = submit(api, "x" * (10 * 1024 * 1024 + 1))

    assert response.status == 413
    assert error_of(response)["code"] == "PayloadTooLarge"
    assert api.authorizer_calls == []


# ---------------------------------------------------------------------------- throttling


def test_a_tenant_over_its_usage_plan_is_throttled(api: RestApi, clock: FakeClock) -> None:
    # The usage plan allows a burst of 5 and 2 requests a second per key.
    assert [call(api, "GET", "/v1/items/a").status for _ in range(5)] == [200] * 5

    response = call(api, "GET", "/v1/items/a")

    assert response.status == 429
    assert error_of(response)["code"] == "RateLimited"
    assert response.headers["Retry-After"] == "1"
    assert call(api, "GET", "/v1/items/a", key="reader-key").status == 200  # another key
    clock.advance(0.5)  # one token back
    assert [call(api, "GET", "/v1/items/a").status for _ in range(2)] == [200, 429]


def test_the_stage_limits_each_method(api: RestApi) -> None:
    # MethodSettings /* *: a burst of 8 for each method, keys or not.
    assert [call(api, "GET", "/v1/health", key=None).status for _ in range(9)] == [200] * 8 + [429]
    assert call(api, "GET", "/v1/items/a").status == 200


# ---------------------------------------------------------------------------- integration


def test_a_function_error_is_a_bad_gateway_without_details(api: RestApi) -> None:
    response = call(api, "GET", "/v1/boom")

    assert response.status == 502
    assert error_of(response) == {
        "code": "UpstreamError",
        "message": "Internal server error",
        "request_id": response.request_id,
    }
    assert "failed on purpose" not in response.body


def test_a_malformed_function_answer_is_a_bad_gateway(api: RestApi) -> None:
    response = call(api, "GET", "/v1/malformed")

    assert response.status == 502
    assert error_of(response)["code"] == "UpstreamError"


def test_a_function_slower_than_the_integration_timeout_is_a_gateway_timeout(
    api: RestApi,
) -> None:
    response = call(api, "GET", "/v1/slow")  # timeoutInMillis: 50, the function takes 200 ms

    assert response.status == 504
    assert error_of(response) == {
        "code": "Timeout",
        "message": "Endpoint request timed out",
        "request_id": response.request_id,
    }


# ---------------------------------------------------------------------------- definitions


def _mock_document(**extra: Any) -> dict[str, Any]:
    integration = {
        "type": "mock",
        "requestTemplates": {"application/json": '{"statusCode": 200}'},
        "responses": {"default": {"statusCode": "200"}},
    }
    return {
        "openapi": "3.0.1",
        "paths": {"/ping": {"get": {"x-amazon-apigateway-integration": integration}}},
        **extra,
    }


def _no_lambda(function_arn: str, event: Any) -> Any:
    raise AssertionError(f"{function_arn} should not be invoked")


def test_without_gateway_responses_api_gateway_answers_its_own_way() -> None:
    api = RestApi(ApiDefinition(_mock_document(), [StageConfig("v1")]), _no_lambda)

    response = api.handle(Request("GET", "/v1/nothing"))

    assert response.status == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert api.handle(Request("GET", "/v1/ping")).status == 200


def test_a_default_4xx_response_keeps_each_types_status() -> None:
    template = '{"problem": $context.error.messageString, "type": "$context.error.responseType"}'
    responses = {"DEFAULT_4XX": {"responseTemplates": {"application/json": template}}}
    document = _mock_document(**{"x-amazon-apigateway-gateway-responses": responses})
    api = RestApi(ApiDefinition(document, [StageConfig("v1")]), _no_lambda)

    response = api.handle(Request("GET", "/v1/nothing"))

    assert response.status == 403
    assert response.json() == {
        "problem": "Missing Authentication Token",
        "type": "MISSING_AUTHENTICATION_TOKEN",
    }


def test_an_integration_that_cannot_be_served_is_refused_when_loading() -> None:
    document = _mock_document()
    document["paths"]["/ping"]["get"]["x-amazon-apigateway-integration"] = {
        "type": "http_proxy",
        "uri": "https://example.com",
    }

    with pytest.raises(RestApiError, match="GET /ping: 'http_proxy' integrations"):
        ApiDefinition(document, [StageConfig("v1")])
