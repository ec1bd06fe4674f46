"""moto builds an in-process call's request without werkzeug's EnvironBuilder, and the
request is the same (aigw.local.engine.in_process_requests).

The requests are botocore's own, prepared by real clients of each protocol and caught just
before they would be sent; each is turned into moto's request with the fix and with it
reverted, and the two environs are compared key by key.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.request import Request
from werkzeug import test as werkzeug_test

from aigw.local.engine import engine_fixes_reverted

FIX = "in-process-request-environ-built-directly"
REGION = "us-east-1"


pytestmark = pytest.mark.usefixtures("in_moto")


class _Sent(Exception):
    pass


def _prepared(service: str, call: Callable[[Any], Any], **client: Any) -> AWSPreparedRequest:
    """The request botocore would send for ``call(client)``."""
    sdk = boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        **client,
    )
    caught: list[AWSPreparedRequest] = []

    def catch(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        caught.append(request)
        raise _Sent

    sdk.meta.events.register_first("before-send", catch)
    with pytest.raises(_Sent):
        call(sdk)
    prepared = caught[0]
    if hasattr(prepared.body, "read"):  # a stream (S3's aws-chunked): read once, as moto does
        prepared.body = prepared.body.read()
    return prepared


#: (name, service, call, client options, built directly?)
REQUESTS: list[tuple[str, str, Callable[[Any], Any], dict[str, Any], bool]] = [
    (
        "dynamodb json 1.0",
        "dynamodb",
        lambda c: c.get_item(TableName="jobs", Key={"pk": {"S": "job#1"}}),
        {},
        True,
    ),
    (
        "step functions json 1.0",
        "stepfunctions",
        lambda c: c.start_execution(
            stateMachineArn=f"arn:aws:states:{REGION}:123456789012:stateMachine:m",
            input='{"text": "Grüße, \\"quoted\\"\\n"}',
        ),
        {},
        True,
    ),
    (
        "sns query",
        "sns",
        lambda c: c.publish(TopicArn=f"arn:aws:sns:{REGION}:123456789012:t", Message="a&b=c ü"),
        {},
        True,
    ),
    ("events json 1.1", "events", lambda c: c.put_events(Entries=[{"Detail": "{}"}]), {}, True),
    (
        "lambda rest-json",
        "lambda",
        lambda c: c.invoke(FunctionName="settle", Payload=b'{"a": 1}'),
        {},
        True,
    ),
    (
        "s3 put to a plain key",
        "s3",
        lambda c: c.put_object(Bucket="results", Key="r/1/pii.json", Body=b"{}"),
        {},
        True,
    ),
    (
        "a local endpoint with a port",
        "dynamodb",
        lambda c: c.describe_table(TableName="jobs"),
        {"endpoint_url": "http://127.0.0.1:4566"},
        True,
    ),
    # What werkzeug still builds: encoded paths, query strings, empty bodies.
    (
        "lambda with a qualifier",
        "lambda",
        lambda c: c.invoke(FunctionName="settle", Qualifier="live", Payload=b"{}"),
        {},
        False,
    ),
    (
        "s3 key with a space",
        "s3",
        lambda c: c.put_object(Bucket="results", Key="a b/ü.json", Body=b"x"),
        {},
        False,
    ),
    ("s3 get, no body", "s3", lambda c: c.get_object(Bucket="results", Key="r/1.json"), {}, False),
    (
        "websocket connection path",
        "apigatewaymanagementapi",
        lambda c: c.post_to_connection(ConnectionId="abc=", Data=b"{}"),
        {"endpoint_url": "https://abc.execute-api.us-east-1.amazonaws.com/prod"},
        False,
    ),
]


def _built(prepared: AWSPreparedRequest) -> tuple[Request, int]:
    """moto's request for ``prepared``, and how many times EnvironBuilder ran."""
    runs = 0
    original = werkzeug_test.EnvironBuilder.get_environ

    def counted(self: werkzeug_test.EnvironBuilder) -> Any:
        nonlocal runs
        runs += 1
        return original(self)

    werkzeug_test.EnvironBuilder.get_environ = counted  # type: ignore[method-assign]
    try:
        request = Request.from_primitives(
            prepared.method, prepared.url, prepared.headers, prepared.body
        )
    finally:
        werkzeug_test.EnvironBuilder.get_environ = original  # type: ignore[method-assign]
    return request, runs


def _comparable(request: Request) -> dict[str, Any]:
    environ = dict(request.environ)
    environ.pop("werkzeug.request", None)
    stream: io.BytesIO = environ.pop("wsgi.input")
    environ["wsgi.input"] = stream.getvalue()
    return environ


@pytest.mark.parametrize(
    ("service", "call", "client", "direct"),
    [pytest.param(*case[1:], id=case[0]) for case in REQUESTS],
)
def test_the_request_moto_acts_on_is_the_one_werkzeug_built(
    service: str, call: Callable[[Any], Any], client: dict[str, Any], direct: bool
) -> None:
    prepared = _prepared(service, call, **client)
    with engine_fixes_reverted(FIX):
        expected, _ = _built(prepared)
    request, builder_runs = _built(prepared)

    assert _comparable(request) == _comparable(expected)
    assert builder_runs == (0 if direct else 1)
    # What moto's response classes read from it.
    assert request.get_data() == expected.get_data()
    assert list(request.headers.items()) == list(expected.headers.items())
    assert (request.method, request.path, request.raw_url, request.url) == (
        expected.method,
        expected.path,
        expected.raw_url,
        expected.url,
    )
    assert request.values.to_dict(flat=False) == expected.values.to_dict(flat=False)


def test_calls_answered_in_process_are_unchanged() -> None:
    """A write and reads through moto's stubber, built directly: same answers as before."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"pk": {"S": "job#1"}, "text": {"S": 'Grüße \u2603 "q"\n'}, "n": {"N": "3"}}
    dynamodb.put_item(TableName="jobs", Item=item)

    answered = dynamodb.get_item(TableName="jobs", Key={"pk": {"S": "job#1"}})
    with engine_fixes_reverted(FIX):
        as_moto = dynamodb.get_item(TableName="jobs", Key={"pk": {"S": "job#1"}})

    assert answered["Item"] == as_moto["Item"] == item
    with pytest.raises(dynamodb.exceptions.ResourceNotFoundException):
        dynamodb.get_item(TableName="missing", Key={"pk": {"S": "x"}})


@pytest.mark.canary
def test_canary_moto_builds_each_in_process_request_with_environ_builder() -> None:
    """If this fails, moto stopped using EnvironBuilder: delete fix
    in-process-request-environ-built-directly."""
    prepared = _prepared(
        "dynamodb", lambda c: c.get_item(TableName="jobs", Key={"pk": {"S": "job#1"}})
    )
    with engine_fixes_reverted(FIX):
        _, builder_runs = _built(prepared)

    assert builder_runs == 1
