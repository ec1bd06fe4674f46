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

from aigw.local.runtime import LocalRuntime
from aigw.local.testing import runtime_fixture

TEMPLATE = Path(__file__).parent / "stream_batches_app" / "template.yaml"

app = runtime_fixture(TEMPLATE, name="app")


def _put(runtime: LocalRuntime, key: str, fail: str | None = None) -> None:
    item = {"id": {"S": key}}
    if fail is not None:
        item["fail"] = {"S": fail}
    runtime.client("dynamodb").put_item(TableName=runtime.physical_id("ItemsTable"), Item=item)


def _batches(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """Every batch the consumer received, in the order it received them."""
    dynamodb = runtime.client("dynamodb")
    items = dynamodb.scan(TableName=runtime.physical_id("SeenTable"))["Items"]
    items = sorted((i for i in items if "at" in i), key=lambda item: int(item["at"]["N"]))
    return [
        {"keys": json.loads(item["keys"]["S"]), "sequence": json.loads(item["sequence"]["S"])}
        for item in items
    ]


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
