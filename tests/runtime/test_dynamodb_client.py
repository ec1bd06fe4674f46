"""botocore checks, writes out and reads back DynamoDB's AttributeValues as its own model
walk does (aigw.local.engine.dynamodb_client).

Each set of parameters is checked and written out with the fixes and with them reverted, by
botocore's own validator and serializer for DynamoDB's operations; the reports (every
problem botocore finds, in its words) and the request bodies are compared. Answers, odd
ones included, are read by botocore's parser both ways and compared.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.parsers import BaseJSONParser, create_parser
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator

from aigw.local.engine import engine_fixes_reverted

FIX = "dynamodb-attribute-values-checked-and-written-directly"
REGION = "us-east-1"


pytestmark = pytest.mark.usefixtures("in_moto")


def _jobs_table() -> Any:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb


class _Mapping(dict):  # type: ignore[type-arg]
    """A dict subclass: botocore takes it, the direct path leaves it to botocore."""


#: Every type, nested, as a client passes it: bytes, bytearray, str blobs, tuples.
EVERY_TYPE: dict[str, Any] = {
    "id": {"S": "every-type"},
    "text": {"S": "héllo"},
    "blank": {"S": ""},
    "number": {"N": "1.5"},
    "binary": {"B": b"\x00\xffbytes"},
    "binary_array": {"B": bytearray(b"\x01\x02")},
    "binary_text": {"B": "text blob"},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ("1", "2.5")},
    "binaries": {"BS": [b"\x01", bytearray(b"\x02"), "x"]},
    "yes": {"BOOL": True},
    "nothing": {"NULL": True},
    "empty_map": {"M": {}},
    "empty_list": {"L": []},
    "empty_value": {},
    "two_types": {"S": "x", "N": "1"},
    "nested": {
        "M": {
            "entities": {
                "L": (
                    {"M": {"text": {"S": "Acme"}, "score": {"N": "0.99"}}},
                    {"L": [{"B": b"\x04"}, {"NULL": False}, {"SS": ["x"]}]},
                )
            },
        }
    },
}

#: Items botocore reports, each in a different way, some deep inside valid values.
REPORTED: list[dict[str, Any]] = [
    {"a": {"S": 5}},
    {"a": {"N": 1.5}},
    {"a": {"X": "unknown member"}},
    {"a": {"S": None}},
    {"a": None},
    {"a": "not a value"},
    {"a": {"BOOL": "yes"}},
    {"a": {"NULL": 1}},
    {"a": {"SS": "not a list"}},
    {"a": {"NS": [1, "2"]}},
    {"a": {"BS": [b"ok", 5]}},
    {"a": {"B": 5}},
    {"a": {"B": io.BytesIO(b"a file")}},
    {"a": {"M": [{"S": "x"}]}},
    {"a": {"M": {"b": {"S": "ok"}, 5: {"S": "key not a string"}}}},
    {"a": {"L": {"b": {"S": "x"}}}},
    {"a": {"L": [{"S": "ok"}, {"S": 5}, {"Q": "x"}]}},
    {"a": {"M": {"deep": {"L": [{"M": {"deeper": {"SS": [1]}}}]}}}},
    {"a": _Mapping(S="a dict subclass")},
    {"a": {"M": _Mapping(b={"S": "x"})}},
]


def _operations(item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The item sent in each way a DynamoDB request carries attribute values."""
    return [
        ("PutItem", {"TableName": "jobs", "Item": item}),
        (
            "UpdateItem",
            {
                "TableName": "jobs",
                "Key": {"id": {"S": "k"}},
                "UpdateExpression": "SET a = :a",
                "ExpressionAttributeValues": {":a": {"M": item}},
            },
        ),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": "jobs", "Item": item}}]},
        ),
        ("BatchWriteItem", {"RequestItems": {"jobs": [{"PutRequest": {"Item": item}}]}}),
    ]


def _checked_and_written(items: list[dict[str, Any]]) -> list[Any]:
    model = boto3.session.Session().client("dynamodb", region_name=REGION).meta.service_model
    validator = ParamValidator()
    serializer = create_serializer("json")
    answers: list[Any] = []
    for item in items:
        for operation, params in _operations(item):
            operation_model = model.operation_model(operation)
            report = validator.validate(params, operation_model.input_shape)
            if report.has_errors():
                answers.append(report.generate_report())
                continue
            try:
                body = serializer.serialize_to_request(params, operation_model)["body"]
            except Exception as error:  # a file object passes the check, not the JSON
                answers.append(("raised", type(error).__name__, str(error)))
            else:
                answers.append(json.loads(body))
    return answers


def test_valid_items_are_written_out_as_botocore_writes_them() -> None:
    direct = _checked_and_written([EVERY_TYPE])
    with engine_fixes_reverted(FIX):
        by_model = _checked_and_written([EVERY_TYPE])

    assert direct == by_model
    written = direct[0]["Item"]
    assert written["binary"] == {"B": "AP9ieXRlcw=="}
    assert written["binaries"] == {"BS": ["AQ==", "Ag==", "eA=="]}
    assert written["numbers"] == {"NS": ["1", "2.5"]}
    assert written["two_types"] == {"S": "x", "N": "1"}


def test_invalid_items_are_reported_as_botocore_reports_them() -> None:
    direct = _checked_and_written(REPORTED)
    with engine_fixes_reverted(FIX):
        by_model = _checked_and_written(REPORTED)

    assert direct == by_model
    reports = direct[::4]  # the PutItem of each item
    assert "Invalid type for parameter Item.a.S, value: 5" in reports[0]
    assert 'Unknown parameter in Item.a: "X"' in reports[2]
    assert "Item.a.M.deep.L[0].M.deeper.SS[0]" in reports[17]
    # A file object is a blob botocore's check takes (its JSON does not); a dict subclass
    # is a dict to it.
    assert reports[12][:2] == ("raised", "TypeError")
    assert isinstance(reports[18], dict)


def test_a_client_refuses_what_it_refused_before() -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    with pytest.raises(ParamValidationError) as direct:
        dynamodb.put_item(TableName="jobs", Item=REPORTED[16]["a"]["L"][1] | {"id": {"S": 1}})
    with engine_fixes_reverted(FIX), pytest.raises(ParamValidationError) as by_model:
        dynamodb.put_item(TableName="jobs", Item=REPORTED[16]["a"]["L"][1] | {"id": {"S": 1}})

    assert str(direct.value) == str(by_model.value)


def _member_shapes_checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []
    original = ParamValidator._validate

    def spied(self: ParamValidator, params: Any, shape: Any, errors: Any, name: str) -> None:
        checked.append(shape.name)
        original(self, params, shape, errors, name)

    monkeypatch.setattr(ParamValidator, "_validate", spied)
    dynamodb = _jobs_table()
    dynamodb.put_item(TableName="jobs", Item={"id": {"S": "x"}, "n": {"N": "1"}})
    monkeypatch.undo()
    return checked


def test_a_plain_attribute_value_is_checked_without_its_member_shapes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = _member_shapes_checked(monkeypatch)

    assert "AttributeValue" in checked
    assert "StringAttributeValue" not in checked


@pytest.mark.canary
def test_canary_botocore_checks_an_attribute_value_member_by_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, botocore changed its walk: delete fix dynamodb-attribute-values-
    checked-and-written-directly (or the model changed, and the fix no longer applies)."""
    with engine_fixes_reverted(FIX):
        checked = _member_shapes_checked(monkeypatch)

    assert "StringAttributeValue" in checked


#: Answers as a service may send them, odd ones included: botocore reads what it is given.
ANSWERED: list[dict[str, Any]] = [
    {
        "id": {"S": "every-type"},
        "number": {"N": "1.5"},
        "binary": {"B": "AP9ieXRlcw=="},
        "strings": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5"]},
        "binaries": {"BS": ["AQ==", "Ag=="]},
        "yes": {"BOOL": True},
        "nothing": {"NULL": True},
        "empty_map": {"M": {}},
        "empty_list": {"L": []},
        "nested": {"M": {"l": {"L": [{"M": {"s": {"S": "Acme"}}}, {"L": [{"B": "BA=="}]}]}}},
    },
    {"a": {"S": "x", "N": "1"}, "b": {}, "c": {"X": "unknown"}, "d": {"S": None}},
    {"a": {"L": [None, {"S": "x"}]}, "b": {"SS": ["x", None]}, "c": {"BS": [None, "AQ=="]}},
    {"a": {"M": {"b": None, "c": {"S": "x"}}}, "b": None},
    {"a": {"M": [{"S": "x"}]}},
    {"a": {"L": {"b": {"S": "x"}}}},
    {"a": {"SS": "not a list"}, "b": {"BOOL": "yes"}, "c": {"S": 5}},
]


def _read_answers() -> list[Any]:
    session = boto3.session.Session()
    answers: list[Any] = []
    for service, operation, body in [
        *[("dynamodb", "GetItem", {"Item": item}) for item in ANSWERED],
        ("dynamodb", "Query", {"Items": ANSWERED[:3], "Count": 3}),
        ("dynamodb", "BatchGetItem", {"Responses": {"jobs": ANSWERED[:3]}}),
        (
            "dynamodbstreams",
            "GetRecords",
            {"Records": [{"dynamodb": {"NewImage": ANSWERED[0], "OldImage": ANSWERED[2]}}]},
        ),
    ]:
        client = session.client(service, region_name=REGION)
        operation_model = client.meta.service_model.operation_model(operation)
        parser = create_parser(operation_model.metadata["protocol"])
        response = {"body": json.dumps(body).encode(), "headers": {}, "status_code": 200}
        try:
            answers.append(parser.parse(response, operation_model.output_shape))
        except Exception as error:  # botocore fails some: the failure is compared
            answers.append(("raised", type(error).__name__, str(error)))
    return answers


def test_answers_are_read_as_botocore_reads_them() -> None:
    direct = _read_answers()
    with engine_fixes_reverted("dynamodb-attribute-values-read-directly"):
        by_model = _read_answers()

    assert direct == by_model
    assert direct[0]["Item"]["binary"] == {"B": b"\x00\xffbytes"}
    assert direct[2]["Item"]["a"] == {"L": [None, {"S": "x"}]}
    assert direct[1]["Item"]["c"] == {}  # an unknown member is dropped
    assert direct[9]["Records"][0]["dynamodb"]["NewImage"] == direct[0]["Item"]


def test_an_item_read_through_a_client_is_the_one_written() -> None:
    dynamodb = _jobs_table()
    item = {key: value for key, value in EVERY_TYPE.items() if key != "empty_value"}
    dynamodb.put_item(TableName="jobs", Item=item)
    read = dynamodb.get_item(TableName="jobs", Key={"id": item["id"]})["Item"]
    with engine_fixes_reverted("dynamodb-attribute-values-read-directly"):
        by_model = dynamodb.get_item(TableName="jobs", Key={"id": item["id"]})["Item"]

    assert read == by_model
    assert read["binaries"] == {"BS": [b"\x01", b"\x02", b"x"]}


def _member_shapes_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    read: list[str] = []
    original = BaseJSONParser._parse_shape

    def spied(self: Any, shape: Any, node: Any) -> Any:
        read.append(shape.name)
        return original(self, shape, node)

    monkeypatch.setattr(BaseJSONParser, "_parse_shape", spied)
    _read_answers()
    monkeypatch.undo()
    return read


def test_a_plain_attribute_value_is_read_without_its_member_shapes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read = _member_shapes_read(monkeypatch)

    assert "AttributeValue" in read
    assert "BinaryAttributeValue" not in read  # every B in the answers is a plain pair


@pytest.mark.canary
def test_canary_botocore_reads_an_attribute_value_member_by_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, botocore changed its parser: delete fix dynamodb-attribute-values-read-
    directly (or the model changed, and the fix no longer applies)."""
    with engine_fixes_reverted("dynamodb-attribute-values-read-directly"):
        read = _member_shapes_read(monkeypatch)

    assert "BinaryAttributeValue" in read
