"""A cold start imports only what every invocation needs: no handler builds a boto3 client
or imports the X-Ray SDK at import time (both are made on first use, aigw_common.lazy),
settings are read without pydantic (aigw_common.settings), jsonschema is imported where a
submission or a prompt's variables are validated, and no handler imports pydantic (the job
model, a workflow state's payload and the predict model catalogue are plain classes checked
by aigw_common.state_input).

Each handler is imported the way Lambda imports it (a fresh interpreter, its CodeUri and the
common layer on the path, its template environment), as bench/cold_start.py does when it
times them; this test counts instead of timing.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"
sys.path.insert(0, str(LAYER))

from aigw_common.lazy import LazyClient, LazyTracer  # noqa: E402
from aigw_common.settings import load_settings  # noqa: E402


def _bench_cold_start() -> Any:
    spec = importlib.util.spec_from_file_location("cold_start", ROOT / "bench" / "cold_start.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COLD_START = _bench_cold_start()
FUNCTIONS = COLD_START.functions()

PROBE = """
import json, sys
import botocore.session
made = []
create = botocore.session.Session.create_client
def counted(self, service_name, *args, **kwargs):
    made.append(service_name)
    return create(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = counted
sys.path[:0] = {paths!r}
import {module}
print(json.dumps({{
    "clients": made,
    "xray": sorted(m for m in sys.modules if "xray" in m),
    "heavy": sorted({{"pydantic", "jsonschema"}} & set(sys.modules)),
}}))
"""


@pytest.mark.parametrize("function", FUNCTIONS, ids=[f["name"] for f in FUNCTIONS])
def test_importing_a_handler_builds_no_client_and_imports_only_what_every_event_needs(
    function: dict[str, Any],
) -> None:
    probe = PROBE.format(paths=[str(function["code_dir"]), str(LAYER)], module=function["module"])
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=function["code_dir"],
        env=COLD_START._lambda_environment(function["environment"]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    imported = json.loads(completed.stdout.strip().splitlines()[-1])
    assert imported == {
        "clients": [],
        "xray": [],
        "heavy": [],
    }


def test_a_lazy_client_is_made_once_on_first_use_and_answers_as_the_client() -> None:
    client = LazyClient("sqs", region_name="us-east-1")
    assert client._client is None
    threads = [threading.Thread(target=lambda: client.meta) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = client._client
    assert made is not None and made.meta.service_model.service_name == "sqs"
    assert client.exceptions.QueueDoesNotExist is made.exceptions.QueueDoesNotExist
    assert client._client is made


def test_a_lazy_tracer_traces_from_the_first_invocation() -> None:
    tracer = LazyTracer(disabled=True)
    calls = []

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        return {"ok": event["n"]}

    assert tracer._tracer is None and handler.__name__ == "handler"
    assert handler({"n": 1}, None) == {"ok": 1}
    made = tracer._tracer
    assert made is not None
    assert handler({"n": 2}, None) == {"ok": 2}
    assert tracer._tracer is made and calls == [{"n": 1}, {"n": 2}]


@dataclass(frozen=True)
class ExampleSettings:
    jobs_table: str
    limit: int = 10


def test_settings_come_from_the_environment_with_types_and_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOBS_TABLE", "jobs-1")
    monkeypatch.delenv("LIMIT", raising=False)
    assert load_settings(ExampleSettings) == ExampleSettings("jobs-1", 10)
    monkeypatch.setenv("LIMIT", "25")
    assert load_settings(ExampleSettings).limit == 25


def test_bad_settings_stop_the_cold_start_naming_every_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOBS_TABLE", raising=False)
    monkeypatch.setenv("LIMIT", "ten")
    with pytest.raises(RuntimeError) as stopped:
        load_settings(ExampleSettings)
    assert str(stopped.value) == (
        "invalid function configuration: JOBS_TABLE: missing; LIMIT: 'ten' is not a valid int"
    )
