"""A task token answered before the engine starts waiting still completes the task.

A ``.waitForTaskToken`` task with ``HeartbeatSeconds`` waits for heartbeats on an endpoint
the engine makes only after the task's call returns. A worker that answers quickly (during
the call, or on another thread of a busy process) sets the outcome before that endpoint
exists, so the engine never sees it and fails the task with ``States.HeartbeatTimeout``.
On AWS the answer completes the task whenever it arrives.
"""

from __future__ import annotations

from typing import Final

from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackEndpoint,
    HeartbeatEndpoint,
)

from aigw.local.engine.patches import Attr, Fix

_ORIGINAL: Final = CallbackEndpoint.setup_heartbeat_endpoint


def _setup_heartbeat_endpoint(self: CallbackEndpoint, heartbeat_seconds: int) -> HeartbeatEndpoint:
    endpoint = _ORIGINAL(self, heartbeat_seconds)
    if self.get_outcome() is not None:
        endpoint.notify()  # the answer is already here: the first wait returns at once
    return endpoint


FIXES: Final[list[Fix]] = [
    Fix(
        name="early-task-token-answer",
        why="A worker that sends the task token back quickly must complete its task, not "
        "time it out, however busy the process is.",
        upstream_bug="With HeartbeatSeconds, an outcome sent before the heartbeat endpoint "
        "exists is never noticed and the task fails with States.HeartbeatTimeout.",
        patches=[Attr(CallbackEndpoint, "setup_heartbeat_endpoint", _setup_heartbeat_endpoint)],
    ),
]
