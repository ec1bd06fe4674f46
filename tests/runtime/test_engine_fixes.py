"""The engine fixes of aigw.local.engine and the MockConfigFile support.

Each fix has a canary (marked `canary`) that runs its scenario with the fix reverted and
asserts that moto still has the bug; a failing canary after a moto upgrade means the fix
can be deleted. The other tests run with every fix applied and assert AWS's behaviour.
"""

from __future__ import annotations

import base64
import copy
import gc
import inspect
import json
import re
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.handlers import BUILTIN_HANDLERS
from jsonpath_ng import parser as jsonpath_parser
from moto import backend_index, mock_aws
from moto.core import DEFAULT_ACCOUNT_ID, base_backend, responses
from moto.core.parse import JSONParser, RequestParser
from moto.core.serialize import XFormedAttributePicker
from moto.core.utils import method_names_from_class
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models import utilities as dynamodb_utilities
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import Node, UpdateExpression
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.models import dynamodbstreams_backends
from moto.moto_api._internal import mock_random
from moto.sagemakerruntime.models import sagemakerruntime_backends
from moto.sns.models import sns_backends
from moto.stepfunctions.parser import utils as parser_utils
from moto.stepfunctions.parser.api import ExecutionFailedEventDetails
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sfn,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (  # noqa: E501
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.mocking.mock_config import load_mock_test_case_for
from moto.stepfunctions.responses import StepFunctionResponse
from sfn_waits import wait_done

from aigw.local.engine import (
    apply_engine_fixes,
    aws_sdk_error_prefix,
    engine_fixes_reverted,
    set_time_scale,
)
from aigw.local.engine.mock_config import MockConfigError, use_mock_config
from aigw.local.engine.retention import on_express_finished
from aigw.local.services.providers import registry

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sfn"


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    apply_engine_fixes()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    set_time_scale(1.0)


@pytest.fixture
def fast_time() -> None:
    set_time_scale(0.001)


def sfn() -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


def create(definition: dict[str, Any], name: str = "machine", type_: str = "STANDARD") -> str:
    return sfn().create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE, type=type_
    )["stateMachineArn"]


def run(definition: dict[str, Any], payload: Any = None, name: str = "machine") -> dict[str, Any]:
    arn = create(definition, name=name)
    started = sfn().start_execution(stateMachineArn=arn, input=json.dumps(payload or {}))
    return wait_done(started["executionArn"])


def output(described: dict[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def task(resource: str, parameters: dict[str, Any], **fields: Any) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}
    return {"StartAt": "T", "States": {"T": {**state, **fields}}}


def pass_state(parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": parameters, "End": True}},
    }


def history(execution_arn: str) -> list[dict[str, Any]]:
    return sfn().get_execution_history(executionArn=execution_arn)["events"]


# --- The patch machinery ----------------------------------------------------------------------


def test_fixes_revert_to_moto_and_reapply() -> None:
    def sync_routes() -> int:
        return sum("sync-states" in p.pattern for _, p in backend_index.backend_url_patterns)

    apply_engine_fixes()  # idempotent: nothing is patched twice
    cached = boto_client.boto_client_for
    assert sync_routes() == 1
    assert "_normalise_response" in vars(StateTaskServiceAwsSdk)
    assert state_task_service_sfn.boto_client_for is cached
    with engine_fixes_reverted():
        assert sync_routes() == 0
        assert "_normalise_response" not in vars(StateTaskServiceAwsSdk)
        assert boto_client.boto_client_for is not cached
        assert state_task_service_sfn.boto_client_for is boto_client.boto_client_for
    assert sync_routes() == 1
    assert boto_client.boto_client_for is state_task_service_sfn.boto_client_for is cached


# --- 1 + 2. JSONPath ---------------------------------------------------------------------

PARALLEL_THEN_SELECT = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "A",
                    "States": {"A": {"Type": "Pass", "Result": {"v": 1}, "End": True}},
                },
                {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Pass", "Result": {"v": 2}, "End": True}},
                },
            ],
            "ResultSelector": {"first.$": "$[0].v", "second.$": "$[1]"},
            "End": True,
        }
    },
}


@pytest.mark.canary
def test_canary_definite_path_with_index_returns_a_list() -> None:
    """If this fails, moto fixed it upstream: delete fix jsonpath-definite-and-empty."""
    with engine_fixes_reverted("jsonpath-definite-and-empty"):
        assert output(run(PARALLEL_THEN_SELECT))["first"] == [1]


@pytest.mark.canary
def test_canary_filter_matching_nothing_fails() -> None:
    """If this fails, moto fixed it upstream: delete fix jsonpath-definite-and-empty."""
    with engine_fixes_reverted("jsonpath-definite-and-empty"):
        described = run(pass_state({"r.$": "$.items[?(@.x == 9)]"}), {"items": [{"x": 1}]})
    assert described["error"] == "States.Runtime"


def test_definite_paths_return_the_value() -> None:
    assert output(run(PARALLEL_THEN_SELECT)) == {"first": 1, "second": {"v": 2}}
    machine = pass_state({"b.$": "$.a[0].b", "last.$": "$.a[-1]"})
    selected = output(run(machine, {"a": [{"b": "x"}, {"b": "y"}]}, name="m2"))
    assert selected == {"b": "x", "last": {"b": "y"}}


def test_definite_path_that_is_missing_still_fails() -> None:
    assert run(pass_state({"r.$": "$.a[5].b"}), {"a": []})["error"] == "States.Runtime"


RESULT_PATH_MACHINE = {
    "StartAt": "P",
    "States": {
        "P": {
            "Type": "Pass",
            "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
            "ResultPath": "$.result.value",
            "End": True,
        }
    },
}


def _json_path_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    original = jsonpath_parser.JsonPathParser.parse

    def counting(self: Any, string: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(string)
        return original(self, string, *args, **kwargs)

    monkeypatch.setattr(jsonpath_parser.JsonPathParser, "parse", counting)
    return parsed


@pytest.mark.canary
def test_canary_a_result_path_is_parsed_at_every_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """If this fails, moto fixed it upstream: delete fix result-path-parsed-once."""
    parsed = _json_path_parses(monkeypatch)
    with engine_fixes_reverted("result-path-parsed-once"):
        arn = create(RESULT_PATH_MACHINE, name="result-path-canary")
        for n in (1, 2):
            wait_done(
                sfn().start_execution(stateMachineArn=arn, input=f'{{"n": {n}}}')["executionArn"]
            )
    assert parsed.count("$.result.value") == 2


def test_executions_sharing_a_parsed_result_path_each_get_their_own_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = _json_path_parses(monkeypatch)
    arn = create(RESULT_PATH_MACHINE, name="result-path-shared")
    started = [
        sfn().start_execution(stateMachineArn=arn, input=json.dumps({"n": n, "keep": n}))
        for n in range(1, 5)
    ]
    outputs = [output(wait_done(execution["executionArn"])) for execution in started]
    assert outputs == [
        {"n": n, "keep": n, "result": {"value": {"doubled": 2 * n}}} for n in range(1, 5)
    ]
    assert parsed.count("$.result.value") <= 1


def test_indefinite_paths_return_lists() -> None:
    parameters = {
        "filtered.$": "$.items[?(@.x > 1)].x",
        "nothing.$": "$.items[?(@.x == 9)]",
        "wildcard.$": "$.items[*].x",
        "slice.$": "$.items[0:1]",
        "deep.$": "$..x",
        "single.$": "$.items[?(@.x == 1)]",
    }
    result = output(run(pass_state(parameters), {"items": [{"x": 1}, {"x": 2}, {"x": 3}]}))
    assert result == {
        "filtered": [2, 3],
        "nothing": [],
        "wildcard": [1, 2, 3],
        "slice": [{"x": 1}],
        "deep": [1, 2, 3],
        "single": [{"x": 1}],
    }


# --- 3. Unnamed executions ------------------------------------------------------------------

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@pytest.mark.canary
def test_canary_unnamed_execution_is_named_none() -> None:
    """If this fails, moto fixed it upstream: delete fix unnamed-execution-uuid."""
    arn = create(PASS)
    with engine_fixes_reverted("unnamed-execution-uuid"):
        execution_arn = sfn().start_execution(stateMachineArn=arn)["executionArn"]
    assert execution_arn.endswith(":None")


def test_unnamed_executions_get_distinct_uuid_names() -> None:
    arn = create(PASS)
    names = set()
    for _ in range(2):
        execution_arn = sfn().start_execution(stateMachineArn=arn)["executionArn"]
        names.add(wait_done(execution_arn)["name"])
    assert len(names) == 2
    assert all(uuid.UUID(name) for name in names)


# --- 4. Nested executions --------------------------------------------------------------------

CHILD = {
    "StartAt": "P",
    "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$.a"}, "End": True}},
}
FAILING_CHILD = {
    "StartAt": "F",
    "States": {"F": {"Type": "Fail", "Error": "ChildError", "Cause": "boom"}},
}


def start_child(
    child_arn: str, suffix: str = "", run_name: str = "child-run", **fields: Any
) -> dict[str, Any]:
    parameters = {"StateMachineArn": child_arn, "Input": {"a": 1}, "Name": run_name}
    return task(f"arn:aws:states:::states:startExecution{suffix}", parameters, **fields)


@pytest.mark.canary
def test_canary_start_execution_task_fails_on_parameter_casing() -> None:
    """If this fails, moto fixed it upstream: delete fix nested-executions."""
    child = create(CHILD, name="child")
    with engine_fixes_reverted("nested-executions"):
        assert run(start_child(child))["error"] == "States.Runtime"


def test_start_execution_task_returns_arn_and_start_date() -> None:
    child = create(CHILD, name="child")
    result = output(run(start_child(child)))
    assert result["ExecutionArn"].endswith(":execution:child:child-run")
    assert isinstance(result["StartDate"], int)


@pytest.mark.parametrize(("suffix", "output_type"), [(".sync", str), (".sync:2", dict)])
def test_sync_start_execution_returns_the_child_output(suffix: str, output_type: type) -> None:
    child = create(CHILD, name="child")
    result = output(run(start_child(child, suffix)))
    assert result["Status"] == "SUCCEEDED"
    child_output = result["Output"]
    assert isinstance(child_output, output_type)
    assert (json.loads(child_output) if suffix == ".sync" else child_output) == {"got": 1}


def test_failed_child_fails_the_parent_task() -> None:
    child = create(FAILING_CHILD, name="child")
    catch = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]
    definition = start_child(child, ".sync:2", Catch=catch)
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    caught = output(run(definition))
    assert caught["Error"] == "States.TaskFailed"
    child_description = json.loads(caught["Cause"])
    assert child_description["Status"] == "FAILED"
    assert child_description["ExecutionArn"].endswith(":child-run")
    uncaught = start_child(child, ".sync", run_name="second-run")
    assert run(uncaught, name="uncaught")["error"] == "States.TaskFailed"


# --- StopExecution while a task runs -----------------------------------------------------------


def stop_during_task() -> dict[str, Any]:
    """Stop a parent while its .sync:2 task waits for a child, then let the child finish
    (the situation of a cancelled job: job-runner waits on its pipeline)."""
    in_task, release = threading.Event(), threading.Event()

    def slow_get_item(params: dict[str, Any]) -> dict[str, Any]:
        in_task.set()
        release.wait(5)
        return {}

    child = create(
        task("arn:aws:states:::aws-sdk:dynamodb:getItem", {"TableName": "t", "Key": {}}),
        name="slow-child",
    )
    parent = start_child(child, ".sync:2", run_name="slow-run")
    parent["States"]["T"].pop("End")
    parent["States"]["T"]["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}]
    parent["States"]["T"]["Next"] = "Handled"
    parent["States"]["Handled"] = {"Type": "Pass", "End": True}
    arn = create(parent, name="parent")
    with registry.override("dynamodb", "GetItem", slow_get_item):
        execution = sfn().start_execution(stateMachineArn=arn)["executionArn"]
        assert in_task.wait(5)
        sfn().stop_execution(executionArn=execution, error="Operator", cause="stopped")
        time.sleep(0.05)  # the parent's poll of the child runs after the stop
        release.set()
        return wait_done(execution)


def stopped_environment() -> Environment:
    """An engine environment in the state StopExecution leaves it in."""
    env = object.__new__(Environment)
    env._state_mutex = threading.RLock()
    env._frames = []
    env.program_state_event = threading.Event()
    env._program_state = ProgramStopped(stop_date=None, cause="stopped", error="Operator")
    return env


@pytest.mark.canary
def test_canary_an_error_after_a_stop_overwrites_the_stopped_state() -> None:
    """If this fails, moto fixed it upstream: delete fix stop-wins.

    (A task that finishes after StopExecution cannot set its next state; the engine then
    calls set_error, which turned the ABORTED execution FAILED: a cancelled job's runner.)"""
    env = stopped_environment()
    with engine_fixes_reverted("stop-wins"):
        env.set_error(ExecutionFailedEventDetails(error="States.Runtime", cause="late"))
    assert not isinstance(env._program_state, ProgramStopped)


def test_an_error_after_a_stop_leaves_the_execution_stopped() -> None:
    env = stopped_environment()
    env.set_error(ExecutionFailedEventDetails(error="States.Runtime", cause="late"))
    assert isinstance(env._program_state, ProgramStopped)


def test_a_stopped_execution_ends_aborted_even_if_a_task_was_running() -> None:
    described = stop_during_task()
    assert described["status"] == "ABORTED"


# --- Errors leaving Parallel branches and Map iterations; States.ALL ---------------------------


def failing_in(container: str, child_arn: str) -> dict[str, Any]:
    """A Parallel or Map whose only branch/iteration fails with States.TaskFailed."""
    inner = start_child(child_arn, ".sync", run_name=f"{container.lower()}-run")
    state: dict[str, Any] = {"Type": container, "End": True}
    state["Catch"] = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]
    if container == "Parallel":
        state["Branches"] = [inner]
    else:
        state.update(ItemsPath="$.items", ItemProcessor=inner)
    return {"StartAt": "S", "States": {"S": state, "Caught": {"Type": "Pass", "End": True}}}


@pytest.mark.canary
def test_canary_states_error_from_a_branch_becomes_a_value_error() -> None:
    """If this fails, moto fixed it upstream: delete fix branch-states-errors."""
    child = create(FAILING_CHILD, name="child")
    with engine_fixes_reverted("branch-states-errors"):
        described = run(failing_in("Parallel", child))
    assert described["error"] == "States.Runtime"
    assert "Custom Error Names MUST NOT begin with the prefix 'States.'" in described["cause"]


@pytest.mark.parametrize("container", ["Parallel", "Map"])
def test_states_error_from_a_branch_fails_the_state_with_it(container: str) -> None:
    child = create(FAILING_CHILD, name="child")
    caught = output(run(failing_in(container, child), {"items": [1]}))
    assert caught["Error"] == "States.TaskFailed"


def reraising(child_arn: str) -> dict[str, Any]:
    """Catch a failed child's States.TaskFailed, then fail with it through ErrorPath."""
    inner = start_child(child_arn, ".sync", run_name="reraise-run")
    definition = inner
    start = definition["StartAt"]
    definition["States"][start]["Catch"] = [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Failed"}
    ]
    definition["States"]["Failed"] = {
        "Type": "Fail",
        "ErrorPath": "$.failure.Error",
        "CausePath": "$.failure.Cause",
    }
    return definition


@pytest.mark.canary
def test_canary_fail_state_cannot_reraise_a_states_error() -> None:
    """If this fails, moto fixed it upstream: drop the state_fail patch of branch-states-errors."""
    child = create(FAILING_CHILD, name="child")
    with engine_fixes_reverted("branch-states-errors"):
        described = run(reraising(child))
    assert described["error"] != "States.TaskFailed"


def test_fail_state_reraises_a_caught_states_error() -> None:
    child = create(FAILING_CHILD, name="child")
    described = run(reraising(child))
    assert described["status"] == "FAILED"
    assert described["error"] == "States.TaskFailed"


MISSING_PATH_CAUGHT_BY_ALL = {
    "StartAt": "P",
    "States": {
        "P": {
            "Type": "Parallel",
            "Branches": [pass_state({"x.$": "$.missing"})],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    },
}


@pytest.mark.canary
def test_canary_states_all_catches_states_runtime() -> None:
    """If this fails, moto fixed it upstream: delete fix states-all-excludes-runtime."""
    with engine_fixes_reverted("states-all-excludes-runtime"):
        assert output(run(MISSING_PATH_CAUGHT_BY_ALL))["Error"] == "States.Runtime"


def test_states_all_does_not_catch_states_runtime() -> None:
    described = run(MISSING_PATH_CAUGHT_BY_ALL)
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")


# --- 5. aws-sdk error names -----------------------------------------------------------------

GET_MISSING_OBJECT = task(
    "arn:aws:states:::aws-sdk:s3:getObject",
    {"Bucket": "aigw-bucket", "Key": "missing"},
    Catch=[{"ErrorEquals": ["S3.NoSuchKeyException"], "Next": "Caught"}],
)
GET_MISSING_OBJECT["States"]["Caught"] = {"Type": "Pass", "End": True}


@pytest.fixture
def bucket() -> str:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="aigw-bucket")
    s3.put_object(Bucket="aigw-bucket", Key="note.txt", Body="héllo".encode())
    return "aigw-bucket"


@pytest.mark.canary
def test_canary_aws_sdk_errors_have_a_lower_case_prefix(bucket: str) -> None:
    """If this fails, moto fixed it upstream: delete fix aws-sdk-error-names."""
    with engine_fixes_reverted("aws-sdk-error-names"):
        assert run(GET_MISSING_OBJECT)["error"] == "s3.NoSuchKeyException"


def test_aws_sdk_errors_use_the_aws_service_prefix(bucket: str) -> None:
    assert output(run(GET_MISSING_OBJECT))["Error"] == "S3.NoSuchKeyException"
    missing_table = task(
        "arn:aws:states:::aws-sdk:dynamodb:getItem",
        {"TableName": "nope", "Key": {"id": {"S": "1"}}},
    )
    assert run(missing_table, name="m2")["error"] == "DynamoDb.ResourceNotFoundException"


@pytest.mark.parametrize(
    ("integration", "prefix"),
    [
        ("comprehend", "Comprehend"),
        ("textract", "Textract"),
        ("dynamodb", "DynamoDb"),
        ("s3", "S3"),
        ("sagemakerruntime", "SageMakerRuntime"),
        ("sfn", "Sfn"),
        ("acmpca", "AcmPca"),
        ("secretsmanager", "SecretsManager"),
        ("bedrockruntime", "BedrockRuntime"),
        ("apigatewaymanagementapi", "ApiGatewayManagementApi"),
        ("cloudwatchlogs", "CloudWatchLogs"),
        ("ec2", "Ec2"),
        ("sesv2", "SesV2"),
    ],
)
def test_aws_sdk_error_prefix(integration: str, prefix: str) -> None:
    assert aws_sdk_error_prefix(integration) == prefix


# --- 6. aws-sdk calls: service names, blobs, casing ------------------------------------------

INVOKE_ENDPOINT = task(
    "arn:aws:states:::aws-sdk:sagemakerruntime:invokeEndpoint",
    {"EndpointName": "classifier", "Body": '{"text": "hi"}', "ContentType": "application/json"},
    ResultSelector={"Body.$": "$.Body", "Parsed.$": "States.StringToJson($.Body)"},
)


@pytest.mark.canary
def test_canary_sagemakerruntime_is_an_unknown_service() -> None:
    """If this fails, moto fixed it upstream: delete fix aws-sdk-calls."""
    with engine_fixes_reverted("aws-sdk-calls"):
        described = run(INVOKE_ENDPOINT)
    assert described["error"] == "States.Runtime"
    assert "Unknown service: 'sagemakerruntime'" in described["cause"]


def test_sagemakerruntime_body_comes_back_as_text() -> None:
    backend = sagemakerruntime_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.results_queue.append(('{"label": "POSITIVE"}', "application/json", "prod", ""))
    assert output(run(INVOKE_ENDPOINT)) == {
        "Body": '{"label": "POSITIVE"}',
        "Parsed": {"label": "POSITIVE"},
    }


def test_s3_object_body_and_dates_are_json(bucket: str) -> None:
    result = output(
        run(task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": bucket, "Key": "note.txt"}))
    )
    assert result["Body"] == "héllo"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", result["LastModified"])


def test_aws_sdk_takes_pascal_case_parameters_for_camel_case_apis() -> None:
    child = create(PASS, name="child")
    parameters = {"StateMachineArn": child, "Input": "{}", "Name": "via-sdk"}
    result = output(run(task("arn:aws:states:::aws-sdk:sfn:startExecution", parameters)))
    assert result["ExecutionArn"].endswith(":execution:child:via-sdk")


# --- 7. SendTaskFailure cause and heartbeat timeouts --------------------------------------------


def callback_machine(
    heartbeat: int | None = None, catch: list[str] | None = None
) -> dict[str, Any]:
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="tokens")["TopicArn"]
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
        "Parameters": {"TopicArn": topic, "Message.$": "$$.Task.Token"},
        "End": True,
    }
    if heartbeat:
        state["HeartbeatSeconds"] = heartbeat
    states = {"Wait": state}
    if catch:
        state["Catch"] = [{"ErrorEquals": catch, "Next": "Caught"}]
        states["Caught"] = {"Type": "Pass", "End": True}
    return {"StartAt": "Wait", "States": states}


def task_token(execution_arn: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for event in history(execution_arn):
            if event["type"] == "TaskScheduled":
                return json.loads(event["taskScheduledEventDetails"]["parameters"])["Message"]
        time.sleep(0.005)
    raise AssertionError("no task was scheduled")


def fail_task(definition: dict[str, Any]) -> dict[str, Any]:
    execution_arn = sfn().start_execution(stateMachineArn=create(definition))["executionArn"]
    sfn().send_task_failure(taskToken=task_token(execution_arn), error="Boom", cause="it broke")
    return wait_done(execution_arn)


@pytest.mark.canary
def test_canary_send_task_failure_drops_the_cause() -> None:
    """If this fails, moto fixed it upstream: delete fix send-task-failure-cause."""
    with engine_fixes_reverted("send-task-failure-cause"):
        described = fail_task(callback_machine())
    assert described["error"] == "Boom"
    assert "cause" not in described


def test_send_task_failure_cause_reaches_catch_and_execution() -> None:
    described = fail_task(callback_machine())
    assert (described["error"], described["cause"]) == ("Boom", "it broke")
    sfn().delete_state_machine(stateMachineArn=described["stateMachineArn"])
    caught = output(fail_task(callback_machine(catch=["Boom"])))
    assert caught == {"Error": "Boom", "Cause": "it broke"}


@pytest.mark.canary
def test_canary_missed_heartbeat_is_states_timeout() -> None:
    """If this fails, moto fixed it upstream: delete fix heartbeat-timeout-error."""
    arn = create(callback_machine(heartbeat=1))
    with engine_fixes_reverted("heartbeat-timeout-error"):
        described = wait_done(sfn().start_execution(stateMachineArn=arn)["executionArn"])
    assert described["error"] == "States.Timeout"


def test_missed_heartbeat_is_states_heartbeat_timeout() -> None:
    # Two executions at once: the error as reported, and a States.Timeout catcher matching it.
    uncaught = create(callback_machine(heartbeat=1), name="uncaught")
    caught = create(callback_machine(heartbeat=1, catch=["States.Timeout"]), name="caught")
    runs = [
        sfn().start_execution(stateMachineArn=arn)["executionArn"] for arn in (uncaught, caught)
    ]
    assert wait_done(runs[0])["error"] == "States.HeartbeatTimeout"
    assert output(wait_done(runs[1]))["Error"] == "States.HeartbeatTimeout"
    timed_out = [e for e in history(runs[0]) if e["type"] == "TaskTimedOut"]
    assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.HeartbeatTimeout"


# --- 8. StartSyncExecution ------------------------------------------------------------------


@pytest.mark.canary
def test_canary_start_sync_execution_is_not_routed() -> None:
    """If this fails, moto fixed it upstream: delete fix start-sync-execution."""
    arn = create(PASS, type_="EXPRESS")
    with engine_fixes_reverted("start-sync-execution"), pytest.raises(ClientError) as raised:
        sfn().start_sync_execution(stateMachineArn=arn, input="{}")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_start_sync_execution_succeeds_with_output() -> None:
    arn = create(pass_state({"doubled.$": "States.MathAdd($.n, $.n)"}), type_="EXPRESS")
    result = sfn().start_sync_execution(stateMachineArn=arn, name="once", input='{"n": 2}')
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"doubled": 4}
    assert ":express:machine:once:" in result["executionArn"]
    assert result["stopDate"] >= result["startDate"]


def test_start_sync_execution_reports_failure() -> None:
    arn = create(FAILING_CHILD, type_="EXPRESS")
    result = sfn().start_sync_execution(stateMachineArn=arn)
    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "ChildError", "boom")
    assert "output" not in result


def test_start_sync_execution_times_out() -> None:
    slow = {**wait_for(Seconds=5), "TimeoutSeconds": 1}
    result = sfn().start_sync_execution(stateMachineArn=create(slow, type_="EXPRESS"))
    assert result["status"] == "TIMED_OUT"


def test_start_sync_execution_rejects_standard_machines() -> None:
    with pytest.raises(ClientError) as raised:
        sfn().start_sync_execution(stateMachineArn=create(PASS))
    assert raised.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


# --- 9. Performance fixes -------------------------------------------------------------------


@pytest.mark.canary
def test_canary_boto_client_for_builds_a_client_per_call() -> None:
    """If this fails, moto fixed it upstream: delete fix boto-client-cache."""
    with engine_fixes_reverted("boto-client-cache"):
        first = boto_client.boto_client_for(REGION, "dynamodb")
        assert boto_client.boto_client_for(REGION, "dynamodb") is not first


@pytest.mark.canary
def test_canary_every_request_lists_the_response_class_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix moto-action-lookup."""
    dynamodb = _dynamodb_table()
    listed: list[object] = []
    original = inspect.getmembers
    monkeypatch.setattr(
        inspect,
        "getmembers",
        lambda owner, *a, **k: (listed.append(owner), original(owner, *a, **k))[1],
    )

    with engine_fixes_reverted("moto-action-lookup"):
        dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})

    assert DynamoHandler in listed


def test_an_action_is_found_exactly_when_moto_lists_it_among_the_class_functions() -> None:
    for handler in (DynamoHandler, StepFunctionResponse):
        listed = set(method_names_from_class(handler))
        names = [*dir(handler), "no_such_action", "get_item_x"]

        assert {name for name in names if name in responses.method_names_from_class(handler)} == (
            listed
        )


@pytest.mark.canary
def test_canary_every_request_rebuilds_the_backend_url_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix backend-url-table-built-once."""
    dynamodb = _dynamodb_table()
    reads: list[bool] = []
    original = base_backend.enable_iso_regions
    monkeypatch.setattr(
        base_backend, "enable_iso_regions", lambda: (reads.append(True), original())[1]
    )

    with engine_fixes_reverted("backend-url-table-built-once"):
        for _ in range(3):
            dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})

    # The table is built per request, with one environment read per URL base.
    assert len(reads) >= 3 * len(dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].url_bases)


def test_backend_url_tables_are_moto_s_and_follow_the_iso_regions_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backends = [
        dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION],
        sns_backends[DEFAULT_ACCOUNT_ID][REGION],
    ]
    for iso in ("false", "true"):
        monkeypatch.setenv("MOTO_ENABLE_ISO_REGIONS", iso)
        for backend in backends:
            table = backend.urls
            table.clear()  # a caller's copy: the next one is whole
            with engine_fixes_reverted("backend-url-table-built-once"):
                built = backend.urls
            assert backend.urls == built
    assert any("c2s.ic.gov" in url for url in built)


def _request_ids(dynamodb: Any, count: int) -> list[str]:
    return [
        dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})["ResponseMetadata"][
            "RequestId"
        ]
        for _ in range(count)
    ]


def test_request_ids_are_moto_s_kind_and_follow_its_seed() -> None:
    dynamodb = _dynamodb_table()
    ids = _request_ids(dynamodb, 50)
    try:
        mock_random.seed(7)
        seeded = _request_ids(dynamodb, 3)
        mock_random.seed(7)
        again = _request_ids(dynamodb, 3)
    finally:
        mock_random.seed()  # unpredictable again for the tests after this one

    assert all(re.fullmatch(r"[A-Za-z0-9]{52}", request_id) for request_id in ids)
    assert len(set(ids)) == 50
    assert len(set("".join(ids))) > 50  # drawn from all 62 characters, not a few
    assert seeded == again


@pytest.mark.canary
def test_canary_a_request_id_is_drawn_one_character_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix request-id-drawn-at-once."""
    dynamodb = _dynamodb_table()
    draws: list[Any] = []
    original = mock_random.choice
    monkeypatch.setattr(mock_random, "choice", lambda pool: (draws.append(1), original(pool))[1])
    with engine_fixes_reverted("request-id-drawn-at-once"):
        _request_ids(dynamodb, 1)

    assert len(draws) >= 52


class _CountedLock:
    """moto's backend lock, counting who takes it."""

    def __init__(self, lock: Any) -> None:
        self.lock, self.taken = lock, 0

    def __enter__(self) -> Any:
        self.taken += 1
        return self.lock.__enter__()

    def __exit__(self, *exc: object) -> Any:
        return self.lock.__exit__(*exc)


def _locks_taken_by_reads(monkeypatch: pytest.MonkeyPatch) -> int:
    dynamodb = _dynamodb_table()
    dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})  # sets up what it uses
    counted = _CountedLock(base_backend.backend_lock)
    monkeypatch.setattr(base_backend, "backend_lock", counted)
    for _ in range(3):
        dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})
    monkeypatch.undo()
    return counted.taken


def test_reading_a_backend_that_is_there_takes_no_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _locks_taken_by_reads(monkeypatch) == 0


@pytest.mark.canary
def test_canary_every_backend_look_up_takes_the_global_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix backend-dict-lookup-without-the-
    lock."""
    with engine_fixes_reverted("backend-dict-lookup-without-the-lock"):
        assert _locks_taken_by_reads(monkeypatch) >= 3


def test_a_new_account_or_a_forgotten_backend_dict_is_still_set_up() -> None:
    account = "210987654321"
    assert account not in dict(dynamodb_backends)
    created = dynamodb_backends[account][REGION]
    instances = base_backend.BackendDict._instances
    instances.remove(dynamodb_backends)  # as if forgotten: the next look-up registers it
    try:
        again = dynamodb_backends[account][REGION]
    finally:
        if dynamodb_backends not in instances:
            instances.append(dynamodb_backends)

    assert again is created
    assert created.account_id == account
    assert sum(instance is dynamodb_backends for instance in instances) == 1
    dynamodb_backends.pop(account)


def test_boto_clients_are_reused_until_handlers_or_session_change() -> None:
    first = boto_client.boto_client_for(REGION, "dynamodb")
    assert boto_client.boto_client_for(REGION, "dynamodb") is first
    assert boto_client.boto_client_for("eu-west-1", "dynamodb") is not first
    handler = ("before-call.dynamodb", lambda **_: None)
    BUILTIN_HANDLERS.append(handler)
    try:
        assert boto_client.boto_client_for(REGION, "dynamodb") is not first
    finally:
        BUILTIN_HANDLERS.remove(handler)
    boto3.DEFAULT_SESSION = None
    assert boto_client.boto_client_for(REGION, "dynamodb") is not first


def fake_worker(definition: dict[str, Any]) -> Any:
    details = SimpleNamespace(
        state_machine_details=SimpleNamespace(definition=json.dumps(definition))
    )
    return SimpleNamespace(_evaluation_details=details)


@pytest.mark.canary
def test_canary_each_execution_parses_its_definition() -> None:
    """If this fails, moto fixed it upstream: delete fix parsed-program-cache."""
    with engine_fixes_reverted("parsed-program-cache"):
        first = ExecutionWorker._get_evaluation_entrypoint(fake_worker(PASS))
        assert ExecutionWorker._get_evaluation_entrypoint(fake_worker(PASS)) is not first


def test_parsed_programs_are_shared_and_executions_stay_independent(fast_time: None) -> None:
    assert ExecutionWorker._get_evaluation_entrypoint(
        fake_worker(CHILD)
    ) is ExecutionWorker._get_evaluation_entrypoint(fake_worker(CHILD))
    # Retry counters live in each execution's heap, under keys of the shared components.
    flaky = task(
        "arn:aws:states:::aws-sdk:dynamodb:getItem",
        {"TableName": "nope", "Key": {"id": {"S": "1"}}},
        Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
    )
    arn = create(flaky)
    runs = [sfn().start_execution(stateMachineArn=arn)["executionArn"] for _ in range(4)]
    for execution_arn in runs:
        assert wait_done(execution_arn)["error"] == "DynamoDb.ResourceNotFoundException"
        failures = [e for e in history(execution_arn) if e["type"] == "TaskFailed"]
        assert len(failures) == 3


@pytest.mark.canary
def test_canary_finished_threads_are_retained() -> None:
    """If this fails, moto fixed it upstream: delete fix finished-threads-released."""
    with engine_fixes_reverted("finished-threads-released"):
        before = len(parser_utils.TMP_THREADS)
        output(run(PASS))
        assert len(parser_utils.TMP_THREADS) >= before + 2
        assert any(not thread.is_alive() for thread in parser_utils.TMP_THREADS)


def test_finished_threads_are_released() -> None:
    arn = create(PASS)
    for index in range(20):  # about three engine threads each
        wait_done(sfn().start_execution(stateMachineArn=arn, name=f"e{index}")["executionArn"])
    # Each append drops the finished threads, so only the last execution's few remain
    # (threads still running, e.g. another test's waiting execution, are not ours to count).
    finished = [thread for thread in parser_utils.TMP_THREADS if not thread.is_alive()]
    assert len(finished) < 10


# --- 10. Time scale ---------------------------------------------------------------------------


def wait_for(**wait: Any) -> dict[str, Any]:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "End": True, **wait}}}


@pytest.mark.canary
def test_canary_wait_takes_real_time(fast_time: None) -> None:
    """If this fails, moto fixed it upstream: delete fix time-scale."""
    started = time.monotonic()
    with engine_fixes_reverted("time-scale"):
        output(run(wait_for(Seconds=1)))
    assert time.monotonic() - started >= 1


@pytest.mark.parametrize(
    "wait",
    [
        {"Seconds": 600},
        {"SecondsPath": "$.seconds"},
        {"TimestampPath": "$.at"},
    ],
)
def test_scaled_wait_is_short(fast_time: None, wait: dict[str, Any]) -> None:
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    started = time.monotonic()
    output(run(wait_for(**wait), {"seconds": 600, "at": at}))
    # Unscaled this waits 10 minutes, scaled 0.6 s: the bound tells them apart with room for a
    # very busy machine (a 30 s wait against a 10 s bound took 14 s under a load of 12).
    assert time.monotonic() - started < 120


def test_scaled_retry_back_off_is_short(fast_time: None) -> None:
    flaky = task(
        "arn:aws:states:::aws-sdk:dynamodb:getItem",
        {"TableName": "nope", "Key": {"id": {"S": "1"}}},
        Retry=[
            {
                "ErrorEquals": ["States.ALL"],
                "IntervalSeconds": 200,
                "MaxAttempts": 2,
                "BackoffRate": 2.0,
            }
        ],
    )
    started = time.monotonic()
    described = run(flaky)
    # Unscaled the back-off alone is 200 s + 400 s; the bound leaves room for a busy machine.
    assert time.monotonic() - started < 120
    assert len([e for e in history(described["executionArn"]) if e["type"] == "TaskFailed"]) == 3


# --- MockConfigFile -------------------------------------------------------------------------

LAMBDA_MACHINE = {
    "StartAt": "Classify",
    "States": {
        "Classify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "classify", "Payload.$": "$"},
            "ResultSelector": {"label.$": "$.Payload.label"},
            "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback"}],
            "End": True,
        },
        "Fallback": {"Type": "Pass", "End": True},
    },
}
THROTTLED = {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}}
MOCK_CONFIG = {
    "StateMachines": {
        "classifier": {
            "TestCases": {
                "RetryThenSucceed": {"Classify": "ThrottledTwice"},
                "Broken": {"Classify": "Broken"},
            }
        }
    },
    "MockedResponses": {
        "ThrottledTwice": {
            "0-1": THROTTLED,
            "2": {"Return": {"StatusCode": 200, "Payload": {"label": "POSITIVE"}}},
        },
        "Broken": {"0": {"Throw": {"Error": "ModelError", "Cause": "model is down"}}},
    },
}


@pytest.fixture
def mock_config(fast_time: None) -> Iterator[str]:
    use_mock_config(MOCK_CONFIG)
    yield create(LAMBDA_MACHINE, name="classifier")
    use_mock_config(None)


@pytest.mark.canary
def test_canary_mock_config_loader_is_a_stub() -> None:
    """If this fails, moto can load mock configs: revisit aigw.local.engine.mock_config."""
    assert load_mock_test_case_for("classifier", "RetryThenSucceed") is None


def test_mocked_task_throws_twice_then_returns_under_retry(mock_config: str) -> None:
    started = sfn().start_execution(stateMachineArn=f"{mock_config}#RetryThenSucceed")
    described = wait_done(started["executionArn"])
    assert output(described) == {"label": "POSITIVE"}
    failures = [e for e in history(started["executionArn"]) if e["type"] == "TaskFailed"]
    assert [f["taskFailedEventDetails"]["cause"] for f in failures] == ["slow down"] * 2


def test_mocked_throw_takes_the_catch_path(mock_config: str) -> None:
    started = sfn().start_execution(stateMachineArn=f"{mock_config}#Broken", input='{"t": 1}')
    assert output(wait_done(started["executionArn"])) == {
        "Error": "ModelError",
        "Cause": "model is down",
    }


def test_unknown_test_case_is_rejected_at_start(mock_config: str) -> None:
    with pytest.raises(ClientError) as raised:
        sfn().start_execution(stateMachineArn=f"{mock_config}#Nope")
    assert raised.value.response["Error"]["Code"] == "InvalidName"
    assert "Nope" in raised.value.response["Error"]["Message"]


def test_mock_config_loads_from_a_file(tmp_path: Any) -> None:
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(MOCK_CONFIG))
    try:
        use_mock_config(path)
        arn = create(LAMBDA_MACHINE, name="classifier")
        started = sfn().start_execution(stateMachineArn=f"{arn}#Broken")
        assert output(wait_done(started["executionArn"]))["Error"] == "ModelError"
    finally:
        use_mock_config(None)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"StateMachines": {}}, "MockedResponses: Field required"),
        (
            {"StateMachines": {}, "MockedResponses": {"M": {"0": {}}}},
            "exactly one of 'Return' or 'Throw'",
        ),
        (
            {
                "StateMachines": {"S": {"TestCases": {"T": {"State": "Missing"}}}},
                "MockedResponses": {},
            },
            "No definitions for mocked response 'Missing'",
        ),
        (
            {
                "StateMachines": {"S": {"TestCases": {"T": {"State": "M"}}}},
                "MockedResponses": {"M": {"0": {"Return": 1}, "2": {"Return": 2}}},
            },
            "Inconsistent event numbering",
        ),
    ],
)
def test_invalid_mock_configs_are_reported(config: dict[str, Any], message: str) -> None:
    with pytest.raises(MockConfigError, match=re.escape(message)):
        use_mock_config(config)


# ---------------------------------------------------------------------------- DynamoDB


def _dynamodb_table(name: str = "jobs") -> Any:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb


#: Every AttributeValue type, nested and empty, as a client writes them.
EVERY_TYPE_ITEM: dict[str, Any] = {
    "id": {"S": "every-type"},
    "text": {"S": "héllo"},
    "blank": {"S": ""},
    "number": {"N": "1.5"},
    "binary": {"B": b"\x00\xffbytes"},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "binaries": {"BS": [b"\x01", b"\x02\x03"]},
    "yes": {"BOOL": True},
    "no": {"BOOL": False},
    "nothing": {"NULL": True},
    "empty_map": {"M": {}},
    "empty_list": {"L": []},
    "nested": {
        "M": {
            "entities": {
                "L": [
                    {"M": {"text": {"S": "Acme"}, "score": {"N": "0.99"}}},
                    {"L": [{"B": b"\x04"}, {"NULL": True}, {"SS": ["x"]}]},
                ]
            },
            "flag": {"BOOL": False},
        }
    },
}


def _every_type_responses(dynamodb: Any) -> list[Any]:
    """GetItem, Query, Scan and UpdateItem's ALL_NEW of an item holding every type."""
    dynamodb.put_item(TableName="jobs", Item=EVERY_TYPE_ITEM)
    key = {"id": EVERY_TYPE_ITEM["id"]}
    answers = [
        dynamodb.get_item(TableName="jobs", Key=key),
        dynamodb.query(
            TableName="jobs",
            KeyConditionExpression="id = :id",
            ExpressionAttributeValues={":id": EVERY_TYPE_ITEM["id"]},
        ),
        dynamodb.scan(TableName="jobs"),
        dynamodb.update_item(
            TableName="jobs",
            Key=key,
            UpdateExpression="SET #number = :n",
            ExpressionAttributeNames={"#number": "number"},
            ExpressionAttributeValues={":n": {"N": "1.5"}},
            ReturnValues="ALL_NEW",
        ),
    ]
    for answer in answers:
        answer.pop("ResponseMetadata")
    return answers


@pytest.mark.canary
def test_canary_attribute_values_are_serialized_member_by_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-attribute-values-serialized-
    directly."""
    dynamodb = _dynamodb_table()
    dynamodb.put_item(TableName="jobs", Item=EVERY_TYPE_ITEM)
    picked: list[str] = []
    original = XFormedAttributePicker.__call__
    monkeypatch.setattr(
        XFormedAttributePicker,
        "__call__",
        lambda self, context: (picked.append(context.key), original(self, context))[1],
    )
    with engine_fixes_reverted("dynamodb-attribute-values-serialized-directly"):
        dynamodb.get_item(TableName="jobs", Key={"id": EVERY_TYPE_ITEM["id"]})

    # Each of the item's 23 values (14 attributes, 9 nested in them) was asked for each of
    # the ten members, BOOL among them.
    assert picked.count("BOOL") == 23


def test_every_attribute_value_type_reads_back_as_written() -> None:
    dynamodb = _dynamodb_table()

    get, query, scan, update = _every_type_responses(dynamodb)

    assert get["Item"] == EVERY_TYPE_ITEM
    assert query["Items"] == [EVERY_TYPE_ITEM]
    assert scan["Items"] == [EVERY_TYPE_ITEM]
    assert update["Attributes"] == EVERY_TYPE_ITEM


def test_attribute_values_are_answered_as_moto_serializes_them() -> None:
    dynamodb = _dynamodb_table()
    direct = _every_type_responses(dynamodb)

    with engine_fixes_reverted("dynamodb-attribute-values-serialized-directly"):
        by_model = _every_type_responses(dynamodb)

    assert direct == by_model


@pytest.mark.canary
def test_canary_every_node_of_a_result_is_asked_what_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-results-walked-as-json."""
    dynamodb = _dynamodb_table()
    dynamodb.put_item(TableName="jobs", Item=EVERY_TYPE_ITEM)
    asked: list[str] = []
    original = dynamodb_utilities.dynamo_to_dict
    monkeypatch.setattr(
        dynamodb_utilities,
        "dynamo_to_dict",
        lambda value: (isinstance(value, str) and asked.append(value), original(value))[1],
    )
    with engine_fixes_reverted("dynamodb-results-walked-as-json"):
        dynamodb.get_item(TableName="jobs", Key={"id": EVERY_TYPE_ITEM["id"]})

    # Every string of the item's JSON (its "S" values among them) was a call of its own.
    assert "Acme" in asked


def _batch_and_transaction_reads(dynamodb: Any) -> list[Any]:
    key = {"id": EVERY_TYPE_ITEM["id"]}
    answers = [
        dynamodb.batch_get_item(RequestItems={"jobs": {"Keys": [key]}}),
        dynamodb.transact_get_items(TransactItems=[{"Get": {"TableName": "jobs", "Key": key}}]),
    ]
    for answer in answers:
        answer.pop("ResponseMetadata")
    return answers


def _wire(value: Any) -> Any:
    """An AttributeValue as a client sends it: binary values in base64."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


#: Items as a raw HTTP client may send them: moto's parser takes what botocore would refuse.
ODD_ITEMS: list[dict[str, Any]] = [
    {"a": {"S": None}},
    {"a": {"S": "x", "N": "1"}},
    {"a": {"X": "unknown"}},
    {"a": {"SS": "not a list"}},
    {"a": {"M": [{"S": "x"}]}},
    {"a": {"L": {"b": {"S": "x"}}}},
    {"a": {"M": {"b": None, "c": {"S": "x"}}}},
    {"a": {"L": [{"S": "x"}, {"N": "1", "S": "y"}]}},
    {"a": {"NS": [1, 2]}, "b": {"BOOL": "yes"}, "c": {"S": 5}},
    {"a": None, "b": "not a value", "c": []},
]


def _parsed_requests() -> list[Any]:
    model = boto3.session.Session().client("dynamodb", region_name=REGION).meta.service_model
    parsed: list[Any] = []
    for operation, body in [
        ("PutItem", {"TableName": "jobs", "Item": _wire(EVERY_TYPE_ITEM)}),
        *[("PutItem", {"TableName": "jobs", "Item": item}) for item in ODD_ITEMS],
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "jobs", "Item": _wire(EVERY_TYPE_ITEM)}},
                    {
                        "Update": {
                            "TableName": "jobs",
                            "Key": {"id": {"S": "x"}},
                            "UpdateExpression": "SET a = :a",
                            "ExpressionAttributeValues": {":a": _wire(EVERY_TYPE_ITEM["nested"])},
                        }
                    },
                ]
            },
        ),
    ]:
        parser = JSONParser(model.operation_model(operation), map_type=dict)
        request = {
            "method": "POST",
            "values": {},
            "headers": {},
            "body": json.dumps(body).encode(),
            "url_path": "/",
            "url_params": {},
        }
        try:
            parsed.append(parser.parse(request))  # type: ignore[arg-type]
        except Exception as error:  # moto's parser fails some: the failure is compared
            parsed.append(("raised", type(error).__name__, str(error)))
    return parsed


def test_attribute_values_are_parsed_as_moto_parses_them() -> None:
    direct = _parsed_requests()
    with engine_fixes_reverted("dynamodb-attribute-values-parsed-directly"):
        by_model = _parsed_requests()

    assert direct == by_model
    assert direct[0]["Item"] == EVERY_TYPE_ITEM
    assert direct[1]["Item"] == {"a": {}}  # moto drops a null member
    assert direct[2]["Item"] == {"a": {"S": "x", "N": "1"}}
    assert direct[5][:2] == ("raised", "AttributeError")


def _member_shapes_dispatched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    original = RequestParser._parse_shape
    monkeypatch.setattr(
        RequestParser,
        "_parse_shape",
        lambda self, shape, node: (names.append(shape.name), original(self, shape, node))[1],
    )
    dynamodb = _dynamodb_table()
    dynamodb.put_item(TableName="jobs", Item={"id": {"S": "x"}, "n": {"N": "1"}})
    monkeypatch.undo()
    return names


def test_a_sent_attribute_value_is_parsed_without_its_member_shapes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = _member_shapes_dispatched(monkeypatch)

    assert "AttributeValue" in names
    assert "StringAttributeValue" not in names


@pytest.mark.canary
def test_canary_a_sent_attribute_value_is_parsed_member_by_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-attribute-values-parsed-
    directly."""
    with engine_fixes_reverted("dynamodb-attribute-values-parsed-directly"):
        names = _member_shapes_dispatched(monkeypatch)

    assert "StringAttributeValue" in names


def test_results_walked_as_json_are_moto_s() -> None:
    dynamodb = _dynamodb_table()
    walked = _every_type_responses(dynamodb) + _batch_and_transaction_reads(dynamodb)
    with engine_fixes_reverted("dynamodb-results-walked-as-json"):
        by_moto = _every_type_responses(dynamodb) + _batch_and_transaction_reads(dynamodb)

    assert walked == by_moto
    assert walked[0]["Item"] == EVERY_TYPE_ITEM


def test_a_read_item_is_walked_without_moto_s_function(monkeypatch: pytest.MonkeyPatch) -> None:
    dynamodb = _dynamodb_table()
    dynamodb.put_item(TableName="jobs", Item=EVERY_TYPE_ITEM)
    asked: list[Any] = []
    original = dynamodb_utilities.dynamo_to_dict
    monkeypatch.setattr(
        dynamodb_utilities,
        "dynamo_to_dict",
        lambda value: (asked.append(value), original(value))[1],
    )
    key = {"id": EVERY_TYPE_ITEM["id"]}
    dynamodb.get_item(TableName="jobs", Key=key)
    dynamodb.query(
        TableName="jobs",
        KeyConditionExpression="id = :id",
        ExpressionAttributeValues={":id": EVERY_TYPE_ITEM["id"]},
    )

    # Its attributes come as a dict subclass of DynamoType values, walked here as well.
    assert asked == []


def _items_copied_by_an_update(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch, reverted_fix: str
) -> list[Item]:
    """The items moto deep-copies for one UpdateItem of the stored item, ``reverted_fix`` off."""
    copied: list[Item] = []
    original = Item.__deepcopy__
    monkeypatch.setattr(
        Item, "__deepcopy__", lambda self, memo: (copied.append(self), original(self, memo))[1]
    )
    with engine_fixes_reverted(reverted_fix):
        dynamodb.update_item(
            TableName="jobs",
            Key={"id": EVERY_TYPE_ITEM["id"]},
            UpdateExpression="SET #number = :n",
            ExpressionAttributeNames={"#number": "number"},
            ExpressionAttributeValues={":n": {"N": "2"}},
        )
    return copied


@pytest.mark.canary
def test_canary_an_update_deep_copies_the_stored_item(monkeypatch: pytest.MonkeyPatch) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-update-old-item-not-copied."""
    dynamodb = _dynamodb_table()
    dynamodb.put_item(TableName="jobs", Item=EVERY_TYPE_ITEM)
    copied = _items_copied_by_an_update(
        dynamodb, monkeypatch, "dynamodb-update-old-item-not-copied"
    )

    # The handler's copy for ReturnValues (the stream's old image has a fix of its own).
    assert len(copied) == 1


@pytest.mark.canary
def test_canary_an_update_copies_the_item_for_a_stream_it_may_not_have(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-stream-old-image-not-copied."""
    dynamodb = _dynamodb_table()  # no stream
    dynamodb.put_item(TableName="jobs", Item=EVERY_TYPE_ITEM)
    copied = _items_copied_by_an_update(
        dynamodb, monkeypatch, "dynamodb-stream-old-image-not-copied"
    )

    assert len(copied) == 1


def _stream_images(table: str) -> list[Any]:
    """What a stream with both images records for updates of every kind: of an item with
    every type, nested values changed and removed, a condition that fails, a new item."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    key = {"id": EVERY_TYPE_ITEM["id"]}
    dynamodb.put_item(TableName=table, Item=EVERY_TYPE_ITEM)
    for number in range(2):
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #number = :n, nested.#flag = :flag REMOVE strings",
            ExpressionAttributeNames={"#number": "number", "#flag": "flag"},
            ExpressionAttributeValues={":n": {"N": str(number)}, ":flag": {"BOOL": bool(number)}},
        )
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #number = :n",
            ConditionExpression="attribute_not_exists(id)",
            ExpressionAttributeNames={"#number": "number"},
            ExpressionAttributeValues={":n": {"N": "9"}},
        )
    dynamodb.update_item(
        TableName=table,
        Key={"id": {"S": "new"}},
        UpdateExpression="SET payload = :b",
        ExpressionAttributeValues={":b": {"B": b"\x00\x01"}},
    )
    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table).stream_shard
    return [
        (record["eventName"], {k: v for k, v in record["dynamodb"].items() if k in IMAGES})
        for record in (item.to_json() for item in shard.items)
    ]


IMAGES = ("Keys", "OldImage", "NewImage", "StreamViewType")


def test_stream_records_of_updates_are_moto_s() -> None:
    records = _stream_images("snapshots")
    with engine_fixes_reverted("dynamodb-stream-old-image-not-copied"):
        by_moto = _stream_images("copies")

    assert records == by_moto
    assert [name for name, _ in records[:3]] == ["INSERT", "MODIFY", "MODIFY"]
    assert records[-1] == (
        "INSERT",
        {
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "Keys": {"id": {"S": "new"}},
            "NewImage": {"id": {"S": "new"}, "payload": {"B": b"\x00\x01"}},
        },
    )
    first, second = records[1][1], records[2][1]
    assert first["OldImage"] == EVERY_TYPE_ITEM
    assert second["OldImage"] == first["NewImage"]
    assert second["NewImage"]["nested"]["M"]["flag"] == {"BOOL": True}
    assert "strings" not in second["OldImage"]


def _updates_with_every_return_value(dynamodb: Any) -> list[Any]:
    dynamodb.put_item(TableName="jobs", Item=EVERY_TYPE_ITEM)
    answers = []
    for number, return_values in enumerate(
        ("NONE", "ALL_OLD", "UPDATED_OLD", "UPDATED_NEW", "ALL_NEW")
    ):
        answer = dynamodb.update_item(
            TableName="jobs",
            Key={"id": EVERY_TYPE_ITEM["id"]},
            UpdateExpression="SET #number = :n, nested.#flag = :flag REMOVE strings",
            ExpressionAttributeNames={"#number": "number", "#flag": "flag"},
            ExpressionAttributeValues={":n": {"N": str(number)}, ":flag": {"BOOL": True}},
            ReturnValues=return_values,
        )
        answer.pop("ResponseMetadata")
        answers.append(answer)
    return answers


def test_results_and_update_return_values_are_moto_s() -> None:
    dynamodb = _dynamodb_table()
    answers = _every_type_responses(dynamodb) + _updates_with_every_return_value(dynamodb)

    with engine_fixes_reverted(
        "dynamodb-results-walked-as-json", "dynamodb-update-old-item-not-copied"
    ):
        by_moto = _every_type_responses(dynamodb) + _updates_with_every_return_value(dynamodb)

    assert answers == by_moto
    none, all_old, updated_old, updated_new, all_new = answers[4:]
    assert "Attributes" not in none
    # Each answer is of the item as the update before it left it.
    assert all_old["Attributes"] == {
        **{name: value for name, value in EVERY_TYPE_ITEM.items() if name != "strings"},
        "number": {"N": "0"},
        "nested": {"M": {**EVERY_TYPE_ITEM["nested"]["M"], "flag": {"BOOL": True}}},
    }
    assert updated_old["Attributes"]["number"] == {"N": "1"}
    assert updated_new["Attributes"]["number"] == {"N": "3"}
    assert "strings" not in all_new["Attributes"]


def _every_type_item() -> Item:
    """EVERY_TYPE_ITEM as moto keeps it (binary values in base64, as they come in)."""
    wire = json.loads(json.dumps(EVERY_TYPE_ITEM, default=lambda b: base64.b64encode(b).decode()))
    return Item(DynamoType(wire["id"]), None, wire)


@pytest.mark.canary
def test_canary_item_json_deep_copies_nested_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-json-copied-once."""
    item = _every_type_item()
    copied: list[DynamoType] = []
    original = DynamoType.__deepcopy__
    monkeypatch.setattr(
        DynamoType,
        "__deepcopy__",
        lambda self, memo: (copied.append(self), original(self, memo))[1],
    )

    with engine_fixes_reverted("dynamodb-json-copied-once"):
        item.to_json()

    assert copied


def test_item_json_is_moto_s_and_independent_of_the_item() -> None:
    item = _every_type_item()
    with engine_fixes_reverted("dynamodb-json-copied-once"):
        by_moto = item.to_json()

    written = item.to_json()
    written["Attributes"]["nested"]["M"]["entities"]["L"][1]["L"][2]["SS"].append("changed")
    written["Attributes"]["strings"]["SS"].append("changed")

    assert item.to_json() == by_moto
    assert written != by_moto


@pytest.mark.canary
def test_canary_measuring_a_map_copies_its_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-item-size-without-copies."""
    nested = DynamoType(EVERY_TYPE_ITEM["nested"])
    made: list[object] = []
    original = DynamoType.__init__
    monkeypatch.setattr(
        DynamoType, "__init__", lambda self, value: (made.append(value), original(self, value))[1]
    )

    with engine_fixes_reverted("dynamodb-item-size-without-copies"):
        nested.size()

    assert any(type(value) is DynamoType for value in made)


def test_item_sizes_are_moto_s_and_the_limit_still_holds() -> None:
    item = _every_type_item()
    with engine_fixes_reverted("dynamodb-item-size-without-copies"):
        by_moto = [value.size() for value in item.attrs.values()]
    dynamodb = _dynamodb_table()
    big = {"id": {"S": "big"}, "results": {"M": {f"k{n}": {"S": "x" * 1000} for n in range(410)}}}

    assert [value.size() for value in item.attrs.values()] == by_moto
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        dynamodb.put_item(TableName="jobs", Item=big)


def _puts_near_the_size_limit(dynamodb: Any, prefix: str) -> list[Any]:
    """Items whose attributes cross moto's limit at the first, a middle, the last one or
    not at all, each put and read back (or refused)."""
    answers: list[Any] = []
    for n, sizes in enumerate(
        [
            [404_000],
            [405_000],
            [100_000] * 4,
            [100_000] * 3 + [104_970],  # with names and key: 404,986 bytes
            [100_000] * 3 + [104_990],  # 405,006
            [150_000, 150_000, 150_000, 10],
            [1000] * 50,
        ]
    ):
        item = {"id": {"S": f"{prefix}-{n}"}} | {
            f"a{index}": {"S": "x" * size} for index, size in enumerate(sizes)
        }
        try:
            dynamodb.put_item(TableName="jobs", Item=item)
            stored = dynamodb.get_item(TableName="jobs", Key={"id": item["id"]})["Item"]
            answers.append(sorted((key, len(value["S"])) for key, value in stored.items()))
        except ClientError as error:
            answers.append(error.response["Error"])
    return answers


def test_items_are_built_and_refused_as_moto_builds_them() -> None:
    dynamodb = _dynamodb_table()
    built = _puts_near_the_size_limit(dynamodb, "ours")
    with engine_fixes_reverted("dynamodb-item-built-measuring-each-attribute-once"):
        by_moto = _puts_near_the_size_limit(dynamodb, "moto")

    assert [answer if isinstance(answer, dict) else len(answer) for answer in built] == [
        answer if isinstance(answer, dict) else len(answer) for answer in by_moto
    ]
    refused = [isinstance(answer, dict) for answer in built]
    assert refused == [False, True, False, False, True, True, False]
    assert built[1]["Message"] == "Item size has exceeded the maximum allowed size"


def _sizes_stored(monkeypatch: pytest.MonkeyPatch) -> int:
    stores = {"n": 0}
    original = LimitedSizeDict.__setitem__

    def counted(self: Any, key: str, value: Any) -> None:
        stores["n"] += 1
        original(self, key, value)

    monkeypatch.setattr(LimitedSizeDict, "__setitem__", counted)
    Item(DynamoType({"S": "k"}), None, {f"a{n}": {"S": "x"} for n in range(10)})
    monkeypatch.undo()
    return stores["n"]


def test_an_item_is_built_without_measuring_it_per_attribute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _sizes_stored(monkeypatch) == 0


@pytest.mark.canary
def test_canary_an_item_is_measured_whole_for_each_attribute_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-item-built-measuring-each-
    attribute-once."""
    with engine_fixes_reverted("dynamodb-item-built-measuring-each-attribute-once"):
        assert _sizes_stored(monkeypatch) == 10


@pytest.mark.canary
def test_canary_an_update_expression_is_parsed_on_every_call() -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-update-expressions-parsed-
    once."""
    with engine_fixes_reverted("dynamodb-update-expressions-parsed-once"):
        first = UpdateExpressionParser.make("SET a = :a")
        assert UpdateExpressionParser.make("SET a = :a") is not first


def test_updates_sharing_an_expression_each_apply_their_own_values() -> None:
    dynamodb = _dynamodb_table()
    for job in ("j-1", "j-2", "j-3"):
        dynamodb.update_item(
            TableName="jobs",
            Key={"id": {"S": job}},
            UpdateExpression="SET #s = :s ADD n :one",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": f"done-{job}"}, ":one": {"N": "1"}},
        )
    dynamodb.update_item(
        TableName="jobs",
        Key={"id": {"S": "j-2"}},
        UpdateExpression="SET #s = :s ADD n :one",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "again"}, ":one": {"N": "1"}},
    )
    items = {
        item["id"]["S"]: (item["status"]["S"], item["n"]["N"])
        for item in dynamodb.scan(TableName="jobs")["Items"]
    }

    assert UpdateExpressionParser.make("SET a = :a") is UpdateExpressionParser.make("SET a = :a")
    assert items == {"j-1": ("done-j-1", "1"), "j-2": ("again", "2"), "j-3": ("done-j-3", "1")}
    with pytest.raises(ClientError, match="Invalid UpdateExpression"):
        dynamodb.update_item(
            TableName="jobs",
            Key={"id": {"S": "j-1"}},
            UpdateExpression="SET = :s",
            ExpressionAttributeValues={":s": {"S": "x"}},
        )


@pytest.mark.canary
def test_canary_every_update_deep_copies_its_expression_node_by_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-update-expressions-copied-
    from-a-snapshot."""
    dynamodb = _dynamodb_table()
    copied: list[type] = []

    def spied_copy(self: Node, memo: dict[int, Any]) -> Any:
        copied.append(type(self))
        return copy._reconstruct(self, memo, *self.__reduce_ex__(4))  # type: ignore[attr-defined]

    monkeypatch.setattr(Node, "__deepcopy__", spied_copy, raising=False)
    with engine_fixes_reverted("dynamodb-update-expressions-copied-from-a-snapshot"):
        dynamodb.update_item(
            TableName="jobs",
            Key={"id": {"S": "j-1"}},
            UpdateExpression="SET a = :a",
            ExpressionAttributeValues={":a": {"S": "x"}},
        )

    assert UpdateExpression in copied


#: (expression, values) pairs covering every clause and function, and refusals.
ONE = {"N": "1"}
UPDATES: list[tuple[str, dict[str, Any]]] = [
    ("SET a = :one, b = :list, c = :map", {":one": ONE, ":list": {"L": []}, ":map": {"M": {}}}),
    (
        "SET a = a + :one, b = list_append(b, :list), c.d = :one",
        {":one": ONE, ":list": {"L": [{"S": "x"}]}},
    ),
    (
        "SET e = if_not_exists(e, :one) ADD n :one, s :set",
        {":one": ONE, ":set": {"SS": ["p", "q"]}},
    ),
    ("DELETE s :s REMOVE b[0], c.d", {":s": {"SS": ["p"]}}),
    ("SET a = :missing", {":one": ONE}),
    ("SET a = b + :one", {":one": ONE}),
    ("ADD a :text", {":text": {"S": "not a number"}}),
]


def _apply_updates(
    dynamodb: Any,
    item_id: str,
    updates: list[tuple[str, dict[str, Any]]] = UPDATES,
    names: dict[str, str] | None = None,
) -> list[Any]:
    """Each update's new item (its id left out) or its refusal; ``names`` the expression
    attribute names the updates may use (each gets those it uses)."""
    answers: list[Any] = []
    for expression, values in updates:
        used = {k: v for k, v in (names or {}).items() if k in expression}
        try:
            answer = dynamodb.update_item(
                TableName="jobs",
                Key={"id": {"S": item_id}},
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **({"ExpressionAttributeNames": used} if used else {}),
            )
            answers.append({k: v for k, v in answer["Attributes"].items() if k != "id"})
        except ClientError as error:
            answers.append(error.response["Error"])
    return answers


def test_updates_from_snapshots_of_an_expression_are_moto_s() -> None:
    dynamodb = _dynamodb_table()
    answers = [_apply_updates(dynamodb, "snapshot-1"), _apply_updates(dynamodb, "snapshot-2")]
    with engine_fixes_reverted("dynamodb-update-expressions-copied-from-a-snapshot"):
        by_moto = _apply_updates(dynamodb, "copied")

    assert answers[0] == answers[1] == by_moto
    assert answers[0][3] == {
        "a": {"N": "2"},
        "b": {"L": []},
        "c": {"M": {}},
        "e": ONE,
        "n": ONE,
        "s": {"SS": ["q"]},
    }
    assert [answer.get("Code") for answer in answers[0][4:]] == ["ValidationException"] * 3


#: Expressions each check of moto's validator refuses, and long ones it accepts: the
#: settlement's counters (ADD of a dozen names) and every clause kind at once.
CHECKED_UPDATES: list[tuple[str, dict[str, Any]]] = [
    (
        "ADD " + ", ".join(f"#a{n} :one" for n in range(12)),
        {":one": ONE},
    ),
    (
        "SET a = :one, b = :one, c = :map REMOVE e ADD n :one DELETE s :set",
        {":one": ONE, ":map": {"M": {}}, ":set": {"SS": ["p"]}},
    ),
    ("ADD a :one ADD b :one SET c = :one SET d = :one", {":one": ONE}),
    ("SET c = :one SET d = :one REMOVE e REMOVE f", {":one": ONE}),
    ("SET a = :one, b = :one, a = :one", {":one": ONE}),
    ("SET a.b = :one, a = :one", {":one": ONE}),
    ("SET #a0 = :one, #a0 = :one", {":one": ONE}),
    ("SET id = :text", {":text": {"S": "new key"}}),
    ("SET a = :one, b = :missing", {":one": ONE}),
    (
        "SET a = if_not_exists(q, :one), b = list_append(:list, :list)",
        {":one": ONE, ":list": {"L": [ONE]}},
    ),
]
CHECKED_NAMES = {f"#a{n}": f"counter-{n}" for n in range(12)}


def test_update_expressions_are_checked_as_moto_checks_them() -> None:
    dynamodb = _dynamodb_table()
    dynamodb.put_item(
        TableName="jobs", Item={"id": {"S": "checked"}, "s": {"SS": ["p", "q"]}, "e": ONE}
    )
    dynamodb.put_item(
        TableName="jobs", Item={"id": {"S": "by-moto"}, "s": {"SS": ["p", "q"]}, "e": ONE}
    )
    answers = _apply_updates(dynamodb, "checked", CHECKED_UPDATES, CHECKED_NAMES)
    with engine_fixes_reverted("dynamodb-update-expression-checks-match-node-classes-once"):
        by_moto = _apply_updates(dynamodb, "by-moto", CHECKED_UPDATES, CHECKED_NAMES)

    assert answers == by_moto
    assert answers[0] == {"e": ONE, "s": {"SS": ["p", "q"]}} | {
        f"counter-{n}": ONE for n in range(12)
    }
    assert answers[1]["s"] == {"SS": ["q"]}
    assert "e" not in answers[1]
    refusals = [answer.get("Message", "") for answer in answers[2:9]]
    # moto checks the clauses from the end: the later SETs are found before the ADDs.
    assert 'The "SET" section can only be used once' in refusals[0]
    assert 'The "REMOVE" section can only be used once' in refusals[1]
    assert "path one: [a], path two: [a]" in refusals[2]
    assert "path one: [a, b], path two: [a]" in refusals[3]
    assert "path one: [counter-0], path two: [counter-0]" in refusals[4]
    assert "Cannot update attribute id" in refusals[5]
    assert [answer.get("Code") for answer in answers[2:9]] == ["ValidationException"] * 7


def _count_table_builds(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(walks of the tree by one check, builds of its table) in one UpdateItem."""
    counts = {"walks": 0, "builds": 0}
    check = validators.ActionCountValidator
    table, walk = check._processing_map, check.traverse

    def built(self: Any) -> Any:
        counts["builds"] += 1
        return table(self)

    def walked(self: Any, node: Any) -> Any:
        counts["walks"] += 1
        return walk(self, node)

    monkeypatch.setattr(check, "_processing_map", built)
    monkeypatch.setattr(check, "traverse", walked)
    expression, values = CHECKED_UPDATES[0]
    dynamodb.update_item(
        TableName="jobs",
        Key={"id": {"S": "counted"}},
        UpdateExpression=expression,
        ExpressionAttributeNames=CHECKED_NAMES,
        ExpressionAttributeValues=values,
    )
    monkeypatch.undo()
    return counts["walks"], counts["builds"]


def test_a_check_builds_its_table_of_node_classes_once_per_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dynamodb = _dynamodb_table()

    walks, builds = _count_table_builds(dynamodb, monkeypatch)

    assert walks > 0
    assert builds == walks


@pytest.mark.canary
def test_canary_a_check_rebuilds_its_table_of_node_classes_at_every_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-update-expression-checks-
    match-node-classes-once."""
    dynamodb = _dynamodb_table()
    with engine_fixes_reverted("dynamodb-update-expression-checks-match-node-classes-once"):
        walks, builds = _count_table_builds(dynamodb, monkeypatch)

    assert builds > 12 * walks


def _reserved_word_answers(dynamodb: Any) -> list[Any]:
    answers: list[Any] = []
    for kwargs in [
        {"UpdateExpression": "SET status = :v"},
        {"UpdateExpression": "SET updated_at = :v"},
        {"UpdateExpression": "SET #s = :v", "ExpressionAttributeNames": {"#s": "status"}},
        {"UpdateExpression": "SET a = :v", "ConditionExpression": "attribute_not_exists(name)"},
        {"UpdateExpression": "SET a = :v", "ConditionExpression": "attribute_not_exists(nom)"},
    ]:
        try:
            dynamodb.update_item(
                TableName="jobs",
                Key={"id": {"S": "reserved"}},
                ExpressionAttributeValues={":v": {"S": "x"}},
                **kwargs,
            )
            answers.append("ok")
        except ClientError as error:
            answers.append(error.response["Error"])
    return answers


def test_reserved_words_are_refused_as_moto_refuses_them() -> None:
    dynamodb = _dynamodb_table()
    answers = _reserved_word_answers(dynamodb)
    with engine_fixes_reverted("dynamodb-reserved-words-looked-up-in-a-set"):
        by_moto = _reserved_word_answers(dynamodb)

    assert answers == by_moto
    assert answers[1:3] == ["ok", "ok"]
    assert answers[4] == "ok"
    assert "reserved keyword: status" in answers[0]["Message"]
    assert "reserved keyword: name" in answers[3]["Message"]


@pytest.mark.canary
def test_canary_reserved_words_are_a_list() -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-reserved-words-looked-up-
    in-a-set."""
    with engine_fixes_reverted("dynamodb-reserved-words-looked-up-in-a-set"):
        assert type(ReservedKeywords.get_reserved_keywords()) is list


def _create_pair(dynamodb: Any, job_id: str, token: str) -> None:
    """A job and its idempotency record, created together or not at all (as POST /jobs)."""
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": "jobs",
                    "Item": {"id": {"S": job_id}},
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            },
            {
                "Put": {
                    "TableName": "jobs",
                    "Item": {"id": {"S": f"token#{token}"}, "job": {"S": job_id}},
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            },
        ]
    )


@pytest.mark.canary
def test_canary_a_transaction_deep_copies_the_tables_it_touches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.dynamodb import models as dynamodb_models

    dynamodb = _dynamodb_table()
    copied: list[str] = []
    original = dynamodb_models.copy.deepcopy
    monkeypatch.setattr(
        dynamodb_models.copy,
        "deepcopy",
        lambda value, *a: (copied.append(type(value).__name__), original(value, *a))[1],
    )
    with engine_fixes_reverted("dynamodb-transactions"):
        _create_pair(dynamodb, "j-1", "t-1")

    assert "Table" in copied


def _add_twice(dynamodb: Any) -> dict[str, Any]:
    """Two ADDs whose sum is 0.00000000 (a reservation released), then one more."""
    key = {"id": {"S": "counter"}}
    for amount in ("0.00012345", "-0.00012345", "0.0000001"):
        dynamodb.update_item(
            TableName="jobs",
            Key=key,
            UpdateExpression="ADD amount :a",
            ExpressionAttributeValues={":a": {"N": amount}},
        )
    return dynamodb.get_item(TableName="jobs", Key=key)["Item"]


@pytest.mark.canary
def test_canary_an_add_after_a_sum_of_zero_decimals_fails() -> None:
    dynamodb = _dynamodb_table()

    with engine_fixes_reverted("dynamodb-number-arithmetic"), pytest.raises(ValueError):
        _add_twice(dynamodb)


def test_decimals_added_to_zero_and_beyond_keep_adding() -> None:
    dynamodb = _dynamodb_table()

    assert _add_twice(dynamodb)["amount"] == {"N": "0.0000001"}


def test_a_cancelled_transaction_writes_nothing_and_says_which_item_failed() -> None:
    dynamodb = _dynamodb_table()
    _create_pair(dynamodb, "j-1", "t-1")

    with pytest.raises(ClientError) as raised:
        _create_pair(dynamodb, "j-2", "t-1")  # the same idempotency token

    reasons = [reason["Code"] for reason in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert "Item" not in dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-2"}})
    token = dynamodb.get_item(TableName="jobs", Key={"id": {"S": "token#t-1"}})["Item"]
    assert token["job"] == {"S": "j-1"}


def _read_while_another_thread_updates(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """GetItem of a running job, with a cancel (UpdateItem) from another thread arriving
    while the read builds its answer; returns what the read saw."""
    from moto.dynamodb import responses as dynamodb_responses

    dynamodb = _dynamodb_table()
    key = {"id": {"S": "j-1"}}
    dynamodb.put_item(TableName="jobs", Item={**key, "status": {"S": "RUNNING"}})
    updated = threading.Event()

    def cancel() -> None:
        dynamodb.update_item(
            TableName="jobs",
            Key=key,
            UpdateExpression="SET #s = :s, cancelled_at = :t",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "CANCELLED"}, ":t": {"S": "now"}},
        )
        updated.set()

    original = dynamodb_responses.DynamoResult.__init__
    writer = threading.Thread(target=cancel)

    def answer(self: Any, result: object) -> None:
        if not writer.is_alive() and not updated.is_set():
            writer.start()
            updated.wait(timeout=1)  # the update, if nothing holds it back
        original(self, result)

    monkeypatch.setattr(dynamodb_responses.DynamoResult, "__init__", answer)
    seen = dynamodb.get_item(TableName="jobs", Key=key)["Item"]
    writer.join()
    monkeypatch.undo()
    assert dynamodb.get_item(TableName="jobs", Key=key)["Item"]["status"] == {"S": "CANCELLED"}
    return dict(seen)


@pytest.mark.canary
def test_canary_a_read_sees_an_item_changed_under_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with engine_fixes_reverted("dynamodb-transactions"):
        seen = _read_while_another_thread_updates(monkeypatch)

    assert seen["status"] == {"S": "CANCELLED"}


def test_a_read_sees_a_whole_item_while_another_thread_updates_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _read_while_another_thread_updates(monkeypatch)

    assert seen == {"id": {"S": "j-1"}, "status": {"S": "RUNNING"}}


def _while_a_read_of_jobs_is_held(
    monkeypatch: pytest.MonkeyPatch, request: Any, hold_for: float
) -> bool:
    """Run ``request`` from another thread while a GetItem on the jobs table is in progress
    (up to ``hold_for`` seconds, or until the request is done); True if the request finished
    before that read did."""
    from moto.dynamodb import responses as dynamodb_responses

    dynamodb = _dynamodb_table()
    _dynamodb_table("connections")
    dynamodb.put_item(TableName="jobs", Item={"id": {"S": "j-1"}})
    reading, done = threading.Event(), threading.Event()
    original = dynamodb_responses.DynamoResult.__init__

    def slow_answer(self: Any, result: object) -> None:
        if threading.current_thread() is threading.main_thread():
            reading.set()
            done.wait(timeout=hold_for)
        original(self, result)

    def other() -> None:
        reading.wait(timeout=10)
        request(dynamodb)
        done.set()

    monkeypatch.setattr(dynamodb_responses.DynamoResult, "__init__", slow_answer)
    thread = threading.Thread(target=other)
    thread.start()
    dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})
    finished_first = done.is_set()
    thread.join()
    return finished_first


def test_a_request_on_another_table_does_not_wait_for_one_in_progress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def write_a_connection(dynamodb: Any) -> None:
        dynamodb.put_item(TableName="connections", Item={"id": {"S": "c-1"}})

    # Generous: the read ends as soon as the write is done.
    assert _while_a_read_of_jobs_is_held(monkeypatch, write_a_connection, hold_for=30)


@pytest.mark.parametrize(
    "request_on_jobs",
    [
        lambda dynamodb: dynamodb.put_item(TableName="jobs", Item={"id": {"S": "j-2"}}),
        lambda dynamodb: dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "connections", "Item": {"id": {"S": "c-2"}}}},
                {"Put": {"TableName": "jobs", "Item": {"id": {"S": "j-3"}}}},
            ]
        ),
        lambda dynamodb: dynamodb.batch_write_item(
            RequestItems={"jobs": [{"PutRequest": {"Item": {"id": {"S": "j-4"}}}}]}
        ),
        lambda dynamodb: dynamodb.list_tables(),
    ],
    ids=["put", "transaction", "batch", "no table named"],
)
def test_a_request_on_the_same_table_waits_for_one_in_progress(
    monkeypatch: pytest.MonkeyPatch, request_on_jobs: Any
) -> None:
    assert not _while_a_read_of_jobs_is_held(monkeypatch, request_on_jobs, hold_for=0.5)


def test_transactions_and_writes_from_many_threads_all_land() -> None:
    dynamodb = _dynamodb_table()
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(40):
                _create_pair(dynamodb, f"j-{worker}-{n}", f"t-{worker}-{n}")
                dynamodb.put_item(TableName="jobs", Item={"id": {"S": f"p-{worker}-{n}"}})
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    scanned = dynamodb.get_paginator("scan").paginate(TableName="jobs", Select="COUNT")
    assert sum(page["Count"] for page in scanned) == 8 * 40 * 3


# ---------------------------------------------------------------------------- Retention


def _replaced_item_is_alive() -> bool:
    """Put an item, then another with the same key: is the first still in memory?"""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="kept",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="kept", Item={"id": {"S": "1"}, "v": {"S": "first"}})
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table("kept")
    first = weakref.ref(table.items[next(iter(table.items))])
    dynamodb.put_item(TableName="kept", Item={"id": {"S": "1"}, "v": {"S": "second"}})
    gc.collect()
    return first() is not None


@pytest.mark.canary
def test_canary_every_model_instance_is_kept_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    """If this fails, moto fixed it upstream: delete fix model-instances-weak."""
    with engine_fixes_reverted("model-instances-weak"):
        monkeypatch.setattr(Item, "instances_tracked", [])  # moto's own list, as at import
        assert _replaced_item_is_alive()


def test_a_replaced_item_is_freed_and_live_items_are_still_tracked() -> None:
    assert not _replaced_item_is_alive()
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table("kept")
    assert table.items[next(iter(table.items))] in list(Item.instances_tracked)


def _connections_come_and_go() -> tuple[Any, Any]:
    """A table with a sort key: look up missing items, put and delete another; the client
    and the table's model."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="connections",
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
    for n in range(5):
        key = {"pk": {"S": f"conn#{n}"}, "sk": {"S": "meta"}}
        assert "Item" not in dynamodb.get_item(TableName="connections", Key=key)
        dynamodb.put_item(TableName="connections", Item={**key, "n": {"N": str(n)}})
        dynamodb.delete_item(TableName="connections", Key=key)
        assert "Item" not in dynamodb.get_item(TableName="connections", Key=key)
    return dynamodb, dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table("connections")


@pytest.mark.canary
def test_canary_missing_and_deleted_items_leave_empty_partitions() -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-empty-partitions-dropped."""
    with engine_fixes_reverted("dynamodb-empty-partitions-dropped"):
        _, table = _connections_come_and_go()
        assert len(table.items) == 5


def test_items_that_come_and_go_leave_no_partition_and_the_others_stay() -> None:
    dynamodb, table = _connections_come_and_go()
    kept = {"pk": {"S": "conn#0"}, "sk": {"S": "meta"}}
    dynamodb.put_item(TableName="connections", Item={**kept, "n": {"N": "0"}})
    assert "Item" not in dynamodb.get_item(
        TableName="connections", Key={"pk": {"S": "conn#0"}, "sk": {"S": "other"}}
    )

    assert list(table.items) == [table.get_item(*_key(kept)).hash_key]
    assert dynamodb.get_item(TableName="connections", Key=kept)["Item"]["n"] == {"N": "0"}
    assert dynamodb.scan(TableName="connections")["Count"] == 1


def _key(key: dict[str, Any]) -> tuple[DynamoType, DynamoType]:
    return DynamoType(key["pk"]), DynamoType(key["sk"])


def _publish_to_a_queue(messages: int) -> tuple[Any, list[str]]:
    """A topic with a queue subscribed; publish; the topic's model and what the queue got."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="events")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="listener")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    for n in range(messages):
        sns.publish(TopicArn=topic_arn, Message=f"m{n}")
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    return sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[topic_arn], [m["Body"] for m in received]


@pytest.mark.canary
def test_canary_every_published_message_is_kept() -> None:
    """If this fails, moto fixed it upstream: delete fix sns-messages-not-kept."""
    with engine_fixes_reverted("sns-messages-not-kept"):
        topic, _ = _publish_to_a_queue(3)
        assert len(topic.sent_notifications) == 3


def test_published_messages_are_delivered_and_not_kept() -> None:
    topic, received = _publish_to_a_queue(3)

    assert sorted(received) == ["m0", "m1", "m2"]
    assert len(topic.sent_notifications) == 0


SLOW_PASS = {
    "StartAt": "W",
    "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"done": True}, "End": True},
    },
}


def _finished_express_execution() -> str:
    arn = create(CHILD, name="express", type_="EXPRESS")
    execution_arn = sfn().start_execution(stateMachineArn=arn, input='{"a": 1}')["executionArn"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if sfn().describe_execution(executionArn=execution_arn)["status"] != "RUNNING":
                return execution_arn
        except ClientError:
            return execution_arn  # finished and dropped
        time.sleep(0.005)
    raise AssertionError(f"{execution_arn} still running")


@pytest.mark.canary
def test_canary_a_finished_express_execution_is_kept() -> None:
    """If this fails, moto fixed it upstream: delete fix express-executions-not-kept."""
    with engine_fixes_reverted("express-executions-not-kept"):
        execution_arn = _finished_express_execution()
        assert sfn().describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED"


@pytest.mark.parametrize("operation", ["DescribeExecution", "GetExecutionHistory"])
def test_a_finished_express_execution_is_not_found_as_on_aws(operation: str) -> None:
    execution_arn = _finished_express_execution()
    call = getattr(sfn(), re.sub(r"(?<!^)([A-Z])", r"_\1", operation).lower())

    with pytest.raises(ClientError) as raised:
        call(executionArn=execution_arn)

    code = raised.value.response["Error"]["Code"]
    assert code == "ExecutionDoesNotExist"
    errors = sfn().meta.service_model.operation_model(operation).error_shapes
    assert code in {shape.name for shape in errors}


def test_a_finished_express_execution_is_not_listed() -> None:
    execution_arn = _finished_express_execution()
    listed = sfn().list_executions(
        stateMachineArn=execution_arn.rsplit(":", 1)[0].replace(":execution:", ":stateMachine:")
    )["executions"]
    assert listed == []


def test_a_finished_standard_execution_is_kept() -> None:
    described = run(CHILD, {"a": 1}, name="standard")
    assert sfn().describe_execution(executionArn=described["executionArn"])["status"] == (
        "SUCCEEDED"
    )
    assert history(described["executionArn"])


def test_a_finished_express_execution_is_told_with_its_output_and_history() -> None:
    seen: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    stop = on_express_finished(lambda described, history: seen.append((described, history())))
    try:
        execution_arn = _finished_express_execution()
    finally:
        stop()

    ((described, events),) = seen
    assert described["executionArn"] == execution_arn
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"got": 1}
    assert events[0]["type"] == "ExecutionStarted"
    assert events[-1]["type"] == "ExecutionSucceeded"


@pytest.mark.parametrize(("suffix", "child"), [(".sync", SLOW_PASS), (".sync:2", CHILD)])
def test_a_sync_parent_reads_its_express_child_which_is_dropped_after(
    suffix: str, child: dict[str, Any]
) -> None:
    child_arn = create(child, name="express-child", type_="EXPRESS")

    result = output(run(start_child(child_arn, suffix), name="parent"))

    assert result["Status"] == "SUCCEEDED"
    with pytest.raises(ClientError) as raised:
        sfn().describe_execution(executionArn=result["ExecutionArn"])
    assert raised.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


def test_a_sync_parent_sees_its_failed_express_child_fail() -> None:
    child_arn = create(FAILING_CHILD, name="express-child", type_="EXPRESS")

    described = run(start_child(child_arn, ".sync"), name="parent")

    assert described["status"] == "FAILED"
    assert described["error"] == "States.TaskFailed"


def _streamed_table(name: str) -> Any:
    """A table with a stream (no consumer: moto keeps its records in the shard's buffer)."""
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(name)


def _put(table_name: str, key: str) -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=table_name, Item={"id": {"S": key}}
    )


def _numbers_of_records_taken_one_by_one() -> list[str]:
    """Put three items; after each, a mapping takes the shard's records (moto empties the
    buffer when one does): the sequence numbers the records had."""
    table = _streamed_table("numbered")
    numbers = []
    for key in ("a", "b", "c"):
        _put("numbered", key)
        buffered = table.stream_shard.items
        numbers += [record.record["dynamodb"]["SequenceNumber"] for record in buffered]
        table.stream_shard.items = []
    return numbers


@pytest.mark.canary
def test_canary_records_taken_by_a_mapping_share_one_sequence_number() -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-stream-sequence-numbers."""
    with engine_fixes_reverted("dynamodb-stream-sequence-numbers"):
        assert len(set(_numbers_of_records_taken_one_by_one())) == 1


def test_each_stream_record_has_its_own_increasing_sequence_number() -> None:
    numbers = _numbers_of_records_taken_one_by_one()
    assert len(numbers) == 3
    # The DynamoDB Streams API reference: digits only, 21 to 40 of them, growing in a shard.
    assert all(number.isdigit() and 21 <= len(number) <= 40 for number in numbers)
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})


def test_get_records_reads_by_sequence_number_after_a_mapping_took_records() -> None:
    # moto's DynamoDB Streams backend (its endpoint is not reachable through boto3: the
    # request goes to DynamoDB's handler, "Not yet implemented").
    table = _streamed_table("read")
    streams = dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][REGION]
    arn = table.describe(base_key="Table")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(arn)["Shards"][0]["ShardId"]

    def iterator(kind: str, number: str | None = None) -> str:
        return streams.get_shard_iterator(arn, shard, kind, number and int(number)).arn

    def read(iterator_arn: str) -> tuple[list[str], list[str], str]:
        answer = streams.get_records(iterator_arn, 1000)
        records = answer["Records"]
        keys = [record["dynamodb"]["Keys"]["id"]["S"] for record in records]
        numbers = [record["dynamodb"]["SequenceNumber"] for record in records]
        return keys, numbers, answer["NextShardIterator"]

    for key in ("a", "b", "c"):
        _put("read", key)
    keys, numbers, following = read(iterator("TRIM_HORIZON"))
    assert keys == ["a", "b", "c"]
    assert read(iterator("AFTER_SEQUENCE_NUMBER", numbers[0]))[0] == ["b", "c"]
    assert read(following)[0] == []

    table.stream_shard.items = []  # as when a mapping takes the records
    latest = iterator("LATEST")
    _put("read", "d")
    _put("read", "e")
    assert read(latest)[0] == ["d", "e"]
    assert read(following)[0] == ["d", "e"]
    later = read(latest)[1]
    assert int(later[0]) > int(numbers[-1])
    assert read(iterator("AT_SEQUENCE_NUMBER", later[1]))[0] == ["e"]
