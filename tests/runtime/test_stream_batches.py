"""A DynamoDB stream consumer's batches, as Lambda's stream poller sends them: each record
with its own increasing sequence number, and, with ``ReportBatchItemFailures``, a batch
retried from the first record the function reports failed (tests/runtime/stream_batches_app).

Given a consumer with ReportBatchItemFailures, two retries and an SQS on-failure
destination, which fails the records an item tells it to.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from aigw.local.lambdas.bridge import InvalidBatchResponseError, stream_retry_from
from aigw.local.runtime import LocalRuntime
from aigw.local.testing import runtime_fixture

TEMPLATE = Path(__file__).parent / "stream_batches_app" / "template.yaml"

app = runtime_fixture(TEMPLATE, name="app")


def _put(runtime: LocalRuntime, key: str, fail: str | None = None) -> None:
    item = {"id": {"S": key}}
    if fail is not None:
        item["fail"] = {"S": fail}
    runtime.client("dynamodb").put_item(TableName=runtime.physical_id("ItemsTable"), Item=item)


def _written_together(
    runtime: LocalRuntime, *items: tuple[str, str | None]
) -> list[dict[str, Any]]:
    """Write the items at once (one batch), wait for the consumer: the batches it got."""
    seen_before = len(_batches(runtime))
    with runtime.bridge.async_invoker.held():
        for key, fail in items:
            _put(runtime, key, fail)
    runtime.drain()
    return _batches(runtime)[seen_before:]


def _batches(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """Every batch the consumer received, in the order it received them."""
    dynamodb = runtime.client("dynamodb")
    items = dynamodb.scan(TableName=runtime.physical_id("SeenTable"))["Items"]
    items = sorted((i for i in items if "at" in i), key=lambda item: int(item["at"]["N"]))
    return [
        {"keys": json.loads(item["keys"]["S"]), "sequence": json.loads(item["sequence"]["S"])}
        for item in items
    ]


def _failure_records(runtime: LocalRuntime) -> list[dict[str, Any]]:
    sqs = runtime.client("sqs")
    answer = sqs.receive_message(QueueUrl=runtime.physical_id("StreamFailures"))
    for message in answer.get("Messages", []):
        sqs.delete_message(
            QueueUrl=runtime.physical_id("StreamFailures"), ReceiptHandle=message["ReceiptHandle"]
        )
    return [json.loads(message["Body"]) for message in answer.get("Messages", [])]


def test_given_writes_to_a_table_then_each_record_has_its_own_increasing_sequence_number(
    app: LocalRuntime,
) -> None:
    seen_before = len(_batches(app))
    dynamodb = app.client("dynamodb")
    table = app.physical_id("ItemsTable")
    for n in range(3):
        _put(app, f"seq-{n}")  # each taken by the consumer on its own
    with app.bridge.async_invoker.held():  # and these as one batch
        dynamodb.update_item(
            TableName=table,
            Key={"id": {"S": "seq-0"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": "1"}},
        )
        dynamodb.delete_item(TableName=table, Key={"id": {"S": "seq-1"}})
    app.drain()

    batches = _batches(app)[seen_before:]
    numbers = [number for batch in batches for number in batch["sequence"]]

    assert [key for batch in batches for key in batch["keys"]] == [
        "seq-0",
        "seq-1",
        "seq-2",
        "seq-0",
        "seq-1",
    ]
    # The DynamoDB Streams API reference: digits only, 21 to 40 of them, growing in a shard.
    assert all(number.isdigit() and 21 <= len(number) <= 40 for number in numbers)
    assert all(int(a) < int(b) for a, b in itertools.pairwise(numbers))


def test_given_a_function_reporting_one_failed_record_then_the_batch_is_retried_from_it(
    app: LocalRuntime,
) -> None:
    batches = _written_together(app, ("p-a", None), ("p-b", "once"), ("p-c", None))

    assert [batch["keys"] for batch in batches] == [["p-a", "p-b", "p-c"], ["p-b", "p-c"]]
    assert batches[1]["sequence"] == batches[0]["sequence"][1:]
    assert _failure_records(app) == []


def test_given_two_reported_records_then_the_batch_is_retried_from_the_lower_one(
    app: LocalRuntime,
) -> None:
    batches = _written_together(app, ("l-a", None), ("l-b", "once"), ("l-c", None), ("l-d", "once"))

    assert [batch["keys"] for batch in batches] == [
        ["l-a", "l-b", "l-c", "l-d"],
        ["l-b", "l-c", "l-d"],
    ]


def test_given_an_item_identifier_that_is_in_no_batch_then_the_whole_batch_is_retried(
    app: LocalRuntime,
) -> None:
    batches = _written_together(app, ("u-a", None), ("u-b", "unknown"), ("u-c", None))

    assert [batch["keys"] for batch in batches] == [["u-a", "u-b", "u-c"]] * 2
    assert batches[1]["sequence"] == batches[0]["sequence"]


def test_given_a_record_that_always_fails_then_the_destination_names_it_and_what_follows(
    app: LocalRuntime,
) -> None:
    batches = _written_together(app, ("f-a", None), ("f-b", "always"), ("f-c", None))
    [record] = _failure_records(app)
    info = record["DDBStreamBatchInfo"]

    # A try and two retries (MaximumRetryAttempts: 2), each from the failed record on.
    assert [batch["keys"] for batch in batches] == [
        ["f-a", "f-b", "f-c"],
        ["f-b", "f-c"],
        ["f-b", "f-c"],
    ]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert info["batchSize"] == 2
    assert info["startSequenceNumber"] == batches[0]["sequence"][1]
    assert info["endSequenceNumber"] == batches[0]["sequence"][2]
    assert int(info["startSequenceNumber"]) < int(info["endSequenceNumber"])


RECORDS = [{"dynamodb": {"SequenceNumber": str(100 + n)}} for n in range(3)]


@pytest.mark.parametrize(
    "answer",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}],
    ids=["null", "empty", "null list", "empty list"],
)
def test_given_an_answer_lambda_takes_as_a_success_then_nothing_is_retried(answer: Any) -> None:
    assert stream_retry_from(RECORDS, answer) is None


def test_given_reported_records_then_the_retry_starts_at_the_lowest_sequence_number() -> None:
    answer = {"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "101"}]}
    kinesis = [{"kinesis": {"sequenceNumber": str(100 + n)}} for n in range(3)]

    assert stream_retry_from(RECORDS, answer) == 1
    assert stream_retry_from(kinesis, answer) == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemId": "101"}]},
        {"batchItemFailures": [{"itemIdentifier": "999"}]},
        {"batchItemFailures": [{"itemIdentifier": "101"}, {"itemIdentifier": "999"}]},
        {"batchItemFailures": "101"},
        "OK",
    ],
    ids=["empty id", "null id", "other key", "unknown id", "one unknown", "not a list", "text"],
)
def test_given_an_answer_naming_no_record_of_the_batch_then_the_whole_batch_failed(
    answer: Any,
) -> None:
    with pytest.raises(InvalidBatchResponseError):
        stream_retry_from(RECORDS, answer)
