"""The engine's threads come from a pool (aigw.local.engine.engine_threads)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from sfn_waits import wait_done

from aigw.local.engine import apply_engine_fixes, engine_fixes_reverted
from aigw.local.engine.engine_threads import EngineThread

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sfn"

#: What the engine starts threads for: the execution, its program, Parallel branches, a Map.
FAN_OUT = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}},
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "ItemProcessor": {
                                "StartAt": "Double",
                                "States": {"Double": {"Type": "Pass", "End": True}},
                            },
                            "End": True,
                        }
                    },
                },
            ],
            "End": True,
        }
    },
}


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    apply_engine_fixes()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def _run(arn: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [1, 2, 3]}))
    return wait_done(started["executionArn"])


def _machine() -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sfn.create_state_machine(name="fan-out", definition=json.dumps(FAN_OUT), roleArn=ROLE)[
        "stateMachineArn"
    ]


def _threads_started(
    arn: str, monkeypatch: pytest.MonkeyPatch, executions: int = 1
) -> tuple[int, list[dict[str, Any]]]:
    started: list[threading.Thread] = []
    original = threading.Thread.start
    monkeypatch.setattr(
        threading.Thread, "start", lambda thread: (started.append(thread), original(thread))[1]
    )
    described = [_run(arn) for _ in range(executions)]
    monkeypatch.undo()
    return len(started), described


def test_an_execution_reuses_the_engine_s_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    arn = _machine()
    _run(arn)  # the pool grows to what one execution needs at once

    started, described = _threads_started(arn, monkeypatch, executions=5)

    assert [json.loads(d["output"]) for d in described] == [[1, [1, 2, 3]]] * 5
    # A new thread only while the previous execution's are still on their way back to the
    # pool (moto starts at least 7 for each of these executions: see the canary).
    assert started < 5


@pytest.mark.canary
def test_canary_the_engine_starts_a_thread_for_each_execution_program_branch_and_iteration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If this fails, moto changed how it runs executions: delete fix engine-threads-pooled."""
    arn = _machine()
    _run(arn)
    with engine_fixes_reverted("engine-threads-pooled"):
        started, described = _threads_started(arn, monkeypatch)

    assert described[0]["status"] == "SUCCEEDED"
    # The execution, its program, two branches (each a program) and three iterations.
    assert started >= 7


def test_a_pooled_thread_joins_with_a_timeout_and_reports_whether_it_runs() -> None:
    release = threading.Event()
    thread = EngineThread(target=release.wait, args=(10,))
    assert not thread.is_alive()
    with pytest.raises(RuntimeError):
        thread.join()

    thread.start()
    thread.join(timeout=0.05)  # what a program's TimeoutSeconds does
    assert thread.is_alive()
    release.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert thread.native_id is not None
    with pytest.raises(RuntimeError):
        thread.start()


def test_an_exception_in_pooled_work_is_reported_as_a_thread_s_and_the_pool_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reported: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", reported.append)

    failing = EngineThread(target=lambda: 1 / 0, name="fails")
    failing.start()
    failing.join(timeout=10)
    after: list[int] = []
    following = EngineThread(target=after.append, args=(1,))
    following.start()
    following.join(timeout=10)

    assert [args.exc_type for args in reported] == [ZeroDivisionError]
    assert after == [1]
