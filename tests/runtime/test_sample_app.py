"""The sample SAM app under tests/runtime/app, run end to end on the offline runtime.

Given the app's template deployed into the in-process AWS, each test drives it only through
boto3 (as a client of AWS would) and checks what a user would see: execution status and
output, items in the table, objects in the bucket, events delivered to functions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import dynamodb_backends

from aigw.local.runtime import LocalRuntime
from aigw.local.services.providers import ServiceError


def _job(action: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"item-{uuid.uuid4().hex[:8]}", "action": action, **extra}


def _item(app: LocalRuntime, item_id: str) -> dict[str, Any] | None:
    table = app.physical_id("ItemsTable")
    return app.client("dynamodb").get_item(TableName=table, Key={"id": {"S": item_id}}).get("Item")


def _state_names(app: LocalRuntime, execution_arn: str, event_type: str) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in app.history(execution_arn)
        if event["type"] == event_type and "stateEnteredEventDetails" in event
    ]


def _wait_for(check: Any, *, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"condition not met within {timeout} s")


def _audit_objects(app: LocalRuntime, prefix: str) -> list[dict[str, Any]]:
    s3 = app.client("s3")
    bucket = app.physical_id("AuditBucket")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [
        json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()) for obj in listed
    ]


# ---------------------------------------------------------------------------- deployment


def test_given_the_template_when_deployed_then_every_resource_runs(app: LocalRuntime) -> None:
    assert app.report.not_run == []
    assert set(app.bridge.names()) == {
        "aigw-local-WorkerFunction",
        "aigw-local-NotifierFunction",
        "aigw-local-AuditFunction",
    }
    described = app.client("stepfunctions").describe_state_machine(
        stateMachineArn=app.arn("InsightsMachine")
    )
    assert described["type"] == "EXPRESS"
    # DefinitionSubstitutions were applied: the worker's ARN is in the definition.
    assert app.arn("WorkerFunction") in described["definition"]


# ---------------------------------------------------------------------------- Step Functions


def test_given_an_express_machine_when_run_then_its_end_is_answered_though_aws_keeps_none(
    app: LocalRuntime,
) -> None:
    result = app.run("InsightsMachine", {"text": "great"})

    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])
    with pytest.raises(ClientError) as raised:
        app.client("stepfunctions").describe_execution(executionArn=result["executionArn"])
    assert raised.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


def test_given_an_echo_job_when_the_pipeline_runs_then_it_succeeds_and_stores_the_item(
    app: LocalRuntime,
) -> None:
    job = _job("echo", value="hello")

    result = app.run("PipelineMachine", job)

    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    # The worker saw its own MODE, not the Globals value nor another function's.
    assert output["work"] == {"status": "done", "value": "hello", "mode": "worker"}
    stored = _item(app, job["id"])
    assert stored is not None
    assert stored["status"] == {"S": "done"}
    assert stored["value"] == {"S": '"hello"'}
    assert _state_names(app, result["executionArn"], "TaskStateEntered") == ["Work", "Store"]


def test_given_a_worker_failing_twice_when_retried_then_the_third_attempt_succeeds(
    app: LocalRuntime,
) -> None:
    job = _job("flaky", fail_times=2)

    result = app.run("PipelineMachine", job)

    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["work"]["value"] == "succeeded on attempt 3"
    failures = [e for e in app.history(result["executionArn"]) if e["type"] == "TaskFailed"]
    assert [json.loads(f["taskFailedEventDetails"]["cause"])["errorType"] for f in failures] == [
        "TransientError",
        "TransientError",
    ]


def test_given_a_worker_failing_more_than_retries_allow_then_the_catch_records_the_failure(
    app: LocalRuntime,
) -> None:
    job = _job("flaky", fail_times=5)

    result = app.run("PipelineMachine", job)

    assert result["status"] == "FAILED"
    assert result["error"] == "TransientError"
    stored = _item(app, job["id"])
    assert stored is not None
    assert stored["status"] == {"S": "failed"}
    assert stored["error"] == {"S": "TransientError"}
    assert "attempt 4 failed" in stored["cause"]["S"]


def test_given_a_crashing_worker_when_run_then_the_error_type_is_the_exception_class(
    app: LocalRuntime,
) -> None:
    result = app.run("PipelineMachine", _job("crash"))

    assert result["status"] == "FAILED"
    assert result["error"] == "ValueError"
    assert json.loads(result["cause"])["errorMessage"] == "the worker crashed"


def test_given_a_choice_with_no_match_when_run_then_the_default_fails_the_execution(
    app: LocalRuntime,
) -> None:
    result = app.run("PipelineMachine", _job("reject"))

    assert result["status"] == "FAILED"
    assert (result["error"], result["cause"]) == ("Rejected", "the worker did not finish")


def test_given_a_callback_task_when_the_handler_sends_task_success_then_the_pipeline_goes_on(
    app: LocalRuntime,
) -> None:
    job = _job("approve")

    result = app.run("PipelineMachine", job)

    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["callback"] == {"approved": True}
    assert _item(app, job["id"])["status"] == {"S": "done"}  # type: ignore[index]


def test_given_a_callback_task_when_the_handler_sends_task_failure_then_error_and_cause_arrive(
    app: LocalRuntime,
) -> None:
    job = _job("decline")

    result = app.run("PipelineMachine", job)

    assert result["status"] == "FAILED"
    assert result["error"] == "Declined"
    stored = _item(app, job["id"])
    assert stored is not None
    assert stored["error"] == {"S": "Declined"}
    assert stored["cause"] == {"S": "reviewer said decline"}


def test_given_an_express_machine_when_run_synchronously_then_parallel_results_are_selected(
    app: LocalRuntime,
) -> None:
    def sentiment(params: dict[str, Any]) -> dict[str, Any]:
        negative = "terrible" in params["Text"]
        return {
            "Sentiment": "NEGATIVE" if negative else "POSITIVE",
            "SentimentScore": {
                "Positive": 0.02 if negative else 0.97,
                "Negative": 0.95 if negative else 0.01,
                "Neutral": 0.02,
                "Mixed": 0.01,
            },
        }

    with app.providers.override("comprehend", "DetectSentiment", sentiment):
        response = app.client("stepfunctions").start_sync_execution(
            stateMachineArn=app.arn("InsightsMachine"),
            input=json.dumps({"text": "a terrible, slow service"}),
        )

    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"]) == {
        "sentiment": "NEGATIVE",
        "positive": 0.02,
        "echo": "a terrible, slow service",
        "mode": "worker",
    }


def test_given_a_failing_service_when_the_sdk_task_retries_then_it_succeeds(
    app: LocalRuntime,
) -> None:
    calls: list[str] = []

    def failing_twice(params: dict[str, Any]) -> dict[str, Any]:
        calls.append(params["Text"])
        if len(calls) <= 2:
            raise ServiceError("InternalServerException", "try again")
        return {"Sentiment": "POSITIVE", "SentimentScore": {"Positive": 0.9}}

    with app.providers.override("comprehend", "DetectSentiment", failing_twice):
        response = app.client("stepfunctions").start_sync_execution(
            stateMachineArn=app.arn("InsightsMachine"), input=json.dumps({"text": "great"})
        )

    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"])["sentiment"] == "POSITIVE"
    assert len(calls) == 3


def test_given_a_service_that_keeps_failing_then_the_retries_run_out_and_the_catch_fails(
    app: LocalRuntime,
) -> None:
    def always_failing(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("InternalServerException", "try again")

    with app.providers.override("comprehend", "DetectSentiment", always_failing):
        response = app.client("stepfunctions").start_sync_execution(
            stateMachineArn=app.arn("InsightsMachine"), input=json.dumps({"text": "great"})
        )

    assert response["status"] == "FAILED"
    assert response["error"] == "Unavailable"


def test_given_a_provider_when_code_calls_the_service_then_the_modeled_error_is_raised(
    app: LocalRuntime,
) -> None:
    def failing(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("InternalServerException", "try again")

    comprehend = app.client("comprehend")
    with (
        app.providers.override("comprehend", "DetectSentiment", failing),
        pytest.raises(comprehend.exceptions.InternalServerException) as raised,
    ):
        comprehend.detect_sentiment(Text="hi", LanguageCode="en")
    assert raised.value.response["Error"]["Message"] == "try again"


def test_given_no_provider_when_an_operation_is_called_then_moto_answers(
    app: LocalRuntime,
) -> None:
    # Falls through to moto, whose Comprehend answers sentiment with a constant.
    answer = app.client("comprehend").detect_sentiment(Text="hi", LanguageCode="en")
    assert "Sentiment" in answer


# ---------------------------------------------------------------------------- event sources


def test_given_a_topic_subscriber_when_a_message_is_published_then_it_gets_the_real_record(
    app: LocalRuntime,
) -> None:
    sns = app.client("sns")
    topic = app.physical_id("EventsTopic")

    message_id = sns.publish(
        TopicArn=topic,
        Message="job finished",
        Subject="status",
        MessageAttributes={"tenant_id": {"DataType": "String", "StringValue": "t-1"}},
    )["MessageId"]

    stored = _wait_for(lambda: _item(app, f"notified#{message_id}"))
    assert stored["topic"] == {"S": topic}
    assert stored["subject"] == {"S": "status"}
    assert stored["message"] == {"S": "job finished"}
    assert stored["attributes"] == {"M": {"tenant_id": {"S": "t-1"}}}
    assert stored["function"] == {"S": "aigw-local-NotifierFunction"}


def test_given_a_table_stream_when_items_are_written_then_batches_arrive_in_order(
    app: LocalRuntime,
) -> None:
    dynamodb = app.client("dynamodb")
    table = app.physical_id("ItemsTable")
    app.drain()
    prefix = f"ordered-{uuid.uuid4().hex[:6]}-"
    keys = [f"{prefix}{n:02d}" for n in range(25)]

    for key in keys:
        dynamodb.put_item(TableName=table, Item={"id": {"S": key}})
    app.drain()

    batches = [
        b for b in _audit_objects(app, "stream/") if any(k.startswith(prefix) for k in b["keys"])
    ]
    delivered = sorted(
        (seq, key)
        for batch in batches
        for seq, key in zip(batch["sequence"], batch["keys"], strict=True)
        if key.startswith(prefix)
    )
    assert [key for _, key in delivered] == keys
    assert all(len(batch["keys"]) <= 10 for batch in batches)  # BatchSize from the template
    assert {batch["mode"] for batch in batches} == {"audit"}
    assert {event for batch in batches for event in batch["events"]} == {"INSERT"}


def test_given_a_table_stream_when_its_records_are_delivered_then_the_stream_keeps_none(
    app: LocalRuntime,
) -> None:
    """A long-running runtime must not keep every change: a record goes once every mapping
    of the table has it, and no record is lost on the way."""
    dynamodb = app.client("dynamodb")
    table = app.physical_id("ItemsTable")
    app.drain()
    prefix = f"kept-{uuid.uuid4().hex[:6]}-"
    keys = [f"{prefix}{n:02d}" for n in range(12)]

    for key in keys:
        dynamodb.put_item(TableName=table, Item={"id": {"S": key}})
    app.drain()

    delivered = {
        key
        for batch in _audit_objects(app, "stream/")
        for key in batch["keys"]
        if key.startswith(prefix)
    }
    assert delivered == set(keys)
    shard = dynamodb_backends[app.account_id][app.region].get_table(table).stream_shard
    assert shard.items == []


def test_given_a_rule_on_failed_executions_when_the_pipeline_fails_then_the_target_runs(
    app: LocalRuntime,
) -> None:
    result = app.run("PipelineMachine", _job("crash"))
    name = result["executionArn"].rsplit(":", 1)[1]

    received = _wait_for(lambda: _audit_objects(app, f"rules/{name}.json"))

    event = received[0]["event"]
    assert event["source"] == "aws.states"
    assert event["detail-type"] == "Step Functions Execution Status Change"
    assert event["detail"]["status"] == "FAILED"
    assert event["detail"]["executionArn"] == result["executionArn"]
    assert event["detail"]["error"] == "ValueError"


def test_given_a_rule_on_failed_executions_when_the_pipeline_succeeds_then_nothing_is_sent(
    app: LocalRuntime,
) -> None:
    result = app.run("PipelineMachine", _job("echo"))
    app.drain()

    name = result["executionArn"].rsplit(":", 1)[1]
    assert _audit_objects(app, f"rules/{name}.json") == []


# ---------------------------------------------------------------------------- Lambda API


def test_given_a_function_when_invoked_directly_then_it_answers_like_lambda(
    app: LocalRuntime,
) -> None:
    lambda_client = app.client("lambda")
    name = app.physical_id("WorkerFunction")

    ok = lambda_client.invoke(FunctionName=name, Payload=json.dumps(_job("echo", value=3)))
    crashed = lambda_client.invoke(FunctionName=name, Payload=json.dumps(_job("crash")))

    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read()) == {"status": "done", "value": 3, "mode": "worker"}
    assert crashed["FunctionError"] == "Unhandled"
    error = json.loads(crashed["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "the worker crashed")


def test_given_an_event_invocation_when_invoked_then_it_is_accepted_and_runs_later(
    app: LocalRuntime,
) -> None:
    lambda_client = app.client("lambda")
    job = _job("flaky", execution={"name": f"async-{uuid.uuid4().hex[:6]}"})

    accepted = lambda_client.invoke(
        FunctionName=app.physical_id("WorkerFunction"),
        InvocationType="Event",
        Payload=json.dumps(job),
    )
    app.drain()

    assert accepted["StatusCode"] == 202
    assert _item(app, f"attempts#{job['execution']['name']}")["attempts"] == {"N": "1"}  # type: ignore[index]


def test_given_a_payload_over_6_mb_when_invoked_then_lambda_refuses_it_before_the_function_runs(
    app: LocalRuntime,
) -> None:
    job = _job("echo", value="x" * 6 * 1024 * 1024)

    with pytest.raises(ClientError) as raised:
        app.client("lambda").invoke(
            FunctionName=app.physical_id("WorkerFunction"), Payload=json.dumps(job)
        )

    answer = raised.value.response
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert answer["Error"]["Code"] == "RequestEntityTooLargeException"
    assert answer["Error"]["Message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )


def test_given_an_unknown_function_when_invoked_then_resource_not_found(
    app: LocalRuntime,
) -> None:
    with pytest.raises(ClientError) as raised:
        app.client("lambda").invoke(FunctionName="no-such-function", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


# ---------------------------------------------------------------------------- AWS endpoint

REMOTE_CLIENT = """
import json, sys, time
import boto3

options = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
               aws_access_key_id="x", aws_secret_access_key="x")
sfn = boto3.client("stepfunctions", **options)
tables = boto3.client("dynamodb", **options).list_tables()["TableNames"]
arn = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
           if m["name"].endswith("PipelineMachine"))
execution = sfn.start_execution(stateMachineArn=arn, name="from-another-process",
                                input=json.dumps({"id": "remote", "action": "echo"}))
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    if described["status"] != "RUNNING":
        break
    time.sleep(0.02)
print(json.dumps({"tables": tables, "status": described["status"],
                  "output": described.get("output")}))
"""


def test_given_the_aws_endpoint_when_another_process_starts_an_execution_then_it_runs_here(
    app: LocalRuntime,
) -> None:
    url = app.serve_aws()

    completed = subprocess.run(
        [sys.executable, "-c", REMOTE_CLIENT, url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    seen = json.loads(completed.stdout)
    assert seen["tables"] == [app.physical_id("ItemsTable")]
    assert seen["status"] == "SUCCEEDED"
    # The handler ran in this process: its per-function environment shows in the output.
    assert json.loads(seen["output"])["work"]["mode"] == "worker"
    assert _item(app, "remote")["status"] == {"S": "done"}  # type: ignore[index]


def test_given_the_aws_endpoint_when_a_client_here_is_given_it_then_it_reaches_dynamodb(
    app: LocalRuntime,
) -> None:
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=app.serve_aws(),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    assert app.physical_id("ItemsTable") in dynamodb.list_tables()["TableNames"]
