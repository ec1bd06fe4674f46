"""A request's data is never read as its parameters (aigw.local.engine.request_parameters).

moto parsed every JSON body as a query string, so text inside an item, an execution's input
or a Lambda event that reads ``&Action=...`` or ``&<Parameter>=...`` became the request's
action or parameter. On AWS a JSON body is only a JSON document: these calls store and pass
the text as it is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from aigw.local.engine import engine_fixes_reverted
from aigw.local.engine.request_parameters import _body_as_query_string
from aigw.local.runtime import LocalRuntime

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
#: Text a user may well send: a link whose query string names an action and a parameter.
LINK = "see https://example.com/help?page=1&Action=DeleteTable&TableName=items&x=y+z"


def _client(service: str) -> Any:
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local"
    )


def _table() -> Any:
    dynamodb = _client("dynamodb")
    dynamodb.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb


def _machine(sfn: Any, name: str) -> str:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


@pytest.mark.usefixtures("in_moto")
def test_an_item_whose_text_names_an_action_is_stored_and_the_table_kept() -> None:
    dynamodb = _table()
    item = {"id": {"S": "a"}, "note": {"S": LINK}}
    dynamodb.put_item(TableName="items", Item=item)
    assert dynamodb.list_tables()["TableNames"] == ["items"]
    assert dynamodb.get_item(TableName="items", Key={"id": {"S": "a"}})["Item"] == item


@pytest.mark.canary
@pytest.mark.usefixtures("in_moto")
def test_canary_an_item_whose_text_names_an_action_runs_that_action() -> None:
    dynamodb = _table()
    with engine_fixes_reverted("json-body-not-read-as-a-query-string"):
        dynamodb.put_item(TableName="items", Item={"id": {"S": "a"}, "note": {"S": LINK}})
    assert dynamodb.list_tables()["TableNames"] == []  # moto ran DeleteTable instead


@pytest.mark.usefixtures("in_moto")
def test_an_execution_input_naming_an_action_and_a_machine_starts_the_machine_it_was_for() -> None:
    sfn = _client("stepfunctions")
    jobs, other = _machine(sfn, "jobs"), _machine(sfn, "other")
    text = f"hello&Action=DeleteStateMachine&stateMachineArn={other}&name=x"
    execution = sfn.start_execution(stateMachineArn=jobs, input=json.dumps({"text": text}))
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert described["stateMachineArn"] == jobs
    assert json.loads(described["input"]) == {"text": text}
    machines = {m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    assert machines == {jobs, other}


@pytest.mark.usefixtures("in_moto")
def test_a_message_naming_an_action_on_its_queue_is_sent_and_the_queue_kept() -> None:
    sqs = _client("sqs")
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    body = f"done, see {LINK}&Action=DeleteQueue&QueueUrl={url}"
    sqs.send_message(QueueUrl=url, MessageBody=body)
    assert sqs.list_queues()["QueueUrls"] == [url]
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == body


#: Another process's SDK (what the AWS CLI sends): PutItem of an item naming an action, then
#: what the table holds.
REMOTE_PUT = """
import json, sys
import boto3
url, table, text = sys.argv[1:]
dynamodb = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")
item = {"id": {"S": "served-link"}, "note": {"S": text}}
dynamodb.put_item(TableName=table, Item=item)
print(json.dumps({"tables": dynamodb.list_tables()["TableNames"],
                  "item": dynamodb.get_item(TableName=table, Key={"id": item["id"]})["Item"]}))
"""


def test_an_item_naming_an_action_sent_to_the_served_endpoint_is_stored(app: LocalRuntime) -> None:
    table = app.physical_id("ItemsTable")
    text = LINK.replace("items", table)
    completed = subprocess.run(
        [sys.executable, "-c", REMOTE_PUT, app.serve_aws(), table, text],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(completed.stdout)
    assert table in seen["tables"]
    assert seen["item"] == {"id": {"S": "served-link"}, "note": {"S": text}}


def test_a_form_body_without_its_content_type_is_still_read_as_a_query_string() -> None:
    # The Query protocol's body (botocore sends it as a form, which werkzeug reads; a
    # client that leaves the content type out reaches moto's fallback, as before).
    assert _body_as_query_string("Action=ListTopics&Version=2010-03-31") == [
        ("Action", "ListTopics"),
        ("Version", "2010-03-31"),
    ]
    # A JSON document is one opaque key whatever its text, as Lambda's Invoke sends it.
    assert _body_as_query_string(' {"a": "b&Qualifier=2"}') == [(' {"a": "b&Qualifier=2"}', "")]


# --- Lambda's Invoke: the event is the body, the qualifier a query parameter -----------------


def _invoke(app: LocalRuntime, event: dict[str, Any], **options: Any) -> Any:
    answer = app.client("lambda").invoke(
        FunctionName=app.physical_id("WorkerFunction"), Payload=json.dumps(event), **options
    )
    return json.loads(answer["Payload"].read())


@pytest.mark.parametrize(
    "event",
    [
        {"action": "echo", "id": "1", "value": "a", "qualifier": "nope"},
        {"action": "echo", "id": "1", "value": "a&qualifier=nope&x=1"},
        {"action": "echo", "id": "1", "value": "a&Qualifier=nope&x=1"},
    ],
    ids=["a qualifier member", "a qualifier in its text", "the parameter's name in its text"],
)
def test_an_event_naming_a_qualifier_invokes_the_function(
    app: LocalRuntime, event: dict[str, Any]
) -> None:
    assert _invoke(app, event)["value"] == event["value"]


def test_the_qualifier_parameter_chooses_the_version(app: LocalRuntime) -> None:
    event = {"action": "echo", "id": "1", "value": "a"}
    assert _invoke(app, event, Qualifier="$LATEST")["value"] == "a"
    with pytest.raises(ClientError) as raised:
        _invoke(app, event, Qualifier="7")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.canary
def test_canary_an_event_with_a_qualifier_member_is_not_found(app: LocalRuntime) -> None:
    event = {"action": "echo", "id": "1", "value": "a", "qualifier": "nope"}
    fix = "lambda-invoke-qualifier-from-the-query-string"
    with engine_fixes_reverted(fix), pytest.raises(ClientError) as raised:
        _invoke(app, event)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


# --- What AWS reads, from botocore's models ------------------------------------------------


@pytest.mark.parametrize(
    ("service", "target"),
    [
        ("dynamodb", "DynamoDB_20120810"),
        ("stepfunctions", "AWSStepFunctions"),
        ("sqs", "AmazonSQS"),
        ("events", "AWSEvents"),
    ],
)
def test_a_json_protocol_call_names_its_action_in_a_header_and_its_parameters_in_json(
    service: str, target: str
) -> None:
    model = _client(service).meta.service_model
    assert model.protocol == "json"
    assert model.metadata["targetPrefix"] == target  # X-Amz-Target: <prefix>.<Operation>


def test_invoke_takes_its_qualifier_from_the_query_string_and_its_event_as_the_body() -> None:
    shape = _client("lambda").meta.service_model.operation_model("Invoke").input_shape
    assert shape.members["Qualifier"].serialization == {
        "location": "querystring",
        "name": "Qualifier",
    }
    assert shape.serialization["payload"] == "Payload"
