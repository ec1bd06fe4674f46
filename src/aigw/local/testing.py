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

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from aigw.local.process import LocalGatewayProcess
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
    gateway = LocalGatewayProcess(*options, timeout=timeout)
    try:
        yield gateway.start()
        code = gateway.stop()
        assert code == 0, f"aigw local did not stop on Ctrl-C ({code}):\n{gateway.log_tail()}"
    finally:
        gateway.stop()
        gateway.close()


TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT")


def wait_for_job(job_url: str, api_key: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``GET job_url`` (``…/v1/jobs/{job_id}``) until the job has ended; its body.

    Fails the test, quoting the last answer, when it has not ended in ``timeout`` seconds.
    """
    import httpx

    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = httpx.get(job_url, headers={"x-api-key": api_key}, timeout=10)
        job = answer.json()
        if answer.status_code == 200 and job.get("status") in TERMINAL_STATUSES:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{job_url} did not end in {timeout} s: {job}")
