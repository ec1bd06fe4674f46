"""Admission control: a bounded number of executions run at once, the others wait their turn.

Every execution runs on this one interpreter. Started all at once, a burst of executions
shares the CPU so thinly that each of their states takes seconds of wall time, and the
states' ``TimeoutSeconds`` (which on AWS measure the service, not a local CPU queue) fire:
work fails for being busy. So an execution started beyond the limit waits, in start order,
before its first state; its job stays as it was (e.g. QUEUED) and StopExecution still stops
it. StartExecution itself answers at once, as on AWS.

- An execution started by another one's task (``states:startExecution`` and its ``.sync``
  variants, ``aws-sdk:sfn:startSyncExecution``, a Lambda task that starts one) runs under
  its parent's admission: the parent may wait for it, so a child needing a place of its
  own could wait forever behind parents holding them all.
- An execution gives its place up for good when it starts a long wait that uses no CPU (a
  ``.waitForTaskToken`` callback, a Wait state), so a callback that never comes cannot block
  others; it resumes without queueing again, which may briefly exceed the limit.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Any, Final

from moto.stepfunctions.parser.api import (
    ExecutionStartedEventDetails,
    HistoryEventExecutionDataDetails,
    HistoryEventType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (  # noqa: E501
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import (
    StateTaskLambda,
)
from moto.stepfunctions.parser.asl.component.state.wait.state_wait import StateWait
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning, ProgramStopped
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from aigw.local.engine.patches import Attr, Fix

LOG = logging.getLogger("aigw.local.admission")
#: An execution that waits this long for a place is reported (once) in the log.
REPORT_AFTER_SECONDS: Final = 60.0

#: Executions that may run at once by default: enough to keep both cores and the simulated
#: or offline services busy, few enough that each state gets its share of the interpreter.
DEFAULT_LIMIT: Final = max(8, 4 * (os.cpu_count() or 2))


class _Place:
    """One execution tree's admission: held from admission until it ends or waits long."""

    def __init__(self) -> None:
        self.held = False


class ExecutionAdmission:
    """At most ``limit`` execution trees hold a place; the others queue in start order."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._limit = limit
        self._active = 0
        self._queue: deque[_Place] = deque()
        #: Execution ARN -> the place its tree holds (children share their root's).
        self._places: dict[str, _Place] = {}
        self._local = threading.local()

    @property
    def limit(self) -> int:
        return self._limit

    def set_limit(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the admission limit must be at least 1, got {limit}")
        with self._lock:
            self._limit = limit
            self._changed.notify_all()

    def reset(self) -> None:
        """Forget the places held so far: executions of a runtime that has stopped (their
        threads cannot be killed) must not hold places in the next one."""
        with self._lock:
            for place in self._places.values():
                place.held = False
            self._places.clear()
            self._active = 0
            self._changed.notify_all()

    def counts(self) -> tuple[int, int]:
        """(running, queued) execution trees."""
        with self._lock:
            return self._active, len(self._queue)

    # ------------------------------------------------------------------ executions
    def admit(self, execution_arn: str, env: Environment, parent: _Place | None) -> None:
        """Wait for a place for this execution (or share its ``parent``'s); returns at once
        if the execution is stopped while it waits."""
        with self._lock:
            if parent is not None:
                self._places[execution_arn] = parent
                return
            place = self._places[execution_arn] = _Place()
            self._queue.append(place)
            waited, reported = time.monotonic(), False
            while env.is_running() and (self._queue[0] is not place or self._active >= self._limit):
                if not self._changed.wait(REPORT_AFTER_SECONDS) and not reported:
                    reported = True
                    LOG.warning(
                        "%s has waited %.0f s to start: %d executions are running "
                        "(max_running_executions=%d), %d waiting",
                        execution_arn,
                        time.monotonic() - waited,
                        self._active,
                        self._limit,
                        len(self._queue),
                    )
            self._queue.remove(place)
            if env.is_running():
                place.held = True
                self._active += 1
            self._changed.notify_all()

    def finished(self, execution_arn: str) -> None:
        with self._lock:
            place = self._places.pop(execution_arn, None)
            if place is not None and not any(p is place for p in self._places.values()):
                self._give_up(place)

    def waiting_long(self, execution_arn: str) -> None:
        """The execution starts a wait that needs no CPU: its tree gives its place up."""
        with self._lock:
            place = self._places.get(execution_arn)
            if place is not None:
                self._give_up(place)

    def wake(self) -> None:
        """Let queued executions look again whether they were stopped."""
        with self._lock:
            self._changed.notify_all()

    def _give_up(self, place: _Place) -> None:
        if place.held:
            place.held = False
            self._active -= 1
            self._changed.notify_all()

    # ------------------------------------------------------------------ children
    def starting_children_of(self, execution_arn: str) -> _ChildStart:
        return _ChildStart(self, self._places.get(execution_arn))

    def parent_of_new_execution(self) -> _Place | None:
        """The place an execution created by this thread shares (None: a root)."""
        return getattr(self._local, "parent", None)


class _ChildStart:
    """While it is entered, executions started by this thread share ``place``."""

    def __init__(self, admission: ExecutionAdmission, place: _Place | None) -> None:
        self.admission, self.place = admission, place

    def __enter__(self) -> None:
        self.previous = getattr(self.admission._local, "parent", None)
        self.admission._local.parent = self.place

    def __exit__(self, *exc: object) -> None:
        self.admission._local.parent = self.previous


#: The process-wide admission (moto's executions are process-wide too).
admission = ExecutionAdmission()


def _execution_arn(env: Environment) -> str:
    return str(env.states.context_object.context_object_data["Execution"]["Id"])


_ORIGINAL_INIT: Final = ExecutionWorker.__init__
_ORIGINAL_SET_STOP: Final = Environment.set_stop
_ORIGINAL_SERVICE_TASK: Final = StateTaskService._eval_execution
_ORIGINAL_LAMBDA_TASK: Final = StateTaskLambda._eval_execution
_ORIGINAL_WAIT_FOR_TOKEN: Final = StateTaskServiceCallback._eval_wait_for_task_token
_ORIGINAL_WAIT_STATE: Final = StateWait._eval_state


def _init_with_parent(self: ExecutionWorker, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL_INIT(self, *args, **kwargs)
    # Workers are made by the thread that starts the execution; they run on another one.
    self._aigw_parent_place = admission.parent_of_new_execution()


def _admitted_execution_logic(self: ExecutionWorker) -> None:
    # moto's ExecutionWorker._execution_logic, with the wait for a place before the first
    # state. The program is marked running first so that StopExecution, which only stops
    # a running program, can stop a queued execution; one stopped there ends ABORTED.
    program = self._get_evaluation_entrypoint()
    self.env = self._get_evaluation_environment()
    self.env._program_state = ProgramRunning()
    self.env.event_manager.add_event(
        context=self.env.event_history_context,
        event_type=HistoryEventType.ExecutionStarted,
        event_details=EventDetails(
            executionStartedEventDetails=ExecutionStartedEventDetails(
                input=to_json_str(self._evaluation_details.execution_details.inpt),
                inputDetails=HistoryEventExecutionDataDetails(truncated=False),
                roleArn=self._evaluation_details.aws_execution_details.role_arn,
            )
        ),
        update_source_event_id=False,
    )
    arn = self._evaluation_details.execution_details.arn
    try:
        admission.admit(arn, self.env, getattr(self, "_aigw_parent_place", None))
        if self.env.is_running():
            program.eval(self.env)
        # Stopped while queued, or between that check and the program's first step (which
        # then skips the whole program): its body only records how it ended.
        if isinstance(self.env.program_state(), ProgramStopped) and not _abort_recorded(self.env):
            program._eval_body(self.env)
    finally:
        admission.finished(arn)
    self._execution_communication.terminated()


def _abort_recorded(env: Environment) -> bool:
    history = env.event_manager.get_event_history()
    return bool(history) and history[-1]["type"] == HistoryEventType.ExecutionAborted


def _set_stop_and_wake(self: Environment, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL_SET_STOP(self, *args, **kwargs)
    admission.wake()


def _shares_admission(original: Any) -> Any:
    def task(self: Any, env: Environment) -> None:
        with admission.starting_children_of(_execution_arn(env)):
            original(self, env)

    return task


def _wait_for_callback(self: StateTaskServiceCallback, env: Environment, *args: Any, **kw: Any):
    # .sync tasks wait for a token too (alongside the child, which runs in this tree's
    # place); only a .waitForTaskToken task waits on something outside the tree.
    if self.resource.condition == ResourceCondition.WaitForTaskToken:
        admission.waiting_long(_execution_arn(env))
    return _ORIGINAL_WAIT_FOR_TOKEN(self, env, *args, **kw)


def _wait_state(self: StateWait, env: Environment) -> None:
    admission.waiting_long(_execution_arn(env))
    _ORIGINAL_WAIT_STATE(self, env)


FIXES: Final[list[Fix]] = [
    Fix(
        name="execution-admission",
        why="A burst of executions must queue, not share the interpreter so thinly that "
        "every state's TimeoutSeconds fires.",
        upstream_bug="Every execution starts its threads at once, whatever the load.",
        patches=[
            Attr(ExecutionWorker, "__init__", _init_with_parent),
            Attr(ExecutionWorker, "_execution_logic", _admitted_execution_logic),
            Attr(Environment, "set_stop", _set_stop_and_wake),
            Attr(StateTaskService, "_eval_execution", _shares_admission(_ORIGINAL_SERVICE_TASK)),
            Attr(StateTaskLambda, "_eval_execution", _shares_admission(_ORIGINAL_LAMBDA_TASK)),
            Attr(StateTaskServiceCallback, "_eval_wait_for_task_token", _wait_for_callback),
            Attr(StateWait, "_eval_state", _wait_state),
        ],
    ),
]
