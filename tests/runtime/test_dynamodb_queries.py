"""A DynamoDB Query on a table's key reads only the asked partition, with DynamoDB's answers:
order, key conditions, filters, Limit and pagination are unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from aigw.local.engine import apply_engine_fixes, engine_fixes_reverted

TABLE = "items"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    apply_engine_fixes()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for partition in range(30):
            for row in range(12):
                client.put_item(
                    TableName=TABLE,
                    Item={
                        "pk": {"S": f"p{partition:02d}"},
                        "sk": {"S": f"s{row:02d}"},
                        "n": {"N": str(row)},
                    },
                )
        yield client


QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p07"}}},
    {
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":p": {"S": "p03"}, ":a": {"S": "s02"}, ":b": {"S": "s08"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "FilterExpression": "n > :n",
        "ExpressionAttributeValues": {":p": {"S": "p11"}, ":s": {"S": "s0"}, ":n": {"N": "4"}},
    },
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nope"}}},
]


def all_pages(client: Any, query: dict[str, Any], limit: int | None) -> list[list[str]]:
    pages, request = [], {"TableName": TABLE, **query}
    if limit:
        request["Limit"] = limit
    while True:
        page = client.query(**request)
        pages.append([item["sk"]["S"] for item in page["Items"]])
        if "LastEvaluatedKey" not in page:
            return pages
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("limit", [None, 5])
def test_a_query_answers_as_moto_does(dynamodb: Any, query: dict[str, Any], limit: int) -> None:
    answered = all_pages(dynamodb, query, limit)
    with engine_fixes_reverted("dynamodb-query-one-partition"):
        assert answered == all_pages(dynamodb, query, limit)


def test_a_query_reads_one_partition_not_the_table(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[int] = []
    original = Table.all_items
    monkeypatch.setattr(Table, "all_items", lambda self: scans.append(1) or original(self))
    assert len(dynamodb.query(TableName=TABLE, **QUERIES[0])["Items"]) == 12
    assert scans == []


@pytest.mark.canary
def test_canary_a_query_reads_the_whole_table(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If this fails, moto reads one partition itself: delete fix dynamodb-query-one-partition."""
    sizes: list[int] = []
    original = Table.all_items

    def counted(self: Table) -> Any:
        items = original(self)
        sizes.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", counted)
    with engine_fixes_reverted("dynamodb-query-one-partition"):
        dynamodb.query(TableName=TABLE, **QUERIES[0])
    assert sizes == [360]
