"""The gateway's template deployed on the offline runtime, with deterministic AI fakes.

Tests talk to it as a client would: through the REST API (API Gateway emulated from the
template and api/openapi.yaml: authorizer, validation, throttling, gateway responses).
"""

from __future__ import annotations

import json
import struct
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The common layer is on every function's path in Lambda (/opt/python); unit tests of the
# layer's modules import it the same way.
sys.path.insert(0, str(ROOT / "layers" / "common"))

from fakes import FakeServices  # noqa: E402

from aigw.local.apis.rest_api import Request, Response, RestApi  # noqa: E402
from aigw.local.runtime import LocalRuntime  # noqa: E402
from aigw.tenants import NewTenant, create_tenant, set_status  # noqa: E402


def png(width: int = 100, height: int = 100) -> bytes:
    """A grey PNG of the given size: Rekognition reads images of 80 to 10,000 pixels a side."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}


def assert_documented_shape(value: Any, component: str) -> None:
    """``value`` matches the named schema of api/openapi.yaml (the one source of shapes)."""
    import importlib.util

    from jsonschema import Draft7Validator

    spec = importlib.util.spec_from_file_location(
        "generate_pipeline_schemas", ROOT / "scripts" / "generate_pipeline_schemas.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    errors = list(Draft7Validator(module.component_schema(component)).iter_errors(value))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


@dataclass
class Gateway:
    runtime: LocalRuntime
    api: RestApi
    fakes: FakeServices
    tenant: NewTenant

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = "default",
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> Response:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["x-api-key"] = self.tenant.api_key if key == "default" else key
        raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
        return self.api.handle(
            Request(method, "/v1" + path, headers=all_headers, query=query, body=raw)
        )

    def new_tenant(self, name: str, status: str = "active") -> NewTenant:
        return create_tenant(
            self.runtime.client("dynamodb"),
            self.runtime.physical_id("TenantsTable"),
            name,
            status=status,
        )

    def set_status(self, tenant: NewTenant, status: str) -> None:
        set_status(
            self.runtime.client("dynamodb"),
            self.runtime.physical_id("TenantsTable"),
            tenant.tenant_id,
            status,
        )

    def submit(self, pipeline: str, pipeline_input: dict[str, Any], **kw: Any) -> str:
        answer = self.request(
            "POST", "/jobs", {"pipeline": pipeline, "input": pipeline_input}, **kw
        )
        assert answer.status == 202, answer.body
        return answer.json()["job_id"]

    @contextmanager
    def held(self) -> Iterator[threading.Event]:
        """Text jobs stay RUNNING (in their language detection) until the event is set or
        the block ends; then their executions finish, leaving no thread behind."""
        release = threading.Event()
        detect = self.fakes.detect_dominant_language

        def held(params: dict[str, Any]) -> dict[str, Any]:
            release.wait(60)
            return detect(params)

        with self.runtime.providers.override("comprehend", "DetectDominantLanguage", held):
            try:
                yield release
            finally:
                release.set()
        self.runtime.drain(30)

    def running(self, job_id: str, *, key: str = "default", timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.request("GET", f"/jobs/{job_id}", key=key).json()["status"] != "RUNNING":
            assert time.monotonic() < deadline, f"job {job_id} never started running"
            time.sleep(0.02)

    def wait(self, job_id: str, *, key: str = "default", timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.request("GET", f"/jobs/{job_id}", key=key).json()
            if job.get("status") in TERMINAL:
                self.runtime.drain()
                return job
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")


@contextmanager
def open_gateway(**parameters: str) -> Iterator[Gateway]:
    """The template deployed with ``parameters`` over the test defaults."""
    # Tests poll quickly; the throttle itself is tested in tests/runtime/test_rest_api.py.
    generous = {
        "TenantThrottleRate": "1000",
        "TenantThrottleBurst": "2000",
        "StageThrottleRate": "1000",
        "StageThrottleBurst": "2000",
    }
    template = ROOT / "template.yaml"
    with LocalRuntime(template, time_scale=0.001, parameters=generous | parameters) as runtime:
        fakes = FakeServices(runtime).install()
        tenant = create_tenant(
            runtime.client("dynamodb"), runtime.physical_id("TenantsTable"), "acme"
        )
        try:
            yield Gateway(runtime, RestApi.from_runtime(runtime), fakes, tenant)
        finally:
            fakes.uninstall()  # providers are process-wide: leave none behind


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with open_gateway() as gateway:
        yield gateway


@pytest.fixture(scope="module", params=["express", "standard"])
def job_path(request: pytest.FixtureRequest) -> str:
    """Both ways a job runs: Express-first (the default template), and every pipeline on the
    Standard job-runner (the template with ``ExpressJobPipelines`` empty)."""
    return str(request.param)


@pytest.fixture(scope="module")
def gateway_on_each_job_path(job_path: str) -> Iterator[Gateway]:
    """A gateway deployed for ``job_path``: a module's tests run once on each path."""
    parameters = {} if job_path == "express" else {"ExpressJobPipelines": ""}
    with open_gateway(**parameters) as gateway:
        yield gateway
