"""Bad input never gives a 500: every malformed body, message or key gets a typed 4xx.

Each case runs twice: through the local gateway (API Gateway's own body validation first,
then the function, as on AWS) and against the handlers directly (as if API Gateway's
validator had let it through, which its undocumented JSON parser might). Either way the
client gets ``{"error": {"code", "message", "request_id"}}`` with a 4xx status, and the
message quotes at most a short excerpt of what was sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Gateway
from websockets.sync.client import connect

from aigw.local.apis.websocket_server import LocalWebSocketServer

#: The longest error message any case may produce: an excerpt, never the input itself.
MAX_MESSAGE = 400
DEEP = 10_000
LONG = "x" * 30_000


def _job(text_json: str) -> str:
    """A POST /jobs body whose text-insights input text is ``text_json`` (raw JSON)."""
    return '{"pipeline": "text-insights", "input": {"text": ' + text_json + "}}"


def _predict(features_json: str) -> str:
    return '{"pipeline": "predict", "input": {"model": "churn", "features": ' + features_json + "}}"


#: (case, path, raw body). Every one must answer 4xx with the API's error shape.
BAD_BODIES: list[tuple[str, str, str | bytes]] = [
    ("lone surrogate in text", "/jobs", _job('"abc\\ud800def"')),
    (
        "lone low surrogate as a key",
        "/jobs",
        '{"pipeline": "text-insights", "input": {"\\udc00": 1}}',
    ),
    ("NUL escape in text", "/jobs", _job('"a\\u0000b"')),
    ("raw NUL byte in a string", "/jobs", _job('"a\x00b"')),
    ("raw NUL byte outside strings", "/jobs", '{"pipeline": "text-insights"}\x00'),
    ("10,000-deep arrays", "/jobs", "[" * DEEP + "]" * DEEP),
    (
        "10,000-deep objects in input",
        "/jobs",
        _job('"hi", "deep": ' + '{"a":' * DEEP + "1" + "}" * DEEP),
    ),
    ("40-deep arrays in input", "/jobs", _job('"hi", "deep": ' + "[" * 40 + "]" * 40)),
    ("1e999999 as a feature", "/jobs", _predict('{"tenure_months": 1e999999}')),
    ("-1e999999 as a feature", "/jobs", _predict('{"tenure_months": -1e999999}')),
    ("10,000-digit integer", "/jobs", _predict('{"tenure_months": ' + "9" * DEEP + "}")),
    ("25-digit integer", "/jobs", _predict('{"tenure_months": ' + "9" * 25 + "}")),
    ("NaN literal", "/jobs", _predict('{"tenure_months": NaN}')),
    ("Infinity literal", "/jobs", _predict('{"tenure_months": Infinity}')),
    ("a JSON array body", "/jobs", "[]"),
    ("a JSON string body", "/jobs", '"text-insights"'),
    ("a JSON number body", "/jobs", "42"),
    ("a JSON null body", "/jobs", "null"),
    ("an empty body", "/jobs", ""),
    ("not JSON at all", "/jobs", "pipeline=text-insights"),
    ("not UTF-8", "/jobs", b'{"pipeline": "\xff\xfe"}'),
    ("pipeline of the wrong type", "/jobs", '{"pipeline": 5, "input": {}}'),
    ("input of the wrong type", "/jobs", '{"pipeline": "text-insights", "input": "hello"}'),
    ("text of the wrong type", "/jobs", _job("5")),
    (
        "options of the wrong type",
        "/jobs",
        '{"pipeline": "text-insights", "input": {"text": "a"}, "options": []}',
    ),
    ("a 30,000-character text", "/jobs", _job(json.dumps(LONG))),
    ("a 30,000-character pipeline name", "/jobs", json.dumps({"pipeline": LONG, "input": {}})),
    ("a 30,000-character unknown field", "/jobs", _job('"a", ' + json.dumps(LONG) + ": 1")),
    ("101 predict features", "/jobs", _predict(json.dumps({f"f{i}": i for i in range(101)}))),
    ("a 300-character feature value", "/jobs", _predict(json.dumps({"plan": "p" * 300}))),
    ("a 100-character feature name", "/jobs", _predict(json.dumps({"n" * 100: 1}))),
    ("an object as a feature value", "/jobs", _predict('{"plan": {"a": 1}}')),
    (
        "a 30,000-character content type",
        "/uploads",
        json.dumps({"filename": "a.pdf", "content_type": LONG, "size": 5}),
    ),
    (
        "a fractional size",
        "/uploads",
        '{"filename": "a.pdf", "content_type": "application/pdf", "size": 1.5}',
    ),
    (
        "a huge size",
        "/uploads",
        '{"filename": "a.pdf", "content_type": "application/pdf", "size": 1e999999}',
    ),
    (
        "a surrogate in a filename",
        "/uploads",
        '{"filename": "\\ud800.pdf", "content_type": "application/pdf", "size": 5}',
    ),
    (
        "a NUL in a filename",
        "/uploads",
        '{"filename": "a\\u0000.pdf", "content_type": "application/pdf", "size": 5}',
    ),
    (
        "a subscription endpoint with a surrogate",
        "/subscriptions",
        '{"protocol": "sqs", "endpoint": "arn:aws:sqs:us-east-1:123456789012:\\ud800"}',
    ),
    (
        "a 30,000-character subscription endpoint",
        "/subscriptions",
        json.dumps({"protocol": "email", "endpoint": LONG}),
    ),
    (
        "a subscription body nested 10,000 deep",
        "/subscriptions",
        '{"protocol": ' + "[" * DEEP + "]" * DEEP + "}",
    ),
    ("a run body that is an array", "/run/text-insights", "[1, 2]"),
    ("a run input with a surrogate", "/run/text-insights", '{"input": {"text": "\\ud83d"}}'),
    (
        "a run input nested 10,000 deep",
        "/run/text-insights",
        '{"input": ' + "[" * DEEP + "]" * DEEP + "}",
    ),
]

#: (case, method, path, query). Bad values in the URL rather than the body.
BAD_URLS: list[tuple[str, str, str, dict[str, str] | None]] = [
    ("a 5,000-character job id", "GET", "/jobs/" + "J" * 5000, None),
    ("a job id with a NUL", "GET", "/jobs/01HWZ06SCY7F9H1K3M5P7R9T1%00", None),
    ("a cancel of a 5,000-character id", "DELETE", "/jobs/" + "J" * 5000, None),
    ("a limit of 1e999999", "GET", "/jobs", {"limit": "1e999999"}),
    ("a 10,000-digit limit", "GET", "/jobs", {"limit": "9" * DEEP}),
    ("a garbage next_token", "GET", "/jobs", {"next_token": "\x00garbage"}),
    (
        "a next_token for a 5,000-character id",
        "GET",
        "/jobs",
        {"next_token": "eyJhZnRlciI6ICJ" + "Q" * 5000},
    ),
    ("an unknown status", "GET", "/jobs", {"status": "S" * 5000}),
    ("an unknown pipeline to run", "POST", "/run/" + "p" * 5000, None),
    ("a 5,000-character subscription id", "DELETE", "/subscriptions/" + "s" * 5000, None),
]


def assert_typed_4xx(status: int, body: str, case: str) -> dict[str, Any]:
    assert 400 <= status < 500, f"{case}: {status} {body[:300]}"
    error = json.loads(body)["error"]
    assert set(error) >= {"code", "message", "request_id"}, f"{case}: {error}"
    assert error["code"] in ("InvalidInput", "NotFound", "PayloadTooLarge"), f"{case}: {error}"
    assert len(error["message"]) <= MAX_MESSAGE, f"{case}: {len(error['message'])} characters"
    assert "x" * 100 not in error["message"] and "9" * 100 not in error["message"], case
    return error


@pytest.mark.parametrize(("case", "path", "body"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_given_a_bad_body_when_sent_through_the_gateway_then_a_typed_4xx(
    gateway: Gateway, case: str, path: str, body: str | bytes
) -> None:
    answer = gateway.request("POST", path, body)
    assert_typed_4xx(answer.status, answer.body, case)


@pytest.mark.parametrize(("case", "path", "body"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_given_a_bad_body_when_the_api_function_gets_it_directly_then_a_typed_4xx(
    gateway: Gateway, case: str, path: str, body: str | bytes
) -> None:
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    answer = _invoke(gateway, "ApiFunction", _proxy_event(gateway, "POST", path, text))
    assert_typed_4xx(answer["statusCode"], answer["body"], case)


@pytest.mark.parametrize(
    ("case", "method", "path", "query"), BAD_URLS, ids=[c[0] for c in BAD_URLS]
)
def test_given_a_bad_url_when_requested_then_a_typed_4xx(
    gateway: Gateway, case: str, method: str, path: str, query: dict[str, str] | None
) -> None:
    through_gateway = gateway.request(method, path, query=query)
    assert_typed_4xx(through_gateway.status, through_gateway.body, case)
    direct = _invoke(gateway, "ApiFunction", _proxy_event(gateway, method, path, None, query))
    assert_typed_4xx(direct["statusCode"], direct["body"], case)


def test_given_a_long_text_when_refused_then_the_message_quotes_only_its_start(
    gateway: Gateway,
) -> None:
    answer = gateway.request("POST", "/run/text-insights", {"input": {"text": "y" * 30_000}})

    error = assert_typed_4xx(answer.status, answer.body, "long text")
    assert "30000 characters" in error["message"], error
    assert "y" * 41 not in error["message"], error


def test_given_a_predict_input_at_the_bounds_then_only_the_model_catalogue_refuses_it(
    gateway: Gateway,
) -> None:
    """The bounds refuse only what is past them: 100 features of 256-character strings with
    64-character names pass the size checks, and the model catalogue names what the model
    does not know."""
    features: dict[str, Any] = {f"f{i:02d}" + "n" * 61: "v" * 256 for i in range(100)}
    answer = gateway.request(
        "POST", "/jobs", {"pipeline": "predict", "input": {"model": "churn", "features": features}}
    )
    assert answer.status == 400, answer.body
    message = answer.json()["error"]["message"]
    assert message.startswith("input.features: invalid features for model 'churn'"), message
    assert f"unknown feature 'f00{'n' * 61}'" in message


# ---------------------------------------------------------------------------- WebSocket

#: (case, message). Each must answer ``{"type": "error", "code": "InvalidInput"}`` and keep
#: the connection open.
BAD_MESSAGES: list[tuple[str, str | bytes]] = [
    ("not JSON", "hello"),
    ("binary", b"\x00\x01\x02"),
    ("a JSON array", "[]"),
    ("no job_id", '{"action": "subscribe"}'),
    ("an empty job_id", '{"action": "subscribe", "job_id": ""}'),
    ("a 5,000-character job_id", json.dumps({"action": "subscribe", "job_id": "J" * 5000})),
    ("a numeric job_id", '{"action": "subscribe", "job_id": 5}'),
    ("a null job_id", '{"action": "subscribe", "job_id": null}'),
    ("a surrogate job_id", '{"action": "subscribe", "job_id": "\\ud800"}'),
    (
        "a NUL in the job_id",
        '{"action": "subscribe", "job_id": "01HWZ06SCY7F9H1K3M5P7R9T\\u00001"}',
    ),
    ("nested 10,000 deep", '{"action": "subscribe", "job_id": ' + "[" * DEEP + "]" * DEEP + "}"),
    ("a huge number job_id", '{"action": "subscribe", "job_id": 1e999999}'),
    ("an unsubscribe with an empty job_id", '{"action": "unsubscribe", "job_id": ""}'),
    ("an unknown action", '{"action": "' + "a" * 5000 + '"}'),
]


@pytest.fixture(scope="module")
def ws_url(gateway: Gateway) -> Iterator[str]:
    with LocalWebSocketServer(gateway.runtime) as server:
        yield server.url


@pytest.mark.parametrize(("case", "message"), BAD_MESSAGES, ids=[c[0] for c in BAD_MESSAGES])
def test_given_a_bad_websocket_message_then_a_typed_error_and_the_connection_stays(
    gateway: Gateway, ws_url: str, case: str, message: str | bytes
) -> None:
    with connect(ws_url, additional_headers={"x-api-key": gateway.tenant.api_key}) as socket:
        socket.send(message)
        answer = json.loads(socket.recv(timeout=5))
        assert answer["type"] == "error", f"{case}: {answer}"
        assert answer["code"] == "InvalidInput", f"{case}: {answer}"
        assert len(answer["message"]) <= MAX_MESSAGE, case
        # Still open and served: a well-formed request for an unknown job is a NotFound.
        socket.send(json.dumps({"action": "subscribe", "job_id": "01HWZ06SCY7F9H1K3M5P7R9T1V"}))
        assert json.loads(socket.recv(timeout=5))["code"] == "NotFound"


@pytest.mark.parametrize(("case", "message"), BAD_MESSAGES, ids=[c[0] for c in BAD_MESSAGES])
def test_given_a_bad_websocket_message_when_the_function_gets_it_directly_then_a_typed_error(
    gateway: Gateway, case: str, message: str | bytes
) -> None:
    sent: list[dict[str, Any]] = []

    def post(params: dict[str, Any]) -> dict[str, Any]:
        sent.append(json.loads(params["Data"]))
        return {}

    binary = isinstance(message, bytes)
    body = base64.b64encode(message).decode() if binary else message
    route = "$default"
    try:
        parsed = json.loads(message) if not binary else None
        if isinstance(parsed, dict) and parsed.get("action") in ("subscribe", "unsubscribe"):
            route = parsed["action"]
    except (ValueError, RecursionError):
        pass
    event = {
        "requestContext": {
            "routeKey": route,
            "eventType": "MESSAGE",
            "connectionId": "L0SM9cOFvHcCIhw=",
            "authorizer": {
                "principalId": gateway.tenant.tenant_id,
                "tenant_id": gateway.tenant.tenant_id,
            },
        },
        "body": body,
        "isBase64Encoded": binary,
    }
    with gateway.runtime.providers.override("apigatewaymanagementapi", "PostToConnection", post):
        answer = _invoke(gateway, "WebSocketFunction", event)

    assert answer == {"statusCode": 200}, case
    assert [m["code"] for m in sent] == ["InvalidInput"], f"{case}: {sent}"
    assert len(sent[0]["message"]) <= MAX_MESSAGE, case


# ---------------------------------------------------------------------------- authorizer

BAD_KEYS: list[tuple[str, str]] = [
    ("a lone surrogate", "aigw_\ud800"),
    ("a NUL", "aigw_\x00key"),
    ("10,000 characters", "k" * 10_000),
    ("non-ASCII", "aigw_ключ_密钥"),
    ("whitespace only", "   "),
]


@pytest.mark.parametrize(("case", "key"), BAD_KEYS, ids=[c[0] for c in BAD_KEYS])
def test_given_a_malformed_api_key_when_the_authorizer_gets_it_then_unauthorized(
    gateway: Gateway, case: str, key: str
) -> None:
    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/v1/GET/pipelines",
        "headers": {"x-api-key": key},
        "requestContext": {"identity": {"sourceIp": "198.51.100.77"}},
    }
    result = gateway.runtime.bridge.invoke(gateway.runtime.physical_id("AuthorizerFunction"), event)
    assert result.function_error is not None, case
    assert result.json()["errorMessage"] == "Unauthorized", f"{case}: {result.json()}"


# ---------------------------------------------------------------------------- helpers


def _invoke(gateway: Gateway, function: str, event: dict[str, Any]) -> Any:
    result = gateway.runtime.bridge.invoke(gateway.runtime.physical_id(function), event)
    assert result.function_error is None, result.json()
    return result.json()


def _proxy_event(
    gateway: Gateway, method: str, path: str, body: str | None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Lambda proxy event as API Gateway sends it, with the tenant the authorizer found."""
    from urllib.parse import unquote

    segments = path.strip("/").split("/")
    resource, parameters = "/" + segments[0], None
    if len(segments) == 2:
        name = {"jobs": "job_id", "subscriptions": "subscription_id"}.get(segments[0], "pipeline")
        resource, parameters = f"/{segments[0]}/{{{name}}}", {name: unquote(segments[1])}
    tenant = gateway.tenant.tenant_id
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "queryStringParameters": query,
        "pathParameters": parameters,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": "test-request",
            "resourcePath": resource,
            "httpMethod": method,
            "stage": "v1",
            "authorizer": {"principalId": tenant, "tenant_id": tenant},
            "identity": {"sourceIp": "198.51.100.7"},
        },
    }
