"""What the engine keeps for the data a gateway stores, held leaner than moto holds it.

Each fix has a canary (marked `canary`): with the fix reverted moto still holds the data
the heavy way. The other tests show that the data reads back, and behaves, exactly as it
does without the fix.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.s3.models import s3_backends

from aigw.local.engine import (
    apply_engine_fixes,
    dynamodb_compact,
    engine_fixes_reverted,
    s3_objects,
)

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    apply_engine_fixes()
    dynamodb_compact._shared.clear()  # other tests' values may have filled it up
    with mock_aws():
        yield


def _table(name: str) -> Any:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "tenant", "KeyType": "HASH"},
            {"AttributeName": "job", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "tenant", "AttributeType": "S"},
            {"AttributeName": "job", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb


def _moto_item(table: str, job: str) -> Item:
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    item = backend.get_table(table).get_item(DynamoType({"S": "t-1"}), DynamoType({"S": job}))
    assert item is not None
    return item


def _line(operation: str, units: str = "10") -> dict[str, Any]:
    return {
        "M": {
            "service": {"S": "comprehend"},
            "operation": {"S": operation},
            "quantity": {"N": units},
            "unit_price_usd": {"N": "0.0001"},
            "cached": {"BOOL": False},
            "remark": {"NULL": True},
        }
    }


def _job(job: str) -> dict[str, Any]:
    return {
        "tenant": {"S": "t-1"},
        "job": {"S": job},
        "status": {"S": "RUNNING"},
        "attempts": {"N": "10"},
        "labels": {"SS": ["a", "b"]},
        "result": {"S": "x" * 300},
        "blob": {"B": b"\x00\x01"},
        "estimate": {"M": {"lines": {"L": [_line("DetectEntities"), _line("DetectSentiment")]}}},
    }


def _scenario(dynamodb: Any, table: str) -> list[Any]:
    """Writes and reads a job table the ways the gateway does; every answer, in order."""
    answers: list[Any] = []

    def call(operation: str, **kwargs: Any) -> None:
        try:
            answer = getattr(dynamodb, operation)(TableName=table, **kwargs)
            answer.pop("ResponseMetadata", None)
        except ClientError as error:
            answer = error.response["Error"]
        answers.append(answer)

    def key(job: str) -> dict[str, Any]:
        return {"tenant": {"S": "t-1"}, "job": {"S": job}}

    call("put_item", Item=_job("j-1"))
    call("put_item", Item=_job("j-2"), ReturnValues="ALL_OLD")
    # One item's number changes; the other's equal number must not.
    call(
        "update_item",
        Key=key("j-1"),
        UpdateExpression="ADD attempts :one, labels :c SET #s = :s, #e.#l[0].quantity = :q, "
        "#e.extra = :line REMOVE remark",
        ExpressionAttributeNames={"#s": "status", "#e": "estimate", "#l": "lines"},
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":c": {"SS": ["c"]},
            ":s": {"S": "SUCCEEDED"},
            ":q": {"N": "11"},
            ":line": _line("DetectPiiEntities"),
        },
        ReturnValues="ALL_NEW",
    )
    call(
        "update_item",
        Key=key("j-2"),
        UpdateExpression="SET #e.#l = list_append(#e.#l, :more), #s = :s",
        ConditionExpression="#s = :running AND attempts = :ten",
        ExpressionAttributeNames={"#s": "status", "#e": "estimate", "#l": "lines"},
        ExpressionAttributeValues={
            ":more": {"L": [_line("DetectEntities")]},
            ":s": {"S": "FAILED"},
            ":running": {"S": "RUNNING"},
            ":ten": {"N": "10"},
        },
        ReturnValues="UPDATED_NEW",
    )
    call(  # fails: j-1 is SUCCEEDED now
        "update_item",
        Key=key("j-1"),
        UpdateExpression="SET #s = :s",
        ConditionExpression="#s = :running",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "CANCELLED"}, ":running": {"S": "RUNNING"}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    call("put_item", Item={**_job("j-3"), "attempts": {"N": "10.0"}})
    for job in ("j-1", "j-2", "j-3"):
        call("get_item", Key=key(job))
    call(
        "query",
        KeyConditionExpression="tenant = :t AND begins_with(job, :j)",
        FilterExpression="attempts = :ten AND #e.#l[0].service = :svc",
        ExpressionAttributeNames={"#e": "estimate", "#l": "lines"},
        ExpressionAttributeValues={
            ":t": {"S": "t-1"},
            ":j": {"S": "j-"},
            ":ten": {"N": "10"},
            ":svc": {"S": "comprehend"},
        },
    )
    call(
        "scan",
        FilterExpression="contains(labels, :c)",
        ExpressionAttributeValues={":c": {"S": "c"}},
    )
    call("delete_item", Key=key("j-3"), ReturnValues="ALL_OLD")
    call("scan")
    return answers


def test_items_read_back_and_behave_the_same_with_their_values_shared() -> None:
    """Given the same writes and reads of a job table, with and without shared values:
    every answer (items, update results, failed conditions, queries, scans) is the same."""
    with engine_fixes_reverted("dynamodb-items-share-values"):
        as_moto = _scenario(_table("jobs"), "jobs")
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName="jobs")
    shared = _scenario(_table("jobs"), "jobs")

    assert json.dumps(shared, default=repr) == json.dumps(as_moto, default=repr)
    assert shared[6]["Item"]["attempts"] == {"N": "11"}
    assert shared[7]["Item"]["attempts"] == {"N": "10"}  # the equal number left alone
    assert shared[4]["Code"] == "ConditionalCheckFailedException"


def test_equal_values_and_names_of_different_items_are_held_once() -> None:
    dynamodb = _table("jobs")
    dynamodb.put_item(TableName="jobs", Item=_job("j-1"))
    dynamodb.put_item(TableName="jobs", Item=_job("j-2"))
    first, second = _moto_item("jobs", "j-1"), _moto_item("jobs", "j-2")

    assert first.attrs["attempts"] is second.attrs["attempts"]
    assert first.attrs["status"] is second.attrs["status"]
    line = first.attrs["estimate"].value["lines"].value[0].value
    other = second.attrs["estimate"].value["lines"].value[0].value
    assert line["service"] is other["service"] and line["cached"] is other["cached"]
    assert [id(name) for name in line] == [id(name) for name in other]
    # Maps, lists and sets are changed in place by updates: never shared.
    assert first.attrs["estimate"] is not second.attrs["estimate"]
    assert first.attrs["labels"] is not second.attrs["labels"]


def test_an_update_shares_the_values_it_stores() -> None:
    dynamodb = _table("jobs")
    dynamodb.put_item(TableName="jobs", Item=_job("j-1"))
    dynamodb.put_item(TableName="jobs", Item={"tenant": {"S": "t-1"}, "job": {"S": "j-2"}})
    dynamodb.update_item(
        TableName="jobs",
        Key={"tenant": {"S": "t-1"}, "job": {"S": "j-2"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "RUNNING"}},
    )

    assert _moto_item("jobs", "j-2").attrs["status"] is _moto_item("jobs", "j-1").attrs["status"]


def test_the_table_of_shared_values_stays_bounded() -> None:
    limit = dynamodb_compact._SHARED_VALUES
    for number in range(limit + 10):
        item = Item(DynamoType({"S": f"k{number}"}), None, {"n": {"N": str(number)}})
        dynamodb_compact.compact_item(item)

    assert 0 < len(dynamodb_compact._shared) <= limit


@pytest.mark.canary
def test_canary_equal_values_of_different_items_are_held_twice() -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-items-share-values."""
    with engine_fixes_reverted("dynamodb-items-share-values"):
        dynamodb = _table("jobs")
        dynamodb.put_item(TableName="jobs", Item=_job("j-1"))
        dynamodb.put_item(TableName="jobs", Item=_job("j-2"))
        first, second = _moto_item("jobs", "j-1"), _moto_item("jobs", "j-2")

    assert first.attrs["attempts"] is not second.attrs["attempts"]


# --------------------------------------------------------------------------- S3 objects


def _s3_scenario(bucket: str) -> list[Any]:
    """Writes and reads objects the ways the gateway and its users do; every answer."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    answers: list[Any] = []

    def call(operation: str, **kwargs: Any) -> Any:
        try:
            answer = getattr(s3, operation)(Bucket=bucket, **kwargs)
        except ClientError as error:
            answer = error.response["Error"]
        answer.pop("ResponseMetadata", None)
        answer.pop("Name", None)  # the bucket
        if "Body" in answer:
            answer["Body"] = answer["Body"].read()
        # The clock is not what is compared: two runs may straddle a second.
        for timed in (answer, answer.get("CopyObjectResult", {}), *answer.get("Contents", [])):
            timed.pop("LastModified", None)
        answers.append(answer)
        return answer

    small, large = json.dumps({"Entities": [{"Text": "Acme"}] * 20}).encode(), b"\x00\xff" * 70_000
    call("put_object", Key="r/1/entities.json", Body=small, ContentType="application/json")
    call("put_object", Key="r/1/pii.json", Body=small, Metadata={"job": "1"}, Tagging="k=v")
    call("put_object", Key="doc.pdf", Body=large)
    call("put_object", Key="public.json", Body=small, ACL="public-read")
    call("put_object", Key="cold.json", Body=small, StorageClass="STANDARD_IA")
    call("head_object", Key="cold.json")
    for key in ("r/1/entities.json", "r/1/pii.json", "doc.pdf", "public.json"):
        call("get_object", Key=key)
        call("head_object", Key=key)
        call("get_object_acl", Key=key)
    call("get_object", Key="r/1/entities.json", Range="bytes=2-9")
    call("get_object_tagging", Key="r/1/pii.json")
    call("put_object_acl", Key="r/1/entities.json", ACL="public-read")
    call("get_object_acl", Key="r/1/entities.json")
    call("get_object_acl", Key="r/1/pii.json")  # still private
    call("copy_object", Key="copy.json", CopySource={"Bucket": bucket, "Key": "r/1/pii.json"})
    call("get_object", Key="copy.json")
    call("put_object", Key="r/1/pii.json", Body=b"{}")  # overwritten
    call("get_object", Key="r/1/pii.json")
    call("get_object", Key="copy.json")
    call("delete_object", Key="doc.pdf")
    call("list_objects_v2")
    return answers


def test_objects_read_back_the_same_held_compactly() -> None:
    """Given the same puts, copies, ACL and tag changes, overwrites and deletes, with and
    without the compact objects: every answer (bodies, ETags, metadata, ACLs) is the same."""
    with engine_fixes_reverted("s3-objects-held-compactly"):
        as_moto = _s3_scenario("jobs-moto")
    compact = _s3_scenario("jobs")

    assert compact == as_moto
    assert compact[5]["StorageClass"] == "STANDARD_IA"
    assert compact[6]["Body"] == json.dumps({"Entities": [{"Text": "Acme"}] * 20}).encode()
    grants = [answer for answer in compact if "Grants" in answer]
    assert [len(answer["Grants"]) for answer in grants] == [1, 1, 1, 2, 2, 1]


def test_small_objects_are_held_in_memory_with_only_their_own_attributes() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="results")
    s3.put_object(Bucket="results", Key="a.json", Body=b"{}")
    s3.put_object(Bucket="results", Key="b.json", Body=b"[]")
    s3.put_object(Bucket="results", Key="big.bin", Body=b"x" * (s3_objects.SMALL_OBJECT + 1))
    keys = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket("results").keys

    assert isinstance(keys["a.json"]._value_buffer, io.BytesIO)
    assert isinstance(keys["big.bin"]._value_buffer, tempfile.SpooledTemporaryFile)
    assert "lock_mode" not in vars(keys["a.json"]) and keys["a.json"].lock_mode is None


@pytest.mark.canary
def test_canary_every_object_has_its_own_spooled_file_and_attributes() -> None:
    """If this fails, moto fixed it upstream: delete fix s3-objects-held-compactly."""
    with engine_fixes_reverted("s3-objects-held-compactly"):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="results")
        s3.put_object(Bucket="results", Key="a.json", Body=b"{}")
        s3.put_object(Bucket="results", Key="b.json", Body=b"[]")
        keys = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket("results").keys

        assert isinstance(keys["a.json"]._value_buffer, tempfile.SpooledTemporaryFile)
        assert "lock_mode" in vars(keys["a.json"])
