"""pytest helpers for testing a SAM app on the offline runtime.

In a ``conftest.py``::

    from aigw.local.testing import runtime_fixture

    app = runtime_fixture("template.yaml", time_scale=0.001)

    def test_pipeline(app):
        result = app.run("PipelineMachine", {"id": "1"})
        assert result["status"] == "SUCCEEDED"

The fixture deploys the template once per module (deploying takes a fraction of a second
but there is no reason to repeat it), yields the :class:`LocalRuntime` (``app.client(...)``
gives boto3 clients), and tears everything down afterwards. ``time_scale`` shrinks Wait
states and Retry back-off so retry paths run in milliseconds; timeouts keep their real length.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from aigw.local.runtime import LocalRuntime


def runtime_fixture(
    template: str | Path,
    *,
    scope: str = "module",
    time_scale: float = 0.001,
    name: str | None = None,
    **options: Any,
) -> Callable[..., Iterator[LocalRuntime]]:
    """A pytest fixture that yields a started :class:`LocalRuntime` for ``template``."""

    @pytest.fixture(scope=scope, name=name)  # type: ignore[call-overload]
    def _runtime() -> Iterator[LocalRuntime]:
        with LocalRuntime(template, time_scale=time_scale, **options) as runtime:
            yield runtime

    return _runtime


@contextmanager
def aigw_local(*options: str, timeout: float = 60.0) -> Iterator[dict[str, str]]:
    """Run ``aigw local`` as a subprocess on free ports, as a user would, and yield what
    it printed at start (``"REST API"``, ``"WebSocket"``, ``"API key"``, …); stop it with
    Ctrl-C (SIGINT) afterwards and require a clean exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aigw", "local", "--port", "0", "--ws-port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield _banner(process, timeout)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0, "aigw local did not stop cleanly on Ctrl-C"


def _banner(process: subprocess.Popen[str], timeout: float) -> dict[str, str]:
    banner: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        name, _, value = line.strip().partition(": ")
        banner[name] = value
        if line.startswith("Ctrl-C"):
            return banner
    raise AssertionError(f"aigw local did not start: {banner}")
