"""SendTaskFailure's cause, and States.HeartbeatTimeout."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

from moto.core.responses import EmptyResult
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_activitiy import (
    StateTaskActivity,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimeoutError
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from aigw.local.engine.patches import Attr, Fix


def _send_task_failure(self: StepFunctionResponse) -> EmptyResult:
    backend = self.stepfunction_backend
    details: dict[str, Any] = {"error": self._get_param("error")}
    if isinstance(backend, StepFunctionsParserBackend):  # the plain backend takes no cause
        details["cause"] = self._get_param("cause")
    backend.send_task_failure(self._get_param("taskToken"), **details)
    return EmptyResult()


class _HeartbeatTimeoutName(StatesErrorName):
    """States.HeartbeatTimeout, which a Retry/Catch on States.Timeout also matches on AWS."""

    def __init__(self) -> None:
        super().__init__(typ=StatesErrorNameType.StatesHeartbeatTimeout)

    def matches(self, error_name: str | None) -> bool:
        return error_name in (self.error_name, StatesErrorNameType.StatesTimeout.to_name())


def _reporting_heartbeat_timeouts(
    from_error: Callable[[Any, Environment, Exception], FailureEvent],
) -> Callable[[Any, Environment, Exception], FailureEvent]:
    @functools.wraps(from_error)
    def _from_error(self: Any, env: Environment, ex: Exception) -> FailureEvent:
        event = from_error(self, env, ex)
        if not isinstance(ex, HeartbeatTimeoutError):
            return event
        # The engine reports the heartbeat timeout as a plain timeout; rename its error.
        error_name = _HeartbeatTimeoutName()
        details = {
            key: {**spec, "error": error_name.error_name}
            for key, spec in (event.event_details or {}).items()
        }
        return FailureEvent(env, error_name, event.event_type, details)

    return _from_error


FIXES: Final[list[Fix]] = [
    Fix(
        name="send-task-failure-cause",
        why="A task failed through SendTaskFailure must carry its Cause into Catch and the "
        "execution's cause.",
        upstream_bug="StepFunctionResponse.send_task_failure does not pass `cause` on.",
        patches=[Attr(StepFunctionResponse, "send_task_failure", _send_task_failure)],
    ),
    Fix(
        name="heartbeat-timeout-error",
        why="A missed heartbeat is States.HeartbeatTimeout on AWS (a States.Timeout "
        "Retry/Catch still matches it).",
        upstream_bug="Task states report HeartbeatTimeoutError as States.Timeout.",
        patches=[
            Attr(StateTask, "_from_error", _reporting_heartbeat_timeouts(StateTask._from_error)),
            Attr(
                StateTaskActivity,
                "_from_error",
                _reporting_heartbeat_timeouts(StateTaskActivity._from_error),
            ),
        ],
    ),
]
