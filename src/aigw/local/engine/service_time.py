"""A task's ``TimeoutSeconds`` counts the service's time, not the emulator's warm-up.

On AWS a task's timeout measures the call to a warm, separately scaled service. Here the
service is code in this process, and some of a call's wall time is the emulator's own: a
Lambda handler imported on first use while other threads wait for it, an offline model
loaded on first use, a model that answers one call at a time. Counted, a fresh gateway fails
its first burst of jobs with ``States.Timeout``. So each task keeps a clock, and code that
knows it is not doing the service's work wraps it in :func:`outside_service_time`; the clock
stops for that span. The task's thread carries the clock, so any provider or handler that
runs for the task (they run on its thread) can stop it.

moto runs each task's work on a thread of its own, which the state's thread waits for until
the timeout; a new thread per task (about a dozen per job) cost thread creation and its
start-up handshake each time. The task threads are kept instead: a finished one waits a
while for the next task's work, which runs in a fresh context, as on a new thread.
"""

from __future__ import annotations

import contextvars
import copy
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.eval.environment import Environment

from aigw.local.engine.patches import Attr, Fix


class TaskClock:
    """Wall time since the task started, less the spans spent outside the service."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._excluded = 0.0
        self._paused_since: float | None = None
        self._depth = 0

    def pause(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._paused_since = time.monotonic()
            self._depth += 1

    def resume(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._paused_since is not None:
                self._excluded += time.monotonic() - self._paused_since
                self._paused_since = None

    def service_seconds(self) -> float:
        with self._lock:
            now = time.monotonic()
            paused = now - self._paused_since if self._paused_since is not None else 0.0
            return now - self._started - self._excluded - paused


_current = threading.local()


@contextmanager
def timing(clock: TaskClock) -> Iterator[TaskClock]:
    """Run the block as the task ``clock`` times (what the engine does for each task)."""
    previous = getattr(_current, "clock", None)
    _current.clock = clock
    try:
        yield clock
    finally:
        _current.clock = previous


@contextmanager
def outside_service_time() -> Iterator[None]:
    """Time spent inside is not counted against the running task's ``TimeoutSeconds``.

    For work AWS would have done before the call (a cold start's imports, loading a model)
    or a queue AWS would not have (waiting for a model that serves one call at a time).
    Outside a task (a handler called by the API, a test) it does nothing.
    """
    clock: TaskClock | None = getattr(_current, "clock", None)
    if clock is None:
        yield
        return
    clock.pause()
    try:
        yield
    finally:
        clock.resume()


class _TaskThread:
    def __init__(self, pool: _TaskThreads) -> None:
        self.pool = pool
        self.work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def run(self) -> None:
        while True:
            try:
                work = self.work.get(timeout=self.pool.idle_seconds)
            except queue.Empty:
                if self.pool.retire(self):
                    return
                work = self.work.get()  # handed work while it timed out
            contextvars.Context().run(work)
            if not self.pool.rest(self):
                return


class _TaskThreads:
    """Threads for tasks' work: an idle one is handed the next task, else a new one starts.
    An idle thread ends after ``idle_seconds`` without work; at most ``max_idle`` wait."""

    def __init__(self, idle_seconds: float = 30.0, max_idle: int = 32) -> None:
        self.idle_seconds, self.max_idle = idle_seconds, max_idle
        self._lock = threading.Lock()
        self._idle: list[_TaskThread] = []

    def run(self, work: Callable[[], None]) -> None:
        with self._lock:
            idle = self._idle.pop() if self._idle else None
        if idle is not None:
            idle.work.put(work)
            return
        worker = _TaskThread(self)
        worker.work.put(work)
        thread = threading.Thread(target=worker.run, daemon=True)
        execute_state.TMP_THREADS.append(thread)
        thread.start()

    def rest(self, worker: _TaskThread) -> bool:
        """Wait for more work (True), or end if enough threads wait already (False)."""
        with self._lock:
            if len(self._idle) >= self.max_idle:
                return False
            self._idle.append(worker)
            return True

    def retire(self, worker: _TaskThread) -> bool:
        """End an idle thread (True), unless it has just been handed work (False)."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False


task_threads = _TaskThreads()


def _evaluate_with_service_timeout(self: ExecutionState, env: Environment) -> None:
    # moto's ExecutionState._evaluate_with_timeout, but the deadline is on the task's clock.
    self.timeout.eval(env=env)
    timeout_seconds: int = env.stack.pop()

    frame: Environment = env.open_frame()
    frame.states.reset(input_value=env.states.get_input())
    frame.stack = copy.deepcopy(env.stack)
    execution_outputs: list[Any] = []
    execution_exceptions: list[Exception | None] = [None]
    terminated_event = threading.Event()
    clock = TaskClock()
    # The task's time when its work ended, read by the work's own thread: the waiting
    # thread may wake late (a busy interpreter), and work that ended after the deadline
    # timed out on AWS however soon the wait noticed.
    ended_at: list[float] = []

    def _exec_and_notify() -> None:
        with timing(clock):
            try:
                self._eval_execution(frame)
                execution_outputs.extend(frame.stack)
            except Exception as ex:
                execution_exceptions.append(ex)
        ended_at.append(clock.service_seconds())
        terminated_event.set()

    task_threads.run(_exec_and_notify)

    while not terminated_event.is_set():
        remaining = timeout_seconds - clock.service_seconds()
        if remaining <= 0:
            break
        terminated_event.wait(remaining)
    finished_on_time = terminated_event.is_set() and ended_at[0] <= timeout_seconds
    frame.set_ended()
    env.close_frame(frame)

    if not finished_on_time:
        raise EvalTimeoutError()

    execution_exception = execution_exceptions.pop()
    if execution_exception:
        raise execution_exception

    execution_output = execution_outputs.pop()
    env.stack.append(execution_output)

    if not self._is_language_query_jsonpath():
        env.states.set_result(execution_output)

    if self.assign_decl:
        self.assign_decl.eval(env=env)

    if self.result_selector:
        self.result_selector.eval(env=env)

    if self.result_path:
        self.result_path.eval(env)
    else:
        res = env.stack.pop()
        env.states.reset(input_value=res)


FIXES: Final[list[Fix]] = [
    Fix(
        name="task-timeout-service-time",
        why="A task's TimeoutSeconds must not fire because a model or a handler was loaded "
        "on first use while the task waited (and a thread per task cost its creation each "
        "time: task threads are kept for the next task).",
        upstream_bug="TimeoutSeconds is wall time from the task's start, whatever the "
        "process spent it on.",
        patches=[Attr(ExecutionState, "_evaluate_with_timeout", _evaluate_with_service_timeout)],
    ),
]
