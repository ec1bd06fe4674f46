"""The engine under load: executions are admitted a few at a time, a task's TimeoutSeconds
counts the service's time, and a .sync parent waits for its child's end without polling.

Each fix has a canary (marked `canary`) that runs its scenario with the fix reverted and
shows moto's own behaviour, as in test_engine_fixes.py.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from sfn_waits import wait_done

from aigw.local import outside_service_time
from aigw.local.engine import (
    apply_engine_fixes,
    engine_fixes_reverted,
    service_time,
    set_time_scale,
)
from aigw.local.engine.admission import DEFAULT_LIMIT, admission
from aigw.local.engine.service_time import TaskClock, timing
from aigw.local.lambdas.bridge import FunctionSpec, LambdaBridge
from aigw.local.services.providers import registry

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sfn"
CALL = "arn:aws:states:::aws-sdk:sts:getCallerIdentity"


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    apply_engine_fixes()
    set_time_scale(0.001)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    set_time_scale(1.0)
    admission.reset()
    admission.set_limit(DEFAULT_LIMIT)


def sfn() -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


def create(definition: dict[str, Any], name: str = "machine") -> str:
    return sfn().create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


def start(machine_arn: str, name: str | None = None) -> str:
    extra = {"name": name} if name else {}
    return sfn().start_execution(stateMachineArn=machine_arn, **extra)["executionArn"]


def history_types(execution_arn: str) -> list[str]:
    events = sfn().get_execution_history(executionArn=execution_arn)["events"]
    return [event["type"] for event in events]


def one_call(**fields: Any) -> dict[str, Any]:
    """One aws-sdk task (sts:GetCallerIdentity, answered by the test's provider)."""
    state = {"Type": "Task", "Resource": CALL, "Parameters": {}, "End": True, **fields}
    return {"StartAt": "Call", "States": {"Call": state}}


class Gate:
    """A provider that holds every call until opened, counting how many it holds at once."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0
        self.calls = 0

    def __call__(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.inside += 1
            self.calls += 1
            self.most_inside = max(self.most_inside, self.inside)
        self.opened.wait(20)
        with self.lock:
            self.inside -= 1
        return {"UserId": "u", "Account": DEFAULT_ACCOUNT_ID, "Arn": ROLE}

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while self.calls < count:
            assert time.monotonic() < deadline, f"{self.calls} calls, expected {count}"
            time.sleep(0.005)


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate()
    with registry.override("sts", "GetCallerIdentity", gate):
        try:
            yield gate
        finally:
            gate.opened.set()


# --- Admission -------------------------------------------------------------------------------


def test_given_a_limit_of_two_when_five_executions_start_then_three_wait_before_their_first_state(
    gate: Gate,
) -> None:
    admission.set_limit(2)
    machine = create(one_call())
    runs = [start(machine, f"e{i}") for i in range(5)]
    gate.wait_for(2)
    time.sleep(0.2)  # time enough for a third to enter, were it admitted

    assert gate.calls == 2
    assert admission.counts() == (2, 3)
    queued = [arn for arn in runs if "TaskStateEntered" not in history_types(arn)]
    assert len(queued) == 3
    assert all(sfn().describe_execution(executionArn=a)["status"] == "RUNNING" for a in queued)

    gate.opened.set()
    assert [wait_done(arn)["status"] for arn in runs] == ["SUCCEEDED"] * 5
    assert gate.most_inside == 2
    assert admission.counts() == (0, 0)


@pytest.mark.canary
def test_canary_every_execution_runs_at_once(gate: Gate) -> None:
    """If this fails, moto admits executions itself: delete fix execution-admission."""
    admission.set_limit(2)
    with engine_fixes_reverted("execution-admission"):
        machine = create(one_call())
        runs = [start(machine, f"e{i}") for i in range(5)]
        gate.wait_for(5)
        gate.opened.set()
        for arn in runs:
            wait_done(arn)
    assert gate.most_inside == 5


def test_given_a_queued_execution_when_it_is_stopped_then_it_ends_aborted_without_running(
    gate: Gate,
) -> None:
    admission.set_limit(1)
    machine = create(one_call())
    running = start(machine, "running")
    gate.wait_for(1)
    queued = start(machine, "queued")

    sfn().stop_execution(executionArn=queued, error="Cancelled", cause="by the test")

    assert wait_done(queued, timeout=5)["status"] == "ABORTED"
    assert "TaskStateEntered" not in history_types(queued)
    assert "ExecutionAborted" in history_types(queued)
    gate.opened.set()
    assert wait_done(running)["status"] == "SUCCEEDED"
    assert gate.calls == 1


def test_given_a_limit_of_one_when_a_parent_runs_a_child_with_sync_then_both_finish() -> None:
    admission.set_limit(1)
    child = create({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "child")
    parent = create(
        {
            "StartAt": "Child",
            "States": {
                "Child": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child, "Input": {}},
                    "End": True,
                }
            },
        },
        "parent",
    )
    described = wait_done(start(parent), timeout=10)
    assert described["status"] == "SUCCEEDED", described


def test_given_a_limit_of_one_when_a_task_runs_an_express_child_in_sync_then_both_finish() -> None:
    admission.set_limit(1)
    child = sfn().create_state_machine(
        name="express-child",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
        type="EXPRESS",
    )["stateMachineArn"]
    parent = create(
        {
            "StartAt": "Child",
            "States": {
                "Child": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sfn:startSyncExecution",
                    "Parameters": {"StateMachineArn": child, "Input": "{}"},
                    "End": True,
                }
            },
        },
        "sdk-parent",
    )
    described = wait_done(start(parent), timeout=10)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["Status"] == "SUCCEEDED"


def test_given_a_limit_of_one_when_an_execution_waits_for_a_callback_then_others_run() -> None:
    admission.set_limit(1)
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="tokens")["TopicArn"]
    waiting = start(
        create(
            {
                "StartAt": "Wait",
                "States": {
                    "Wait": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                        "Parameters": {"TopicArn": topic, "Message.$": "$$.Task.Token"},
                        "End": True,
                    }
                },
            },
            "callback",
        )
    )
    deadline = time.monotonic() + 10
    while "TaskSubmitted" not in history_types(waiting):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    other = start(create({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))

    assert wait_done(other, timeout=5)["status"] == "SUCCEEDED"
    events = sfn().get_execution_history(executionArn=waiting)["events"]
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")
    token = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["Message"]
    sfn().send_task_success(taskToken=token, output="{}")
    assert wait_done(waiting)["status"] == "SUCCEEDED"


# --- TimeoutSeconds counts the service's time ------------------------------------------------


def slow_outside_the_service(params: dict[str, Any]) -> dict[str, Any]:
    # Well over TimeoutSeconds: what remains of the call must fit in 2 s on a loaded machine.
    with outside_service_time():  # e.g. a model loaded on first use
        time.sleep(2.5)
    return {"UserId": "u", "Account": DEFAULT_ACCOUNT_ID, "Arn": ROLE}


def slow_service(params: dict[str, Any]) -> dict[str, Any]:
    time.sleep(1.3)
    return {"UserId": "u", "Account": DEFAULT_ACCOUNT_ID, "Arn": ROLE}


def test_given_timeout_2_s_when_2_5_s_are_spent_outside_the_service_then_the_task_succeeds() -> (
    None
):
    with registry.override("sts", "GetCallerIdentity", slow_outside_the_service):
        described = wait_done(start(create(one_call(TimeoutSeconds=2))))
    assert described["status"] == "SUCCEEDED", described


def test_given_timeout_seconds_1_when_the_service_takes_1_3_s_then_the_task_times_out() -> None:
    with registry.override("sts", "GetCallerIdentity", slow_service):
        described = wait_done(start(create(one_call(TimeoutSeconds=1))))
    assert described["error"] == "States.Timeout"


class _LateWakingEvent(threading.Event):
    """An Event whose timed wait returns half a second late, as a waiting thread does when
    a busy interpreter does not schedule it in time."""

    def wait(self, timeout: float | None = None) -> bool:
        woke = super().wait(timeout)
        if not woke:
            time.sleep(0.5)
        return woke


def test_given_the_timeout_noticed_late_when_the_service_ended_after_it_then_the_task_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under load the waiting thread woke after the work had ended (1.3 s against a 1 s
    timeout) and the task SUCCEEDED: AWS times the task out at 1 s, however late anyone
    looks."""
    monkeypatch.setattr(service_time.threading, "Event", _LateWakingEvent)
    with registry.override("sts", "GetCallerIdentity", slow_service):
        described = wait_done(start(create(one_call(TimeoutSeconds=1))))
    assert described["status"] == "FAILED", described
    assert described["error"] == "States.Timeout"


@pytest.mark.canary
def test_canary_time_outside_the_service_counts_against_the_timeout() -> None:
    """If this fails, moto changed how it times tasks: check fix task-timeout-service-time."""
    with (
        engine_fixes_reverted("task-timeout-service-time"),
        registry.override("sts", "GetCallerIdentity", slow_outside_the_service),
    ):
        described = wait_done(start(create(one_call(TimeoutSeconds=2))))
    assert described["error"] == "States.Timeout"


_SEEN_BY_A_TASK: contextvars.ContextVar[str] = contextvars.ContextVar("seen_by_a_task")


def test_given_tasks_one_after_another_then_threads_are_reused_and_each_starts_clean() -> None:
    threads: list[threading.Thread] = []
    seen: list[str] = []

    def record(params: dict[str, Any]) -> dict[str, Any]:
        threads.append(threading.current_thread())
        seen.append(_SEEN_BY_A_TASK.get("unset"))
        _SEEN_BY_A_TASK.set("set by an earlier task")
        return {"UserId": "u", "Account": DEFAULT_ACCOUNT_ID, "Arn": ROLE}

    machine = create(one_call(TimeoutSeconds=30))
    with registry.override("sts", "GetCallerIdentity", record):
        for _ in range(4):
            assert wait_done(start(machine))["status"] == "SUCCEEDED"

    assert len({id(thread) for thread in threads}) < len(threads)  # held: ids are unique
    assert seen == ["unset"] * 4


def test_given_a_task_that_timed_out_then_its_thread_serves_later_tasks() -> None:
    release = threading.Event()

    def stuck(params: dict[str, Any]) -> dict[str, Any]:
        release.wait(10)
        return {"UserId": "u", "Account": DEFAULT_ACCOUNT_ID, "Arn": ROLE}

    with registry.override("sts", "GetCallerIdentity", stuck):
        timed_out = wait_done(start(create(one_call(TimeoutSeconds=1), "stuck")))
    release.set()
    assert timed_out["error"] == "States.Timeout"
    assert wait_done(start(create(one_call(TimeoutSeconds=5), "after")))["status"] == "SUCCEEDED"


def test_a_handlers_cold_start_is_outside_the_service_time(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import time\ntime.sleep(0.5)  # a slow import\n\ndef handler(event, context):\n"
        "    return {'ok': True}\n"
    )
    bridge = LambdaBridge()
    spec = FunctionSpec(
        name="slow-import",
        arn=f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:slow-import",
        code_dir=tmp_path,
        handler="app.handler",
    )
    bridge.register(spec)
    try:
        with timing(TaskClock()) as clock:
            assert bridge.invoke("slow-import", {}).json() == {"ok": True}
        assert clock.service_seconds() < 0.4
    finally:
        bridge.shutdown()


# --- .sync waits for the child's end ---------------------------------------------------------


def sync_parent_of_a_gated_child() -> str:
    child = create(one_call(), "gated-child")
    return create(
        {
            "StartAt": "Child",
            "States": {
                "Child": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child, "Input": {}},
                    "End": True,
                }
            },
        },
        "sync-parent",
    )


def describes_while_the_child_runs(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> int:
    calls: list[str] = []
    original = StepFunctionsParserBackend.describe_execution

    def counted(self: Any, execution_arn: str) -> Any:
        calls.append(execution_arn)
        return original(self, execution_arn)

    monkeypatch.setattr(StepFunctionsParserBackend, "describe_execution", counted)
    parent = start(sync_parent_of_a_gated_child())
    gate.wait_for(1)
    time.sleep(0.5)
    gate.opened.set()
    monkeypatch.undo()
    assert wait_done(parent)["status"] == "SUCCEEDED"
    return len(calls)


def test_given_a_sync_parent_when_its_child_runs_half_a_second_then_it_does_not_poll(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert describes_while_the_child_runs(gate, monkeypatch) <= 2


@pytest.mark.canary
def test_canary_a_sync_parent_polls_its_child(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    """If this fails, moto stopped polling: delete fix sync-waits-for-child-end."""
    with engine_fixes_reverted("sync-waits-for-child-end"):
        assert describes_while_the_child_runs(gate, monkeypatch) >= 10


# --- A task token answered early -------------------------------------------------------------


def answered_during_the_call(heartbeat_seconds: int) -> dict[str, Any]:
    """A .waitForTaskToken task whose worker answers before the call returns."""
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="early")["TopicArn"]

    def publish(params: dict[str, Any]) -> dict[str, Any]:
        sfn().send_task_success(taskToken=params["Message"], output='{"answered": true}')
        return {"MessageId": "m-1"}

    machine = create(
        {
            "StartAt": "Wait",
            "States": {
                "Wait": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sns:publish.waitForTaskToken",
                    "Parameters": {"TopicArn": topic, "Message.$": "$$.Task.Token"},
                    "HeartbeatSeconds": heartbeat_seconds,
                    "End": True,
                }
            },
        },
        "early",
    )
    with registry.override("sns", "Publish", publish):
        return wait_done(start(machine))


def test_given_heartbeat_seconds_when_the_token_is_answered_during_the_call_then_it_succeeds() -> (
    None
):
    described = answered_during_the_call(heartbeat_seconds=1)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"answered": True}


@pytest.mark.canary
def test_canary_an_early_answer_is_lost_and_the_heartbeat_times_out() -> None:
    """If this fails, moto fixed it upstream: delete fix early-task-token-answer."""
    with engine_fixes_reverted("early-task-token-answer"):
        described = answered_during_the_call(heartbeat_seconds=1)
    assert described["error"] == "States.HeartbeatTimeout"
