"""Engine fixes found by running other people's apps (tests/corpus): each with its canary
(`pytest -m canary`), which runs the scenario unpatched and asserts moto still differs."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from aigw.local.engine import apply_engine_fixes, engine_fixes_reverted, set_time_scale
from aigw.local.engine.context_object import aws_timestamp

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sfn"
AWS_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    apply_engine_fixes()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    set_time_scale(1.0)


def sfn() -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


def run(definition: dict[str, Any], payload: Any = None) -> dict[str, Any]:
    arn = sfn().create_state_machine(
        name=f"m{abs(hash(json.dumps(definition))) % 10**8}",
        definition=json.dumps(definition),
        roleArn=ROLE,
    )["stateMachineArn"]
    execution = sfn().start_execution(stateMachineArn=arn, input=json.dumps(payload or {}))
    deadline = time.monotonic() + 30  # returns as soon as the execution ends
    while time.monotonic() < deadline:
        described = sfn().describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise AssertionError(f"{execution['executionArn']} still running after 30 s")


CONTEXT_TIMES = {
    "StartAt": "Times",
    "States": {
        "Times": {
            "Type": "Pass",
            "Parameters": {
                "started.$": "$$.Execution.StartTime",
                "entered.$": "$$.State.EnteredTime",
            },
            "End": True,
        }
    },
}


def test_context_object_timestamps_have_aws_format() -> None:
    """Given a state reading $$.Execution.StartTime and $$.State.EnteredTime, then both are
    ISO 8601 UTC with milliseconds and Z, as the Step Functions guide shows them."""
    output = json.loads(run(CONTEXT_TIMES)["output"])
    assert AWS_TIMESTAMP.match(output["started"]), output
    assert AWS_TIMESTAMP.match(output["entered"]), output
    assert output["started"] <= output["entered"]


@pytest.mark.canary
def test_canary_context_object_timestamps_are_python_datetimes() -> None:
    """If this fails, moto fixed it upstream: delete fix context-object-timestamps."""
    entered_only = {**CONTEXT_TIMES, "States": {"Times": {**CONTEXT_TIMES["States"]["Times"]}}}
    entered_only["States"]["Times"]["Parameters"] = {"entered.$": "$$.State.EnteredTime"}
    with engine_fixes_reverted("context-object-timestamps"):
        entered = json.loads(run(entered_only)["output"])["entered"]
        # StartTime is the datetime object itself: the output cannot even be described.
        with pytest.raises(TypeError, match="datetime is not JSON serializable"):
            run(CONTEXT_TIMES)
    assert entered.endswith("+00:00")


def test_aws_timestamp_keeps_milliseconds_and_converts_to_utc() -> None:
    assert aws_timestamp("2026-01-02T03:04:05.678901+01:00") == "2026-01-02T02:04:05.678Z"


WAITING = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def _start(definition: dict[str, Any]) -> str:
    arn = sfn().create_state_machine(
        name=f"w{abs(hash(json.dumps(definition))) % 10**8}",
        definition=json.dumps(definition),
        roleArn=ROLE,
    )["stateMachineArn"]
    return sfn().start_execution(stateMachineArn=arn)["executionArn"]


def _until_waiting(execution: str) -> None:
    deadline = time.monotonic() + 30
    while not any(
        event["type"] == "WaitStateEntered"
        for event in sfn().get_execution_history(executionArn=execution)["events"]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_stop_execution_aborts_at_once_with_its_date_error_and_cause() -> None:
    """Given a waiting execution, when it is stopped with an error and cause, then the call
    answers its stopDate and the execution is ABORTED at once, the event carrying both."""
    execution = _start(WAITING)
    _until_waiting(execution)
    stopped = sfn().stop_execution(executionArn=execution, error="Cancelled", cause="asked")
    described = sfn().describe_execution(executionArn=execution)
    last = sfn().get_execution_history(executionArn=execution, reverseOrder=True, maxResults=1)

    assert described["status"] == "ABORTED"
    assert described["stopDate"] == stopped["stopDate"]
    assert last["events"][0]["type"] == "ExecutionAborted"
    assert last["events"][0]["executionAbortedEventDetails"] == {
        "error": "Cancelled",
        "cause": "asked",
    }


def test_an_execution_stopped_as_it_starts_records_its_abort() -> None:
    """Given executions stopped the moment they start (a job cancelled right after submit),
    then each is ABORTED and its history ends with ExecutionAborted, as on AWS. A stop that
    landed just before the program's first step used to skip the program and leave the
    history at ExecutionStarted (about one stop in ten, far more on a loaded machine)."""
    arn = sfn().create_state_machine(
        name="stopped-at-start", definition=json.dumps(WAITING), roleArn=ROLE
    )["stateMachineArn"]
    for _ in range(30):
        execution = sfn().start_execution(stateMachineArn=arn)["executionArn"]
        sfn().stop_execution(executionArn=execution, error="Cancelled", cause="at once")
        last = sfn().get_execution_history(executionArn=execution, reverseOrder=True, maxResults=1)[
            "events"
        ][0]

        assert sfn().describe_execution(executionArn=execution)["status"] == "ABORTED"
        assert last["type"] == "ExecutionAborted"
        assert last["executionAbortedEventDetails"] == {"error": "Cancelled", "cause": "at once"}


@pytest.mark.canary
def test_canary_stop_execution_answers_before_stopping_and_drops_error() -> None:
    """If this fails, moto fixed it upstream: delete fix stop-execution."""
    with engine_fixes_reverted("stop-execution"):
        execution = _start(WAITING)
        _until_waiting(execution)  # unpatched, a stop this early can crash in moto
        stopped = sfn().stop_execution(executionArn=execution, error="Cancelled", cause="x")
        deadline = time.monotonic() + 30
        while sfn().describe_execution(executionArn=execution)["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        last = sfn().get_execution_history(executionArn=execution, reverseOrder=True)
    assert "stopDate" not in stopped
    aborted = next(e for e in last["events"] if e["type"] == "ExecutionAborted")
    assert aborted.get("executionAbortedEventDetails", {}).get("error") in (None, "")


def test_execution_history_comes_in_pages_in_either_order() -> None:
    """Given a finished execution, then maxResults pages it with a nextToken, reverseOrder
    gives newest first, and boto3's paginator reads every event once."""
    execution = _start({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    deadline = time.monotonic() + 30
    while sfn().describe_execution(executionArn=execution)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first = sfn().get_execution_history(executionArn=execution, maxResults=2)
    rest = sfn().get_execution_history(
        executionArn=execution, maxResults=2, nextToken=first["nextToken"]
    )
    newest = sfn().get_execution_history(executionArn=execution, reverseOrder=True, maxResults=1)
    paged = [
        event["id"]
        for page in sfn()
        .get_paginator("get_execution_history")
        .paginate(executionArn=execution, PaginationConfig={"PageSize": 1})
        for event in page["events"]
    ]
    bare = sfn().get_execution_history(executionArn=execution, includeExecutionData=False)

    assert [e["id"] for e in first["events"]] == [1, 2]
    assert [e["id"] for e in rest["events"]] == [3, 4]
    assert newest["events"][0]["type"] == "ExecutionSucceeded"
    assert paged == [1, 2, 3, 4]  # started, Pass entered and exited, succeeded
    assert "input" not in bare["events"][0]["executionStartedEventDetails"]
    with pytest.raises(sfn().exceptions.InvalidToken):
        sfn().get_execution_history(executionArn=execution, nextToken="not-a-token")


@pytest.mark.canary
def test_canary_execution_history_is_one_page_oldest_first() -> None:
    """If this fails, moto fixed it upstream: delete fix execution-history-pages."""
    execution = _start({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    time.sleep(0.5)
    with engine_fixes_reverted("execution-history-pages"):
        page = sfn().get_execution_history(executionArn=execution, maxResults=1, reverseOrder=True)
    assert len(page["events"]) > 1 and page["events"][0]["type"] == "ExecutionStarted"


@pytest.mark.canary
def test_canary_apigateway_invoke_keeps_only_endpoint_and_method() -> None:
    """If this fails, moto fixed it upstream: revisit fix apigateway-invoke-local (its Stage,
    Path and QueryParameters would then reach the engine's own call)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_api_gateway as api_gateway_task,
    )

    with engine_fixes_reverted("apigateway-invoke-local"):
        bindings = api_gateway_task.StateTaskServiceApiGateway._SUPPORTED_API_PARAM_BINDINGS
        assert set().union(*bindings.values()) == {"ApiEndpoint", "Method"}


def _distributed(tolerated: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Ok"}],
                            "Default": "Bad",
                        },
                        "Ok": {"Type": "Succeed"},
                        "Bad": {"Type": "Fail", "Error": "Bad"},
                    },
                },
                **tolerated,
                "End": True,
            }
        },
    }


ITEMS = {"items": [{"ok": True}, {"ok": False}, {"ok": True}]}


def _run_items(definition: dict[str, Any]) -> dict[str, Any]:
    definition["States"]["Each"]["ItemsPath"] = "$.items"
    return run(definition, ITEMS)


def test_a_distributed_map_fails_past_its_tolerated_failures() -> None:
    """Given one failing item of three, then a Map tolerating 50% (written as an integer)
    succeeds and one tolerating nothing fails with States.ExceedToleratedFailureThreshold."""
    tolerant = _run_items(_distributed({"ToleratedFailurePercentage": 50}))
    strict = _run_items(_distributed({}))

    assert tolerant["status"] == "SUCCEEDED"
    assert strict["status"] == "FAILED"
    assert strict["error"] == "States.ExceedToleratedFailureThreshold"


@pytest.mark.canary
def test_canary_integer_tolerated_percentage_is_a_parse_error() -> None:
    """If this fails, moto fixed it upstream: delete fix tolerated-failure-integer."""
    from botocore.exceptions import ClientError

    with (
        engine_fixes_reverted("tolerated-failure-integer"),
        pytest.raises(ClientError, match="ToleratedFailurePercentage"),
    ):
        _run_items(_distributed({"ToleratedFailurePercentage": 50}))


@pytest.mark.canary
def test_canary_failed_items_never_fail_a_distributed_map() -> None:
    """If this fails, moto fixed it upstream: delete fix tolerated-failure-threshold."""
    with engine_fixes_reverted("tolerated-failure-threshold"):
        described = _run_items(_distributed({}))
    assert described["status"] == "SUCCEEDED"


def _batched(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A Distributed Map over $.items whose child returns its whole input."""
    definition = _distributed(fields)
    definition["States"]["Each"]["ItemProcessor"] = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", **processor},
        "StartAt": "Echo",
        "States": {"Echo": {"Type": "Pass", "End": True}},
    }
    definition["States"]["Each"]["ItemsPath"] = "$.items"
    return definition


def test_an_item_batcher_hands_each_child_a_batch_with_its_batch_input() -> None:
    """Given five items, MaxItemsPerBatch 2 and a BatchInput read from the input, then three
    children each get {"BatchInput": ..., "Items": [...]}, the items in order."""
    definition = _batched(
        {"ExecutionType": "STANDARD"},
        ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"owner.$": "$.owner"}},
    )
    described = run(definition, {"owner": "ann", "items": [1, 2, 3, 4, 5]})

    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [
        {"BatchInput": {"owner": "ann"}, "Items": [1, 2]},
        {"BatchInput": {"owner": "ann"}, "Items": [3, 4]},
        {"BatchInput": {"owner": "ann"}, "Items": [5]},
    ]


@pytest.mark.parametrize(
    "batcher",
    [{"BatchInput": {}}, {"MaxItemsPerBatch": 0}, {"MaxInputBytesPerBatch": 262145}],
    ids=["no-limit", "zero-items", "over-256-KiB"],
)
def test_an_item_batcher_without_a_valid_limit_is_an_invalid_definition(
    batcher: dict[str, Any],
) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as raised:
        run(_batched({"ExecutionType": "STANDARD"}, ItemBatcher=batcher), {"items": [1]})
    assert raised.value.response["Error"]["Code"] == "InvalidDefinition"
    assert "ItemBatcher" in raised.value.response["Error"]["Message"]


def test_express_children_run_and_their_outputs_are_the_maps() -> None:
    described = run(_batched({"ExecutionType": "EXPRESS"}), {"items": [{"n": 1}, {"n": 2}]})

    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [{"n": 1}, {"n": 2}]


@pytest.mark.canary
def test_canary_item_batcher_is_a_parse_error() -> None:
    """If this fails, moto fixed it upstream: delete fix distributed-map-item-batcher."""
    from botocore.exceptions import ClientError

    with (
        engine_fixes_reverted("distributed-map-item-batcher"),
        pytest.raises(ClientError, match="ItemBatcher"),
    ):
        run(_batched({"ExecutionType": "STANDARD"}, ItemBatcher={"MaxItemsPerBatch": 2}))


@pytest.mark.canary
def test_canary_express_children_are_a_parse_error() -> None:
    """If this fails, moto fixed it upstream: delete fix distributed-map-express-children."""
    from botocore.exceptions import ClientError

    with (
        engine_fixes_reverted("distributed-map-express-children"),
        pytest.raises(ClientError, match="EXPRESS"),
    ):
        run(_batched({"ExecutionType": "EXPRESS"}))


@pytest.mark.canary
def test_canary_api_errors_reach_the_client_without_a_code() -> None:
    """If this fails, moto fixed it upstream: delete fix api-error-codes."""
    from botocore.exceptions import ClientError

    with engine_fixes_reverted("api-error-codes"), pytest.raises(ClientError) as raised:
        run({"StartAt": "Nowhere", "States": {}})
    assert raised.value.response["Error"]["Code"] == ""


class _StoppedEnvironment:
    """What a timeout component sees of an execution that was just stopped."""

    def __init__(self) -> None:
        self.stack: list[Any] = [{"ExecutionArn": "the task's input"}]

    def is_running(self) -> bool:
        return False


def _timeouts() -> list[Any]:
    from moto.stepfunctions.parser.asl.component.common.timeouts.heartbeat import (
        HeartbeatSeconds,
    )
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    return [TimeoutSeconds(timeout_seconds=3600), HeartbeatSeconds(heartbeat_seconds=60)]


def test_a_stopped_executions_timeouts_are_numbers_its_waits_end_on() -> None:
    """Given an execution stopped as its task starts, when the task reads its TimeoutSeconds
    and HeartbeatSeconds, then it gets 0, not the task input below them on the stack."""
    for component in _timeouts():
        env = _StoppedEnvironment()
        component.eval(env)
        assert env.stack.pop() == 0


@pytest.mark.canary
def test_canary_a_stopped_executions_timeout_pushes_nothing() -> None:
    """If this fails, moto fixed it upstream: delete fix stopped-timeouts."""
    with engine_fixes_reverted("stopped-timeouts"):
        for component in _timeouts():
            env = _StoppedEnvironment()
            component.eval(env)
            assert env.stack.pop() == {"ExecutionArn": "the task's input"}


def _quorum(rule: dict[str, Any]) -> dict[str, Any]:
    """A Choice after a Pass that replaces the state's input with {"count": 3, "owner": "ann"},
    so a `$$.Execution.Input` operand can only be read from the context object."""
    return {
        "StartAt": "Count",
        "States": {
            "Count": {
                "Type": "Pass",
                "Parameters": {"count": 3, "owner": "ann", "needed.$": "$.needed"},
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [{**rule, "Next": "Met"}],
                "Default": "NotMet",
            },
            "Met": {"Type": "Succeed"},
            "NotMet": {"Type": "Fail", "Error": "NotMet"},
        },
    }


QUORUM = {"Variable": "$.count", "NumericGreaterThanEqualsPath": "$$.Execution.Input.quorum"}


@pytest.mark.parametrize(
    ("rule", "execution_input", "met"),
    [
        (QUORUM, {"quorum": 2, "needed": 0}, True),
        (QUORUM, {"quorum": 5, "needed": 0}, False),
        (
            {"Variable": "$.owner", "StringEqualsPath": "$$.Execution.Input.owner"},
            {"owner": "ann", "needed": 0},
            True,
        ),
        (
            {"Variable": "$.owner", "StringEqualsPath": "$$.Execution.Input.owner"},
            {"owner": "bob", "needed": 0},
            False,
        ),
        # A `$.` operand is still read from the state's input.
        ({"Variable": "$.count", "NumericLessThanPath": "$.needed"}, {"needed": 4}, True),
        ({"Variable": "$.count", "NumericLessThanPath": "$.needed"}, {"needed": 3}, False),
    ],
    ids=["numeric-met", "numeric-not-met", "string-met", "string-not-met", "input", "input-not"],
)
def test_a_choice_path_operand_starting_with_two_dollars_is_read_from_the_context_object(
    rule: dict[str, Any], execution_input: dict[str, Any], met: bool
) -> None:
    """Given a Choice rule whose *Path operand is `$$.Execution.Input.…` (a reference path
    into the context object, as the Amazon States Language allows), then the rule compares
    with the execution's input and the Choice takes its branch or the Default, as on AWS."""
    described = run(_quorum(rule), execution_input)

    if met:
        assert described["status"] == "SUCCEEDED", described
    else:
        assert (described["status"], described.get("error")) == ("FAILED", "NotMet"), described


@pytest.mark.canary
def test_canary_a_choice_path_operand_into_the_context_object_is_a_runtime_error() -> None:
    """If this fails, moto fixed it upstream: delete fix
    choice-path-operands-from-the-context-object."""
    with engine_fixes_reverted("choice-path-operands-from-the-context-object"):
        described = run(_quorum(QUORUM), {"quorum": 2, "needed": 0})
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert "JsonPathParserError" in described["cause"]


def _returning(result: Any) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}


@pytest.mark.parametrize(
    ("result", "text"),
    [("lit", '"lit"'), (None, "null"), (5, "5"), (True, "true"), ({"a": [1]}, '{"a":[1]}')],
)
def test_an_executions_output_is_described_as_json_text(result: Any, text: str) -> None:
    described = run(_returning(result))

    assert described["status"] == "SUCCEEDED"
    # botocore: "The JSON output data of the execution": a client json.loads it.
    assert described["output"] == text
    assert json.loads(described["output"]) == result


@pytest.mark.canary
def test_canary_a_string_output_is_described_unquoted_and_a_null_not_at_all() -> None:
    with engine_fixes_reverted("execution-output-json-text"):
        text = run(_returning("lit"))
        null = run(_returning(None))

    assert text["output"] == "lit"
    assert "output" not in null
