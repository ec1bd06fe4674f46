"""StopExecution while a task is in flight: the stop must win."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

from aigw.local.engine.patches import Attr, Fix

_ORIGINAL_SET_ERROR: Final = Environment.set_error
_ORIGINAL_SET_TIMED_OUT: Final = Environment.set_timed_out


def _stopped_stays_stopped(original: Callable[..., None]) -> Callable[..., None]:
    def guarded(self: Environment, *args: Any, **kwargs: Any) -> None:
        # A task finishing after StopExecution tries to move on, which fails because the
        # program is stopped; that failure must not turn ABORTED into FAILED.
        if isinstance(self._program_state, ProgramStopped):
            return
        original(self, *args, **kwargs)

    return guarded


FIXES: Final[list[Fix]] = [
    Fix(
        name="stop-wins",
        why="An execution stopped by StopExecution ends ABORTED even if a task was running.",
        upstream_bug="A task finishing after the stop cannot set its next state, and the "
        "resulting error overwrites the stopped state, so the execution ends FAILED.",
        patches=[
            Attr(Environment, "set_error", _stopped_stays_stopped(_ORIGINAL_SET_ERROR)),
            Attr(Environment, "set_timed_out", _stopped_stays_stopped(_ORIGINAL_SET_TIMED_OUT)),
        ],
    ),
]
