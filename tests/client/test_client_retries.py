"""Per-tenant throttling of `aigw local` (the usage plan's 429 with Retry-After): the
clients wait as told and retry."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import pytest
from client_helpers import Gateway

import aigw
from aigw.client.models import PIPELINES

#: One request a second, no burst: the second request in a second is throttled.
GATEWAY_OPTIONS = (
    "--parameter",
    "TenantThrottleRate=1",
    "--parameter",
    "TenantThrottleBurst=1",
)


def _after_a_refill() -> None:
    """Each test starts with the tenant's bucket full (one request's worth)."""
    time.sleep(1.1)


class RecordingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.statuses.append(response.status_code)
        return response


class AsyncRecordingTransport(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.statuses.append(response.status_code)
        return response


def test_given_a_throttled_tenant_when_calling_quickly_then_429s_are_retried_and_succeed(
    gateway: Gateway,
) -> None:
    _after_a_refill()
    transport = RecordingTransport()
    with aigw.Client(gateway.url, gateway.api_key, transport=transport) as client:
        started = time.monotonic()
        answers = [client.pipelines() for _ in range(3)]
        elapsed = time.monotonic() - started

    assert all(len(pipelines) == len(PIPELINES) for pipelines in answers)
    assert 429 in transport.statuses
    assert transport.statuses.count(200) == 3
    assert elapsed >= 1.5  # Retry-After: 1, honoured


def test_given_no_retries_when_throttled_then_rate_limited_carries_retry_after(
    gateway: Gateway,
) -> None:
    _after_a_refill()
    with aigw.Client(gateway.url, gateway.api_key, max_retries=0) as client:
        client.pipelines()
        with pytest.raises(aigw.RateLimitedError) as raised:
            client.pipelines()

    assert raised.value.status == 429
    assert raised.value.code == "RateLimited"
    assert raised.value.retry_after == 1.0


def test_given_the_async_client_when_throttled_then_it_retries_and_succeeds(
    gateway: Gateway,
) -> None:
    _after_a_refill()
    transport = AsyncRecordingTransport()

    async def scenario() -> list[int]:
        async with aigw.AsyncClient(gateway.url, gateway.api_key, transport=transport) as client:
            return [len(await client.pipelines()) for _ in range(2)]

    assert asyncio.run(scenario()) == [len(PIPELINES)] * 2
    assert 429 in transport.statuses


def test_given_two_cli_runs_at_once_when_throttled_then_both_succeed(gateway: Gateway) -> None:
    _after_a_refill()
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aigw",
                "run",
                "text-insights",
                f"Call number {n} is fine.",
                "--json",
            ],
            env=gateway.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]

    outcomes = [run.communicate(timeout=60) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outcomes
