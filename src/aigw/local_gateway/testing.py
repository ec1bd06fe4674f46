"""pytest helpers for tests that talk to ``aigw local`` the way a user's programs do: a
child process on free ports, reached over HTTP and WebSocket only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aigw.local_gateway.process import LocalGatewayProcess


@contextmanager
def aigw_local(*options: str, timeout: float = 120.0) -> Iterator[dict[str, str]]:
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
