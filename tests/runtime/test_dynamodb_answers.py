"""What DynamoDB answers that moto answered otherwise: ConsumedCapacity and
ItemCollectionMetrics only when asked (engine fix ``dynamodb-capacity-only-when-asked``), and a
plain value where an AttributeValue belongs refused as a 400 SerializationException (engine
fixes ``dynamodb-malformed-attribute-value-refused`` and
``dynamodb-task-parameters-sent-as-written``).

Seen by users: a ``dynamodb:updateItem`` task's result carried ConsumedCapacity; another
process's PutItem of ``{"id": "abc"}`` got an HTML 500 from the served endpoint and a
``dynamodb:putItem`` task failed with a Python message.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from typing import Any

import botocore.session
import pytest
from moto.core.parse import JSONParser

from aigw.local.aws_errors import (
    DYNAMODB_OPTIMIZED_PREFIX,
    error_facts,
    optimized_error_names,
)
from aigw.local.engine import engine_fixes_reverted
from aigw.local.engine.dynamodb_attribute_values import (
    UNEXPECTED_VALUE,
    UNRECOGNIZED_COLLECTION,
)
from aigw.local.runtime import LocalRuntime

ROLE = "arn:aws:iam::123456789012:role/sfn"


def _model() -> Any:
    return botocore.session.get_session().get_service_model("dynamodb")


def _text(documentation: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", documentation))


def _machine(app: LocalRuntime, states: dict[str, Any], start: str) -> str:
    definition = {"StartAt": start, "States": states}
    return app.client("stepfunctions").create_state_machine(
        name=f"m-{uuid.uuid4().hex[:12]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]


# --- ConsumedCapacity and ItemCollectionMetrics only when asked ---------------------------


@pytest.mark.parametrize(
    "operation",
    ["PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "TransactGetItems"],
)
def test_the_model_says_consumed_capacity_is_only_returned_when_asked(operation: str) -> None:
    output = _model().operation_model(operation).output_shape
    documented = _text(output.members["ConsumedCapacity"].documentation)
    if operation == "TransactGetItems":
        assert "If the ReturnConsumedCapacity value was TOTAL" in documented
    else:
        assert "ConsumedCapacity is only returned if the ReturnConsumedCapacity parameter was" in (
            documented
        )


@pytest.mark.parametrize(
    "operation",
    [
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "GetItem",
        "Query",
        "Scan",
        "BatchWriteItem",
        "BatchGetItem",
        "TransactWriteItems",
        "TransactGetItems",
    ],
)
def test_the_model_says_none_the_default_returns_no_capacity_nor_metrics(operation: str) -> None:
    request = _model().operation_model(operation).input_shape.members
    capacity = request["ReturnConsumedCapacity"]
    assert capacity.enum == ["INDEXES", "TOTAL", "NONE"]
    assert re.search(
        r"NONE - No ConsumedCapacity details are included in the response"
        r"|a value of NONE prevents that information from being returned",
        _text(capacity.documentation),
    )
    if "ReturnItemCollectionMetrics" in request:
        metrics = request["ReturnItemCollectionMetrics"]
        assert metrics.enum == ["SIZE", "NONE"]
        assert re.search(
            r"If set to NONE \(the default\), no statistics are returned",
            _text(metrics.documentation),
        )


def test_an_update_item_task_result_holds_no_capacity_it_did_not_ask_for(
    app: LocalRuntime,
) -> None:
    table = app.physical_id("ItemsTable")
    update = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": table,
            "Key": {"id": {"S": "capacity-task"}},
            "UpdateExpression": "SET n = :n",
            "ExpressionAttributeValues": {":n": {"N": "1"}},
        },
    }
    asked = {**update, "Parameters": {**update["Parameters"], "ReturnConsumedCapacity": "TOTAL"}}
    arn = _machine(
        app,
        {
            "Unasked": {**update, "ResultPath": "$.unasked", "Next": "Asked"},
            "Asked": {**asked, "ResultPath": "$.asked", "End": True},
        },
        "Unasked",
    )
    described = app.run(arn, {}, timeout=30)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["unasked"] == {}  # as on AWS: ReturnValues NONE, nothing asked
    assert output["asked"]["ConsumedCapacity"]["TableName"] == table


#: Another process's SDK: each read and write without ReturnConsumedCapacity or
#: ReturnItemCollectionMetrics, then UpdateItem and BatchWriteItem asking for them; the keys
#: of each answer.
REMOTE_CALLS = """
import json, sys
import boto3
url, table = sys.argv[1:]
ddb = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="local", aws_secret_access_key="local")
key = {"id": {"S": "capacity-served"}}
calls = {
    "PutItem": lambda: ddb.put_item(TableName=table, Item=key),
    "UpdateItem": lambda: ddb.update_item(TableName=table, Key=key,
        UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "1"}}),
    "GetItem": lambda: ddb.get_item(TableName=table, Key=key),
    "Query": lambda: ddb.query(TableName=table, KeyConditionExpression="id = :id",
        ExpressionAttributeValues={":id": key["id"]}),
    "Scan": lambda: ddb.scan(TableName=table, Limit=1),
    "BatchGetItem": lambda: ddb.batch_get_item(RequestItems={table: {"Keys": [key]}}),
    "TransactGetItems": lambda: ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": table, "Key": key}}]),
    "BatchWriteItem": lambda: ddb.batch_write_item(
        RequestItems={table: [{"PutRequest": {"Item": {"id": {"S": "capacity-batch"}}}}]}),
    "TransactWriteItems": lambda: ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": {"id": {"S": "capacity-transact"}}}}]),
    "DeleteItem": lambda: ddb.delete_item(TableName=table, Key=key),
    "UpdateItem TOTAL": lambda: ddb.update_item(TableName=table, Key=key,
        UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "2"}},
        ReturnConsumedCapacity="TOTAL"),
    "BatchWriteItem TOTAL SIZE": lambda: ddb.batch_write_item(
        RequestItems={table: [{"DeleteRequest": {"Key": {"id": {"S": "capacity-batch"}}}}]},
        ReturnConsumedCapacity="TOTAL", ReturnItemCollectionMetrics="SIZE"),
}
answers = {}
for name, call in calls.items():
    answer = call()
    answer.pop("ResponseMetadata")
    answers[name] = answer
print(json.dumps(answers))
"""


def test_the_served_endpoint_answers_capacity_and_metrics_only_when_asked(
    app: LocalRuntime,
) -> None:
    table = app.physical_id("ItemsTable")
    completed = subprocess.run(
        [sys.executable, "-c", REMOTE_CALLS, app.serve_aws(), table],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = json.loads(completed.stdout)
    for name, answer in answers.items():
        if " " not in name:
            assert "ConsumedCapacity" not in answer, name
            assert "ItemCollectionMetrics" not in answer, name
    assert answers["BatchWriteItem"] == {"UnprocessedItems": {}}
    assert answers["TransactWriteItems"] == {}
    # Asked: moto's values.
    assert answers["UpdateItem TOTAL"]["ConsumedCapacity"] == {
        "TableName": table,
        "CapacityUnits": 0.5,
    }
    batch = answers["BatchWriteItem TOTAL SIZE"]
    assert [c["TableName"] for c in batch["ConsumedCapacity"]] == [table]
    assert batch["ItemCollectionMetrics"] == {}


@pytest.mark.canary
@pytest.mark.usefixtures("in_moto")
def test_canary_moto_answers_capacity_and_metrics_unasked() -> None:
    import boto3

    ddb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"id": {"S": "a"}}
    with engine_fixes_reverted("dynamodb-capacity-only-when-asked"):
        updated = ddb.update_item(
            TableName="t",
            Key=key,
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "1"}},
        )
        batch = ddb.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": key}}]})
        read = ddb.batch_get_item(RequestItems={"t": {"Keys": [key]}})
        transact = ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": "t", "Item": {"id": {"S": "b"}}}}]
        )
    assert updated["ConsumedCapacity"] == {"TableName": "t", "CapacityUnits": 0.5}
    assert batch["ConsumedCapacity"] and batch["ItemCollectionMetrics"] == {}
    assert read["ConsumedCapacity"] == [{"TableName": "t", "CapacityUnits": 1.0}]
    assert transact["ConsumedCapacity"] == [] and transact["ItemCollectionMetrics"] == {}


# --- a plain value where an AttributeValue belongs ----------------------------------------


def test_the_model_takes_an_item_as_a_map_of_attribute_value_structures() -> None:
    model = _model()
    for operation, member in [
        ("PutItem", "Item"),
        ("UpdateItem", "Key"),
        ("DeleteItem", "Key"),
        ("GetItem", "Key"),
        ("UpdateItem", "ExpressionAttributeValues"),
    ]:
        shape = model.operation_model(operation).input_shape.members[member]
        assert shape.type_name == "map"
        assert shape.value.name == "AttributeValue" and shape.value.type_name == "structure"
    # SerializationException is no modeled error: DynamoDB answers it before any operation.
    assert "SerializationException" not in {
        s.name for s in model.operation_model("PutItem").error_shapes
    }
    facts = error_facts("dynamodb", "PutItem", "SerializationException")
    assert (facts.status, facts.kind, facts.modeled) == (400, "client", False)
    assert f"{DYNAMODB_OPTIMIZED_PREFIX}.SerializationException" in optimized_error_names(
        DYNAMODB_OPTIMIZED_PREFIX, "SerializationException"
    )


def test_botocore_reads_dynamodb_s_serialization_exception_as_its_code() -> None:
    # What DynamoDB sends (JuliaCloud/AWSSDK.jl#11): the Coral type, the text as "Message".
    from botocore.parsers import JSONParser as BotocoreJSONParser

    parsed = BotocoreJSONParser().parse(
        {
            "status_code": 400,
            "headers": {"x-amzn-requestid": "R"},
            "body": json.dumps(
                {
                    "__type": "com.amazon.coral.service#SerializationException",
                    "Message": UNEXPECTED_VALUE,
                }
            ).encode(),
        },
        _model().operation_model("PutItem").output_shape,
    )
    assert parsed["Error"] == {"Code": "SerializationException", "Message": UNEXPECTED_VALUE}


#: A hand-written PutItem body sent over HTTP (what the AWS CLI with a JSON body or any HTTP
#: client can send: botocore would refuse it client-side).
REMOTE_RAW_PUT = """
import json, sys, urllib.error, urllib.request
url, table, value = sys.argv[1:]
body = {"TableName": table, "Item": {"id": json.loads(value)}}
request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={
    "X-Amz-Target": "DynamoDB_20120810.PutItem",
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request,"
                     " SignedHeaders=host, Signature=0"})
try:
    answer = urllib.request.urlopen(request)
    print(json.dumps({"status": answer.status, "body": answer.read().decode()}))
except urllib.error.HTTPError as error:
    print(json.dumps({"status": error.code, "type": error.headers.get("Content-Type"),
                      "request_id": error.headers.get("x-amzn-RequestId"),
                      "body": error.read().decode()}))
"""


@pytest.mark.parametrize(
    ("value", "message"),
    [('"abc"', UNEXPECTED_VALUE), ("12", UNEXPECTED_VALUE), ('["abc"]', UNRECOGNIZED_COLLECTION)],
)
def test_a_plain_value_sent_to_the_served_endpoint_is_a_400_serialization_exception(
    app: LocalRuntime, value: str, message: str
) -> None:
    table = app.physical_id("ItemsTable")
    completed = subprocess.run(
        [sys.executable, "-c", REMOTE_RAW_PUT, app.serve_aws(), table, value],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(completed.stdout)
    assert answer["status"] == 400, answer
    assert answer["type"] == "application/x-amz-json-1.0"
    assert answer["request_id"]
    assert json.loads(answer["body"]) == {
        "__type": "com.amazon.coral.service#SerializationException",
        "Message": message,
    }


def _plain_put_machine(app: LocalRuntime) -> str:
    put = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": app.physical_id("ItemsTable"), "Item": {"id.$": "$.id"}},
        "End": True,
    }
    return _machine(app, {"Put": put}, "Put")


def test_a_put_item_task_with_a_plain_value_fails_with_dynamodb_s_error(
    app: LocalRuntime,
) -> None:
    described = app.run(_plain_put_machine(app), {"id": "12345"}, timeout=30)
    assert described["status"] == "FAILED"
    assert described["error"] == "DynamoDB.SerializationException"
    assert described["cause"].startswith(
        f"{UNEXPECTED_VALUE} (Service: AmazonDynamoDBv2; Status Code: 400; "
        "Error Code: SerializationException; Request ID: "
    )
    table = app.client("dynamodb")
    key = {"id": {"S": "12345"}}
    assert "Item" not in table.get_item(TableName=app.physical_id("ItemsTable"), Key=key)


@pytest.mark.canary
def test_canary_a_put_item_task_with_a_plain_value_fails_with_a_python_message(
    app: LocalRuntime,
) -> None:
    with engine_fixes_reverted("dynamodb-task-parameters-sent-as-written"):
        described = app.run(_plain_put_machine(app), {"id": "12345"}, timeout=30)
    assert described["status"] == "FAILED"
    assert described["error"] == "DynamoDB.AmazonDynamoDBException"
    assert described["cause"] == "'str' object has no attribute 'items'"


@pytest.mark.canary
def test_canary_moto_s_parser_reads_a_plain_attribute_value_as_a_structure() -> None:
    parser = JSONParser(_model().operation_model("PutItem"))
    request = {
        "method": "POST",
        "values": {},
        "headers": {},
        "body": json.dumps({"TableName": "t", "Item": {"id": "abc"}}).encode(),
        "url_path": "/",
        "url_params": {},
    }
    with (
        engine_fixes_reverted(
            "dynamodb-malformed-attribute-value-refused",
            "dynamodb-attribute-values-parsed-directly",
        ),
        pytest.raises(AttributeError, match="'str' object has no attribute 'get'"),
    ):
        parser.parse(request)
