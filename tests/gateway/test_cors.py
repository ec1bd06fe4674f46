"""A browser on another origin can call the API: CORS end to end, through the local gateway.

Given the gateway deployed with AllowedOrigin set to a web app's origin, a browser's
preflight (OPTIONS, no key) is answered by API Gateway's mock integration, and every
answer carries Access-Control-Allow-Origin: the API function's (200 and its own 4xx) and
API Gateway's own gateway responses (no key, no route, invalid body, throttled), without
which the browser would hide the status and body from the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aigw.local.apis.rest_api import Request, Response, RestApi
from aigw.local.runtime import LocalRuntime
from aigw.tenants import NewTenant, create_tenant

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://app.example.com"


class FrozenClock:
    """Throttling time that stands still, so a burst of one is spent by one request."""

    def __call__(self) -> float:
        return 1000.0


@dataclass
class Browser:
    api: RestApi
    tenant: NewTenant

    def send(
        self,
        method: str,
        path: str,
        *,
        key: bool = True,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = {"Origin": ORIGIN, "Content-Type": "application/json", **(headers or {})}
        if key:
            sent["x-api-key"] = self.tenant.api_key
        return self.api.handle(Request(method, "/v1" + path, headers=sent, body=body))


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    parameters = {
        "AllowedOrigin": ORIGIN,
        "StageThrottleRate": "1000",
        "StageThrottleBurst": "2000",
    }
    with LocalRuntime(ROOT / "template.yaml", parameters=parameters) as started:
        yield started


@pytest.fixture
def browser(runtime: LocalRuntime) -> Browser:
    """A fresh stage (token buckets full) and a fresh tenant for each test."""
    tenant = create_tenant(
        runtime.client("dynamodb"), runtime.physical_id("TenantsTable"), "web-app"
    )
    return Browser(RestApi.from_runtime(runtime, clock=FrozenClock()), tenant)


def _listed(header: str | None) -> set[str]:
    return {item.strip().lower() for item in (header or "").split(",") if item.strip()}


@pytest.mark.parametrize(("path", "method"), [("/jobs", "POST"), ("/jobs/01ABC", "DELETE")])
def test_given_a_browser_preflight_then_api_gateway_allows_the_call_without_a_key(
    browser: Browser, path: str, method: str
) -> None:
    response = browser.send(
        "OPTIONS",
        path,
        key=False,
        headers={
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type,idempotency-key,x-api-key",
        },
    )

    assert response.status == 200
    assert response.gateway_error is None
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert method.lower() in _listed(response.headers["Access-Control-Allow-Methods"])
    assert {"content-type", "idempotency-key", "x-api-key"} <= _listed(
        response.headers["Access-Control-Allow-Headers"]
    )
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert browser.api.authorizer_calls == []


def test_given_a_successful_call_then_the_functions_answer_allows_the_origin(
    browser: Browser,
) -> None:
    response = browser.send("GET", "/pipelines")

    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_given_a_created_job_then_the_browser_may_read_its_location(browser: Browser) -> None:
    response = browser.send(
        "POST",
        "/jobs",
        body='{"pipeline": "text-insights", "input": {"text": "Good. Thanks for reading."}}',
    )

    assert response.status == 202
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "location" in _listed(response.headers["Access-Control-Expose-Headers"])


def test_given_an_error_from_the_function_then_it_allows_the_origin(browser: Browser) -> None:
    response = browser.send("GET", "/jobs/01J00000000000000000000000")

    assert response.status == 404
    assert response.gateway_error is None  # the API function's own 404
    assert response.json()["error"]["code"] == "NotFound"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize(
    ("method", "path", "key", "body", "status", "gateway_error"),
    [
        ("GET", "/pipelines", False, None, 401, "UNAUTHORIZED"),
        ("GET", "/no-such-route", True, None, 404, "MISSING_AUTHENTICATION_TOKEN"),
        ("POST", "/jobs", True, '{"pipeline": "nope"}', 400, "BAD_REQUEST_BODY"),
    ],
)
def test_given_an_error_from_api_gateway_itself_then_it_allows_the_origin(
    browser: Browser,
    method: str,
    path: str,
    key: bool,
    body: str | None,
    status: int,
    gateway_error: str,
) -> None:
    response = browser.send(method, path, key=key, body=body)

    assert (response.status, response.gateway_error) == (status, gateway_error)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_given_a_throttled_browser_then_it_may_read_when_to_retry(
    runtime: LocalRuntime, browser: Browser
) -> None:
    burst = int(runtime.template.parameters["TenantThrottleBurst"])
    for _ in range(burst):
        assert browser.send("GET", "/pipelines").status == 200

    response = browser.send("GET", "/pipelines")

    assert (response.status, response.gateway_error) == (429, "THROTTLED")
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Retry-After"] == "1"
    assert "retry-after" in _listed(response.headers["Access-Control-Expose-Headers"])
