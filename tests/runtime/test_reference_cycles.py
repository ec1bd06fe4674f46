"""In-process AWS calls leave no reference cycles (aigw.local.engine.reference_cycles).

What a cycle costs is the collector's time: the objects are found only by a collection that
walks their generation. Each test counts what a few calls leave for the collector with
``gc.DEBUG_SAVEALL`` (everything a collection finds unreachable is kept in ``gc.garbage``
instead of freed); the canaries run the same calls with one fix reverted.
"""

from __future__ import annotations

import datetime
import gc
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import JSONParser, ResponseParser, ResponseParserFactory
from moto import mock_aws
from moto.core.request import Request
from moto.dynamodb.parsing.ast_nodes import Node

from aigw.local.engine import apply_engine_fixes, engine_fixes_reverted

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    apply_engine_fixes()
    with mock_aws():
        yield


@pytest.fixture
def dynamodb() -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


CALLS = 4


def _job_calls(dynamodb: Any) -> None:
    """What a job does to its item: create, count (ADD on a new item), update, read."""
    dynamodb.put_item(TableName="jobs", Item={"id": {"S": "j-1"}, "status": {"S": "QUEUED"}})
    dynamodb.update_item(
        TableName="jobs",
        Key={"id": {"S": "usage-1"}},
        UpdateExpression="ADD jobs :one, units :units SET tenant = :tenant",
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":units": {"N": "3"},
            ":tenant": {"S": "t-1"},
        },
    )
    dynamodb.update_item(
        TableName="jobs",
        Key={"id": {"S": "j-1"}},
        UpdateExpression="SET #s = :s, steps = :steps REMOVE queued_at",
        ConditionExpression="attribute_exists(id)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "RUNNING"}, ":steps": {"M": {}}},
    )
    dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})


def _left_for_the_collector(calls: Callable[[], None]) -> list[Any]:
    """The objects ``calls`` left in reference cycles (the collector's findings)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        calls()
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def _of(kind: type, garbage: list[Any]) -> list[Any]:
    return [item for item in garbage if isinstance(item, kind)]


def test_a_job_s_dynamodb_calls_leave_no_requests_parsers_or_expression_trees(
    dynamodb: Any,
) -> None:
    _job_calls(dynamodb)  # clients, models and parsed expressions made once, not per call

    garbage = _left_for_the_collector(lambda: _job_calls(dynamodb))

    assert _of(Request, garbage) == []
    assert _of(ResponseParser, garbage) == []
    assert _of(Node, garbage) == []


def test_the_calls_still_answer_as_dynamodb_does(dynamodb: Any) -> None:
    _job_calls(dynamodb)
    _job_calls(dynamodb)

    item = dynamodb.get_item(TableName="jobs", Key={"id": {"S": "usage-1"}})["Item"]
    assert item == {
        "id": {"S": "usage-1"},
        "jobs": {"N": "2"},
        "units": {"N": "6"},
        "tenant": {"S": "t-1"},
    }
    job = dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})["Item"]
    assert job == {"id": {"S": "j-1"}, "status": {"S": "RUNNING"}, "steps": {"M": {}}}

    # A rejected update (a path that overlaps another) is answered as DynamoDB answers it,
    # and leaves no tree behind either.
    def overlapping_update() -> None:
        with pytest.raises(ClientError) as raised:
            dynamodb.update_item(
                TableName="jobs",
                Key={"id": {"S": "j-1"}},
                UpdateExpression="SET steps = :a, steps.x = :b",
                ExpressionAttributeValues={":a": {"M": {}}, ":b": {"S": "x"}},
            )
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert "overlap" in raised.value.response["Error"]["Message"]

    garbage = _left_for_the_collector(overlapping_update)
    assert _of(Node, garbage) == []


def test_a_reused_parser_still_follows_the_factory_s_defaults() -> None:
    factory = ResponseParserFactory()
    first = factory.create_parser("json")
    assert factory.create_parser("json") is first
    assert factory.create_parser("rest-xml") is not first

    factory.set_parser_defaults(timestamp_parser=lambda value: f"parsed {value}")
    parser = factory.create_parser("json")

    assert parser is not first
    model = boto3.client("stepfunctions", region_name=REGION).meta.service_model
    operation = model.operation_model("DescribeExecution")
    body = (
        b'{"executionArn": "arn", "stateMachineArn": "arn", "status": "RUNNING",'
        b' "startDate": 1700000000}'
    )
    parsed = parser.parse({"status_code": 200, "headers": {}, "body": body}, operation.output_shape)
    assert parsed["startDate"] == "parsed 1700000000"
    default = first.parse({"status_code": 200, "headers": {}, "body": body}, operation.output_shape)
    assert isinstance(default["startDate"], datetime.datetime)


@pytest.mark.canary
def test_canary_a_moto_request_is_a_cycle_through_its_environ(dynamodb: Any) -> None:
    """If this fails, moto fixed it upstream: delete fix moto-request-not-in-its-environ."""
    _job_calls(dynamodb)
    with engine_fixes_reverted("moto-request-not-in-its-environ"):
        garbage = _left_for_the_collector(lambda: _job_calls(dynamodb))

    assert len(_of(Request, garbage)) == CALLS  # one per call


@pytest.mark.canary
def test_canary_every_response_builds_a_parser_in_a_cycle(dynamodb: Any) -> None:
    """If this fails, botocore fixed it upstream: delete fix botocore-response-parser-reused."""
    _job_calls(dynamodb)
    with engine_fixes_reverted("botocore-response-parser-reused"):
        garbage = _left_for_the_collector(lambda: _job_calls(dynamodb))

    # One per response (DynamoDB's JSON protocol), each with its event-stream parser.
    assert len([item for item in garbage if type(item) is JSONParser]) == CALLS


@pytest.mark.canary
def test_canary_an_update_s_expression_tree_is_left_linked(dynamodb: Any) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-update-tree-unlinked."""
    _job_calls(dynamodb)
    with engine_fixes_reverted("dynamodb-update-tree-unlinked"):
        garbage = _left_for_the_collector(lambda: _job_calls(dynamodb))

    assert _of(Node, garbage)
