"""Time scaling of Wait states and Retry back-off (not of timeouts or heartbeats)."""

from __future__ import annotations

import time
import types
from typing import Final

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

from aigw.local.engine.patches import Attr, Fix

_time_scale = 1.0


def set_time_scale(factor: float) -> None:
    """Multiply Wait durations and Retry intervals by `factor` (1.0 = real time)."""
    global _time_scale
    if factor <= 0:
        raise ValueError(f"time scale must be positive, got {factor}")
    _time_scale = float(factor)


def _scaled_wait(self: WaitFunction, env: Environment) -> None:
    # Replaces the engine's loop, which also mis-handles fractional seconds.
    deadline = time.monotonic() + max(self._get_wait_seconds(env=env), 0) * _time_scale
    while env.is_running() and (remaining := deadline - time.monotonic()) > 0:
        env.program_state_event.wait(remaining)  # pulsed on stop, failure and timeout


def _scaled_sleep(seconds: float) -> None:
    time.sleep(seconds * _time_scale)


# The retrier's only use of the `time` module is `time.sleep(interval_seconds)`.
_SCALED_TIME: Final = types.SimpleNamespace(sleep=_scaled_sleep)


FIXES: Final[list[Fix]] = [
    Fix(
        name="time-scale",
        why="Tests must not sleep through real Wait states and Retry back-off.",
        upstream_bug="Wait states and Retry intervals always take real time.",
        patches=[
            Attr(WaitFunction, "_eval_body", _scaled_wait),
            Attr(retrier_decl, "time", _SCALED_TIME),
        ],
    ),
]
