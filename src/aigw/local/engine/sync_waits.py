"""``states:startExecution.sync``: the parent learns the child's end when it happens.

The engine polls DescribeExecution (every 20 ms here, see nested_executions) for as long as
the child runs. With many jobs in flight those polls are most of the interpreter's work, and
they slow down the very children they wait for. Instead the parent's poll blocks until the
child's execution ends (one DescribeExecution before, one after), with a bounded wait so a
stopped parent still notices its stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

from aigw.local.engine.patches import Fix, Wrap

#: A parent re-reads its child's status at least this often (a stop, a missed end).
MAX_BLOCK_SECONDS: Final = 1.0

_lock = threading.Lock()
#: Execution ARN -> set when that execution ends; only executions someone waits for.
_ends: dict[str, threading.Event] = {}


def _end_of(execution_arn: str) -> threading.Event:
    with _lock:
        return _ends.setdefault(execution_arn, threading.Event())


def _forget(execution_arn: str, event: threading.Event) -> None:
    with _lock:
        if _ends.get(execution_arn) is event:
            del _ends[execution_arn]


def _ended(execution_arn: str) -> None:
    with _lock:
        event = _ends.pop(execution_arn, None)
    if event is not None:
        event.set()


def _terminated_and_told(
    terminated: Callable[..., None], self: BaseExecutionWorkerCommunication
) -> None:
    terminated(self)  # the status is final before anyone is woken
    _ended(self.execution.exec_arn)


def _blocking(
    build: Callable[..., Any], self: StateTaskServiceSfn, env: Environment, *args: Any, **kw: Any
) -> Callable[[], Any]:
    child_arn = env.stack[-1]["ExecutionArn"]  # the builder pops StartExecution's answer
    resolve = build(self, env, *args, **kw)

    def resolve_when_ended() -> Any:
        # Registered before the first look, so an end between the two is not missed.
        end = _end_of(child_arn)
        try:
            result = resolve()
            if result is None and end.wait(MAX_BLOCK_SECONDS):
                result = resolve()
        except BaseException:  # the child failed: its resolver raises the failure
            _forget(child_arn, end)
            raise
        if result is not None:
            _forget(child_arn, end)
        return result

    return resolve_when_ended


FIXES: Final[list[Fix]] = [
    Fix(
        name="sync-waits-for-child-end",
        why="Polling every nested child's status costs most of the interpreter's time when "
        "many jobs are in flight.",
        upstream_bug="The .sync integration polls DescribeExecution until the child ends.",
        patches=[
            Wrap(BaseExecutionWorkerCommunication, "terminated", _terminated_and_told),
            Wrap(StateTaskServiceSfn, "_build_sync_resolver", _blocking),
            Wrap(StateTaskServiceSfn, "_build_sync2_resolver", _blocking),
        ],
    ),
]
