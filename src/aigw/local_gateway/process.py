"""``aigw local`` as a child process: started on free ports, its banner read, stopped with
Ctrl-C (SIGINT). Used by the demo, the benchmarks and the end-to-end tests, which all talk
to the gateway the way a user's programs do: over HTTP and WebSocket only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO


class GatewayStartError(RuntimeError):
    """``aigw local`` exited or stayed silent before printing its banner."""


class LocalGatewayProcess:
    """``python -m aigw local --port 0 --ws-port 0 *options`` in a child process.

    :meth:`start` returns the banner as a dict (``"REST API"``, ``"WebSocket"``,
    ``"AWS endpoint"``, ``"API key"``, …). The child's log (stderr) goes to a temporary file
    whose tail is quoted when it fails to start; :attr:`log_path` names it. What it prints
    after the banner (the functions' logs) is copied there too, so the pipe never fills.
    """

    def __init__(self, *options: str, timeout: float = 120.0, cwd: str | Path | None = None):
        self.options = options
        self.timeout = timeout
        self.cwd = cwd
        self.banner: dict[str, str] = {}
        self.process: subprocess.Popen[str] | None = None
        self._log: IO[bytes] | None = None
        self._drain: threading.Thread | None = None

    @property
    def log_path(self) -> str | None:
        return self._log.name if self._log is not None else None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("aigw local is not started")
        return self.process.pid

    def start(self) -> dict[str, str]:
        self._log = tempfile.NamedTemporaryFile(prefix="aigw-local-", suffix=".log")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aigw", "local", "--port", "0", "--ws-port", "0", *self.options],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=self.cwd,
        )
        deadline = time.monotonic() + self.timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            name, _, value = line.strip().partition(": ")
            self.banner[name] = value
            if line.startswith("Ctrl-C"):
                # The functions log to stdout: unread, the pipe fills (64 KB) and every
                # function blocks on its next log line. Keep it flowing into the log file.
                self._drain = threading.Thread(
                    target=self._copy_stdout, name="aigw-local-stdout", daemon=True
                )
                self._drain.start()
                return self.banner
        exited = self.process.poll()
        self.stop()
        why = (
            f"it exited with status {exited}"
            if exited is not None
            else f"no banner within {self.timeout:.0f} s (a loaded machine starts it slowly)"
        )
        raise GatewayStartError(f"aigw local did not start: {why}\n{self.log_tail()}")

    def _copy_stdout(self, process: subprocess.Popen[str] | None = None) -> None:
        process = process or self.process
        log = self._log
        if process is None or process.stdout is None or log is None:
            return
        try:
            for line in process.stdout:
                os.write(log.fileno(), line.encode(errors="replace"))
        except (OSError, ValueError):  # the pipe or the log closed at stop
            return

    def log_tail(self, lines: int = 30) -> str:
        if self._log is None:
            return ""
        text = Path(self._log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> int:
        """Ctrl-C, then wait; a child that does not stop in ``timeout`` is killed (-9)."""
        if self.process is None:
            return 0
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = -signal.SIGKILL
        if self._drain is not None:
            self._drain.join(timeout=5)
            self._drain = None
        if process.stdout is not None:
            process.stdout.close()
        return code

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> dict[str, str]:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            self.close()
