"""Functions whose runtime names a newer Python than aigw's: run by that interpreter.

A function whose ``Runtime`` is ``python3.X`` with X newer than the interpreter aigw runs on
cannot run in this process (its code may use syntax or standard library this interpreter
lacks). It runs, as on Lambda, in execution environments of its own: persistent worker
processes started with that interpreter (:func:`find_interpreter`: on ``PATH``, else in
pyenv's versions), each running :mod:`aigw.local.lambdas.worker_main` and answering one
invocation at a time over a pair of pipes. A worker serves invocation after invocation
(warm starts) until it times out, crashes, the function's configuration changes
(:meth:`WorkerPool.renew`: new environments, as Lambda starts) or the runtime stops.

- Its import path: the code directory, the function's layers, then the SDK Lambda's Python
  runtimes ship — boto3, botocore and their pure-Python dependencies, taken from aigw's own
  environment (no download, so it works offline, and the version aigw is tested with).
- Its environment: the function's, plus ``AWS_ENDPOINT_URL`` (the runtime's AWS endpoint,
  so its AWS calls reach the same in-process AWS and local providers) and dummy
  credentials, as Lambda gives a function its role's. Its @connections calls go to that
  endpoint too, whatever URL their client was given (``worker_main.SdkHooks``).
- Its errors: as in-process functions report them (``errorType`` the exception's class,
  ``Runtime.ImportModuleError``, ``Runtime.HandlerNotFound``, ``Runtime.MarshalError``).
  Unlike in-process functions its ``Timeout`` is enforced: the worker is stopped and the
  invocation fails with ``Sandbox.Timedout`` (Lambda's "Task timed out after N seconds");
  a worker that dies fails it with ``Runtime.ExitError``.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import json
import logging
import os
import select
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

LOG = logging.getLogger("aigw.local.lambda")

#: What Lambda's Python runtimes ship besides the standard library: boto3 and its
#: dependencies (top-level module names), all pure Python.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
#: Lambda's limit for a function's initialization (the cold start), separate from Timeout.
INIT_TIMEOUT_SECONDS = 10.0
_WORKER_MAIN = Path(__file__).with_name("worker_main.py")


def python_version(runtime: str) -> tuple[int, int] | None:
    """``(3, 13)`` for ``python3.13``; None for another language."""
    if not runtime.startswith("python"):
        return None
    try:
        major, minor = runtime.removeprefix("python").split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


@cache
def find_interpreter(version: tuple[int, int]) -> Path | None:
    """A ``pythonX.Y`` that runs: on ``PATH``, else the newest in pyenv's versions.

    pyenv's shim for a version that is not selected is on PATH but only fails, so every
    candidate is tried."""
    name = f"python{version[0]}.{version[1]}"
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [shutil.which(name)]
    pattern = os.path.join(pyenv_root, "versions", f"{version[0]}.{version[1]}.*", "bin", name)
    candidates += sorted(glob.glob(pattern), key=_patch_level, reverse=True)
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            answer = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if answer.returncode == 0 and answer.stdout.strip() == f"{version[0]}.{version[1]}":
            return Path(candidate)
    return None


def _patch_level(path: str) -> tuple[int, ...]:
    release = Path(path).parents[1].name  # …/versions/3.13.1/bin/python3.13
    return tuple(int(part) for part in release.split(".") if part.isdigit())


@cache
def runtime_sdk_locations() -> dict[str, str]:
    """Where aigw's environment has each module of :data:`RUNTIME_SDK` (the directory to
    find it in)."""
    locations = {}
    for name in RUNTIME_SDK:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        locations[name] = str(
            origin.parent.parent if spec.submodule_search_locations else origin.parent
        )
    return locations


@dataclass
class WorkerResult:
    """What an invocation answered: a JSON result, or an error payload's fields."""

    result: str | None = None
    error: dict[str, Any] | None = None


class WorkerError(Exception):
    """The worker could not answer: timed out, died, or failed to start."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type, self.message = error_type, message


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self, interpreter: Path, cwd: Path, environment: dict[str, str]) -> None:
        request_read, self._request_write = os.pipe()
        self._response_read, response_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [
                    str(interpreter),
                    "-I",
                    "-S",
                    str(_WORKER_MAIN),
                    str(request_read),
                    str(response_write),
                ],
                pass_fds=(request_read, response_write),
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env=environment,
                start_new_session=True,  # Ctrl-C reaches aigw, which stops its workers
            )
        finally:
            os.close(request_read)
            os.close(response_write)
        self._buffer = b""
        #: The pool's generation it was started in: an older one is retired when free.
        self.generation = 0

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        try:
            while data:
                data = data[os.write(self._request_write, data) :]
        except OSError as error:
            raise WorkerError("Runtime.ExitError", f"the worker is gone: {error}") from None

    def receive(self, timeout: float) -> dict[str, Any]:
        """The next message; WorkerError("Sandbox.Timedout") past ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._response_read], [], [], max(0.0, remaining))
            if not ready:
                raise WorkerError("Sandbox.Timedout", "timed out")
            chunk = os.read(self._response_read, 1 << 16)
            if not chunk:
                status = self.process.wait(timeout=5)
                raise WorkerError(
                    "Runtime.ExitError", f"Runtime exited with error: exit status {status}"
                )
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def stop(self) -> None:
        for fd in (self._request_write, self._response_read):
            with contextlib.suppress(OSError):  # already closed
                os.close(fd)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)


class WorkerPool:
    """A function's execution environments: at most ``size`` workers, each busy with one
    invocation at a time; an invocation waits for a free one past that."""

    def __init__(
        self,
        *,
        name: str,
        interpreter: Path,
        code_dir: Path,
        handler: str,
        layer_dirs: list[Path],
        size: int,
    ) -> None:
        self.name, self.interpreter = name, interpreter
        self._init = {
            "code_dir": str(code_dir),
            "layer_dirs": [str(path) for path in layer_dirs],
            "handler": handler,
            "sdk": runtime_sdk_locations(),
        }
        self._code_dir = code_dir
        self._size = size
        self._idle: list[_Worker] = []
        self._count = 0
        self._closed = False
        self._changed = threading.Condition()
        #: Bumped by renew(): workers of an older generation serve no more invocations.
        self._generation = 0

    def invoke(
        self, event: Any, context: dict[str, Any], environment: dict[str, str], timeout: float
    ) -> WorkerResult:
        """Run one invocation; WorkerError when the worker could not answer it."""
        worker = self._take(environment)
        healthy = False
        try:
            worker.send(
                {"invoke": {"event": event, "context": context, "environment": environment}}
            )
            answer = worker.receive(timeout)
            healthy = True
        finally:
            self._give_back(worker, healthy)
        return WorkerResult(answer.get("result"), answer.get("error"))

    def _take(self, environment: dict[str, str]) -> _Worker:
        with self._changed:
            while not self._idle and self._count >= self._size and not self._closed:
                self._changed.wait()
            if self._closed:
                raise WorkerError("Runtime.ExitError", f"{self.name}: the runtime is stopping")
            if self._idle:
                return self._idle.pop()
            self._count += 1
            generation = self._generation
        try:
            worker = self._start(environment)
            worker.generation = generation
            return worker
        except BaseException:
            with self._changed:
                self._count -= 1
                self._changed.notify()
            raise

    def _start(self, environment: dict[str, str]) -> _Worker:
        """A new worker, its handler imported (the cold start)."""
        worker = _Worker(self.interpreter, self._code_dir, environment)
        try:
            worker.send({"init": self._init})
            answer = worker.receive(INIT_TIMEOUT_SECONDS)
        except WorkerError as error:
            worker.stop()
            if error.error_type == "Sandbox.Timedout":
                raise WorkerError(
                    "Sandbox.Timedout",
                    f"{self.name}: initialization took longer than {INIT_TIMEOUT_SECONDS:.0f} s",
                ) from None
            raise
        if "init_error" in answer:
            worker.stop()
            raise InitError(answer["init_error"])
        return worker

    def _give_back(self, worker: _Worker, healthy: bool) -> None:
        if not healthy:
            worker.stop()
        with self._changed:
            if healthy and not self._closed and worker.generation == self._generation:
                self._idle.append(worker)
            else:
                self._count -= 1
                if healthy:
                    worker.stop()
            self._changed.notify()

    def renew(self) -> None:
        """Serve the next invocations from new workers, started with the environment they
        are given (the cold start imports the handler under it); a busy worker finishes
        its invocation first."""
        with self._changed:
            self._generation += 1
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._changed.notify_all()
        for worker in idle:
            worker.stop()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._changed.notify_all()
        for worker in idle:
            worker.stop()


class InitError(Exception):
    """The handler failed to import in the worker: ``kind`` import, handler or other."""

    def __init__(self, failure: dict[str, str]) -> None:
        super().__init__(failure["message"])
        self.kind, self.type, self.message = failure["kind"], failure["type"], failure["message"]
