"""What a consumer fails on is kept, as AWS keeps it: on-failure destinations, bisecting
and filters, run by the offline runtime from the template (tests/runtime/destinations_app).

Given a stream consumer with a filter, BisectBatchOnFunctionError, one retry and an SQS
on-failure destination, and an SNS-subscribed function with an EventInvokeConfig whose
failures go to another queue.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

from aigw.local.events.destinations import Destinations
from aigw.local.events.filters import FilterError, filter_patterns
from aigw.local.events.queues import matches_filters
from aigw.local.runtime import LocalRuntime
from aigw.local.testing import runtime_fixture

APP = Path(__file__).parent / "destinations_app"
TEMPLATE = APP / "template.yaml"

app = runtime_fixture(TEMPLATE, name="app")


def _put(runtime: LocalRuntime, key: str, kind: str = "job") -> None:
    runtime.client("dynamodb").put_item(
        TableName=runtime.physical_id("ItemsTable"),
        Item={"id": {"S": key}, "kind": {"S": kind}},
    )


def _batches(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """Every batch the consumer received, in the order it received them."""
    items = runtime.client("dynamodb").scan(TableName=runtime.physical_id("SeenTable"))["Items"]
    items.sort(key=lambda item: int(item["at"]["N"]))
    return [
        {"keys": json.loads(item["keys"]["S"]), "sequence": json.loads(item["sequence"]["S"])}
        for item in items
    ]


def _messages(runtime: LocalRuntime, queue: str) -> list[dict[str, Any]]:
    sqs = runtime.client("sqs")
    url = runtime.physical_id(queue)
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


def test_given_a_poisoned_record_in_a_batch_when_it_fails_then_only_it_goes_to_the_queue(
    app: LocalRuntime,
) -> None:
    with app.bridge.async_invoker.held():  # written together: one batch
        for key in ("job-1", "job-2", "poison-3", "job-4", "job-5"):
            _put(app, key)
    app.drain()

    batches = _batches(app)
    delivered = [
        key for batch in batches if "poison-3" not in batch["keys"] for key in batch["keys"]
    ]
    alone = [batch for batch in batches if batch["keys"] == ["poison-3"]]
    [record] = _messages(app, "StreamFailures")
    info = record["DDBStreamBatchInfo"]

    assert batches[0]["keys"] == ["job-1", "job-2", "poison-3", "job-4", "job-5"]
    assert sorted(delivered) == ["job-1", "job-2", "job-4", "job-5"]  # each once, in a good batch
    assert len(alone) == 2  # halved down to the record, then its one retry
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == alone[0]["sequence"][0]
    assert info["streamArn"] == app.resource("ItemsTable").attributes["StreamArn"]
    assert info["shardId"].startswith("shardId-")


def test_given_records_the_filter_rejects_then_the_consumer_never_sees_them(
    app: LocalRuntime,
) -> None:
    seen_before = len(_batches(app))
    with app.bridge.async_invoker.held():
        _put(app, "other-1", kind="other")  # another kind: no pattern matches
        _put(app, "job-10")
        _put(app, "job-10", kind="job")  # a MODIFY: the pattern admits INSERT only
        app.client("dynamodb").delete_item(  # a REMOVE
            TableName=app.physical_id("ItemsTable"), Key={"id": {"S": "job-10"}}
        )
    app.drain()

    assert [batch["keys"] for batch in _batches(app)[seen_before:]] == [["job-10"]]


def test_given_an_asynchronous_invocation_that_keeps_failing_then_the_queue_gets_its_record(
    app: LocalRuntime,
) -> None:
    topic = app.physical_id("AlertsTopic")
    app.client("sns").publish(TopicArn=topic, Message='{"alert": "disk full"}')
    app.drain()

    [record] = _messages(app, "InvokeFailures")

    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2  # 1 try + 1 retry
    assert record["requestContext"]["functionArn"].endswith(
        ":function:aigw-local-FailingFunction:$LATEST"
    )
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == '{"alert": "disk full"}'
    assert record["requestPayload"]["Records"][0]["Sns"]["TopicArn"] == topic
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "AlertRejected"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ('{"source": [{"cidr": "10.0.0.0/8"}]}', r"\['cidr'\] is not a Lambda filter operator"),
        ('{"eventName": []}', "empty arrays are not allowed"),
        ('{"eventName": "INSERT"}', "must be an object or an array"),
        ("not json", "is not JSON"),
    ],
)
def test_given_a_filter_lambda_would_refuse_then_it_is_refused(pattern: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        filter_patterns({"Filters": [{"Pattern": pattern}]})


def test_given_several_filters_then_a_record_passes_if_any_matches() -> None:
    patterns = filter_patterns(
        {
            "Filters": [
                {"Pattern": '{"eventName": ["REMOVE"]}'},
                {"Pattern": '{"dynamodb": {"NewImage": {"status": {"S": [{"exists": true}]}}}}'},
            ]
        }
    )
    with_status = {"eventName": "INSERT", "dynamodb": {"NewImage": {"status": {"S": "QUEUED"}}}}
    without = {"eventName": "INSERT", "dynamodb": {"NewImage": {"id": {"S": "x"}}}}

    assert matches_filters(patterns, {"eventName": "REMOVE", "dynamodb": {}})
    assert matches_filters(patterns, with_status)
    assert not matches_filters(patterns, without)


FILTER_PATTERNS = [
    "{}",
    '{"eventName": ["INSERT", "MODIFY"]}',
    '{"dynamodb": {"NewImage": {"status": {"S": [{"exists": true}]}}}}',
    '{"dynamodb": {"NewImage": {"status": {"S": [{"anything-but": ["QUEUED"]}]}}}}',
    '{"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 1]}]}}}}',
    '{"dynamodb": {"NewImage": {"id": {"S": [{"prefix": "job-"}]}}}}',
    '{"body": {"job_id": ["j-1"]}}',
    '{"dynamodb": {"NewImage": {"blob": {"B": ["AAE="]}}}}',
]
FILTER_RECORDS = [
    {"eventName": "INSERT", "dynamodb": {"NewImage": {"status": {"S": "QUEUED"}}}},
    {"eventName": "MODIFY", "dynamodb": {"NewImage": {"status": {"S": "RUNNING"}, "n": {"N": 2}}}},
    {"eventName": "REMOVE", "dynamodb": {"OldImage": {"id": {"S": "job-1"}}}},
    {"eventName": "INSERT", "dynamodb": {"NewImage": {"id": {"S": "job-2"}, "n": {"N": 0}}}},
    {"body": '{"job_id": "j-1"}'},
    {"body": "not JSON"},
    {"eventName": "INSERT", "dynamodb": {"NewImage": {"blob": {"B": b"\x00\x01"}}}},
]


def _as_lambda_event(value: Any) -> Any:
    """A record as Lambda's JSON event has it: binary values in base64."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _as_lambda_event(item) for key, item in value.items()}
    return value


@pytest.mark.parametrize("pattern", FILTER_PATTERNS)
def test_given_a_filter_then_records_pass_exactly_when_the_event_pattern_matches(
    pattern: str,
) -> None:
    patterns = filter_patterns({"Filters": [{"Pattern": pattern}]})
    for record in FILTER_RECORDS:
        event = _as_lambda_event(record)
        subject = dict(event)
        if event.get("body", "").startswith("{"):
            subject["body"] = json.loads(event["body"])
        expected = EventPattern.load(pattern).matches_event(subject)
        assert matches_filters(patterns, record) is expected, record


def test_given_an_on_failure_destination_the_runtime_does_not_deliver_to_then_it_is_refused() -> (
    None
):
    destinations = Destinations(lambda service: None)

    destinations.check("arn:aws:sqs:us-east-1:123456789012:failures", "Consumer")
    destinations.check("arn:aws:sns:us-east-1:123456789012:failures", "Consumer")
    with pytest.raises(ValueError, match=r"Consumer: on-failure destination .* is not run locally"):
        destinations.check("arn:aws:s3:::failures", "Consumer")
