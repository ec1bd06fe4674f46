"""A task stopped as it starts never hands its timeout wait a non-number.

A state's ``TimeoutSeconds`` and ``HeartbeatSeconds`` are evaluated (pushed on the stack)
and popped just after. moto's components evaluate nothing once the execution is stopped, so
a StopExecution arriving between the two (cancelling a job whose ``startExecution.sync:2``
task is starting) makes the pop take whatever was below: the task's input, a dict. The
``WaitForTaskToken_SyncTask`` thread then waits with that dict as its timeout and dies with
"TypeError: '>' not supported between instances of 'dict' and 'int'". Evaluated on a
stopped execution, the components now push 0: every wait on it ends at once, as the
execution has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from moto.stepfunctions.parser.asl.component.common.timeouts.heartbeat import Heartbeat
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout

from aigw.local.engine.patches import Fix, Wrap


def _always_pushes(inner: Callable[..., None], self: Any, env: Any) -> None:
    depth = len(env.stack)
    inner(self, env)
    if len(env.stack) == depth:  # the execution stopped: the component did nothing
        env.stack.append(0)


FIXES: Final[list[Fix]] = [
    Fix(
        name="stopped-timeouts",
        why="A job cancelled as its .sync task starts must stop quietly, not kill the task's "
        "waiting thread with a TypeError.",
        upstream_bug="TimeoutSeconds and HeartbeatSeconds push nothing on a stopped execution, "
        "and the task pops its input as the timeout.",
        patches=[
            Wrap(Timeout, "eval", _always_pushes),
            Wrap(Heartbeat, "eval", _always_pushes),
        ],
    )
]
