"""The engine's threads come from a pool: starting one hands its work to an idle thread.

moto's Step Functions engine starts a new thread for every execution, for every program it
runs (which it then joins, with the program's ``TimeoutSeconds``), for every Parallel branch
and every inline Map iteration: about 20 per text job (counted with a wrapper around
``Thread.start`` over 300 jobs at 8 clients, with the tasks' threads already pooled by
``service_time``). ``Thread.start`` returns only once the new thread has run, a handshake
through the GIL: in a busy gateway that took a p50 of 4 ms, p90 14 ms and up to 70 ms of
the starting thread's time. One of those starts is StartExecution's, in every submit.

So the engine's modules see a ``Thread`` that runs its target on one of the task threads
(``service_time``): an idle one is handed the work at once, else a new one starts. The work
runs in a fresh ``contextvars`` context, as on a new thread; the engine's thread-local
values are all set and restored around their use, so none is left for the next work.

A text job keeps about a dozen engine threads busy at once, so 8 clients need about 100;
the pool keeps at most 32 idle (``service_time``). Keeping 64 removed a few more starts but
held about 10 MiB more between bursts (about 200 KiB per idle thread); with 32 the
gateway's memory grows as it did with a thread per start, and 1.6 threads start per job.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

# The engine modules that start threads, imported so that the rebinding below finds them.
from moto.stepfunctions.parser.asl.component.program import program  # noqa: F401
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (  # noqa: F401
    inline_iteration_component,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import (  # noqa: F401
    branch_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: F401
    state_task_service_callback,
)
from moto.stepfunctions.parser.backend import execution_worker  # noqa: F401

from aigw.local.engine.patches import Fix, Rebind
from aigw.local.engine.service_time import task_threads


class EngineThread:
    """What the engine uses of ``threading.Thread``, run on a pooled thread."""

    def __init__(
        self,
        group: None = None,
        target: Callable[..., Any] | None = None,
        name: str | None = None,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> None:
        self._target, self._args, self._kwargs = target, tuple(args), dict(kwargs or {})
        self.name = name or "EngineThread"
        self.daemon = True if daemon is None else daemon
        self.ident: int | None = None
        self.native_id: int | None = None
        self._started = False
        self._finished = threading.Event()

    def start(self) -> None:
        if self._started:
            raise RuntimeError("threads can only be started once")
        self._started = True
        task_threads.run(self._run)

    def _run(self) -> None:
        current = threading.current_thread()
        self.ident, self.native_id = current.ident, current.native_id
        try:
            if self._target is not None:
                self._target(*self._args, **self._kwargs)
        except BaseException:
            # Reported as an uncaught exception in a thread is; the pooled thread goes on.
            threading.excepthook(threading.ExceptHookArgs([*sys.exc_info(), current]))  # type: ignore[call-arg]
        finally:
            self._target = self._args = self._kwargs = None  # type: ignore[assignment]
            self._finished.set()

    def join(self, timeout: float | None = None) -> None:
        if not self._started:
            raise RuntimeError("cannot join thread before it is started")
        self._finished.wait(timeout)

    def is_alive(self) -> bool:
        return self._started and not self._finished.is_set()

    def __repr__(self) -> str:
        state = "started" if self.is_alive() else "stopped" if self._started else "initial"
        return f"<EngineThread({self.name}, {state})>"


class _Threading(types.ModuleType):
    """``threading`` as the engine's modules see it: its ``Thread`` is pooled."""

    Thread = EngineThread

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


_THREADING: Final = _Threading("threading")

FIXES: Final[list[Fix]] = [
    Fix(
        name="engine-threads-pooled",
        why="Starting a thread waits for it to run: 4-14 ms (up to 70) of a busy "
        "interpreter, about 20 times per job, once in every StartExecution.",
        upstream_bug="The Step Functions engine starts a new thread for every execution, "
        "program, Parallel branch and Map iteration.",
        patches=[
            Rebind("Thread", threading.Thread, EngineThread),
            Rebind("threading", threading, _THREADING),
        ],
    ),
]
