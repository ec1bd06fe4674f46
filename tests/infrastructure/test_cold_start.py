"""A cold start imports only what every invocation needs: no handler builds a boto3 client
or imports the X-Ray SDK at import time (both are made on first use, aigw_common.lazy),
settings are read without pydantic (aigw_common.settings), jsonschema is imported where a
submission or a prompt's variables are validated, and no handler imports pydantic (the job
model, a workflow state's payload and the predict model catalogue are plain classes checked
by aigw_common.state_input), and none imports Powertools' event handler (its package
imports every resolver it has; the API routes with functions/api/rest_routing.py). The API
imports what only some routes use at their first call: its cold start, and a poll of a job
after it, load none of it.

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
EVENT_HANDLER = "aws_lambda_powertools.event_handler"
print(json.dumps({{
    "clients": made,
    "xray": sorted(m for m in sys.modules if "xray" in m),
    "heavy": sorted({{"pydantic", "jsonschema"}} & set(sys.modules)),
    "event_handler": sorted(m for m in sys.modules if m.startswith(EVENT_HANDLER)),
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
        "event_handler": [],
    }


#: What only some of the API's routes use (submissions and runs, prompts, usage, models,
#: subscriptions, WebSocket tickets), imported by those routes at first use; reading a job
#: needs none of them but the job model.
API_ROUTE_MODULES = {
    "aigw_common.access",
    "aigw_common.failures",
    "aigw_common.llm",
    "aigw_common.metering",
    "aigw_common.pipelines",
    "aigw_common.predict_models",
    "aigw_common.prompt_repository",
    "aigw_common.prompts",
    "aigw_common.result_cache",
    "aigw_common.tenant_settings",
    "aigw_common.text",
    "aigw_common.usage",
}

#: The API's cold start, then a poll (GET /v1/jobs/{id}) of a finished job, with DynamoDB's
#: answer given by botocore's before-send event (no network; the request is built, signed
#: and its answer parsed as on AWS). Prints the layer's modules loaded after each.
API_POLL_PROBE = """
import json, sys
sys.path[:0] = {paths!r}
import app
from botocore.awsrequest import AWSResponse
loaded = lambda: sorted(m for m in sys.modules if m.startswith("aigw_common."))
imported = loaded()
job_id = "01JAAAAAAAAAAAAAAAAAAAAAAA"
item = {{
    "tenant_id": {{"S": "t-1"}}, "job_id": {{"S": job_id}}, "pipeline": {{"S": "text-insights"}},
    "status": {{"S": "SUCCEEDED"}}, "created_at": {{"S": "2026-01-01T00:00:00Z"}},
    "updated_at": {{"S": "2026-01-01T00:00:01Z"}},
    "result": {{"S": json.dumps({{"language": "en"}})}},
}}
class Body:
    def __init__(self, data): self.data = data
    def stream(self, **kwargs): yield self.data
def answer(request, **kwargs):
    assert request.headers["X-Amz-Target"] == b"DynamoDB_20120810.GetItem", request.headers
    body = json.dumps({{"Item": item}}).encode()
    headers = {{"content-type": "application/x-amz-json-1.0"}}
    return AWSResponse(request.url, 200, headers, Body(body))
import boto3
boto3.setup_default_session()
boto3.DEFAULT_SESSION._session.register("before-send", answer)
event = {{
    "resource": "/jobs/{{job_id}}", "path": "/jobs/" + job_id, "httpMethod": "GET",
    "headers": {{}}, "queryStringParameters": None, "pathParameters": {{"job_id": job_id}},
    "requestContext": {{"requestId": "r-1", "authorizer": {{"tenant_id": "t-1"}}}},
    "body": None, "isBase64Encoded": False,
}}
class Context:
    function_name = "api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id = "r-1"
response = app.handler(event, Context())
EVENT_HANDLER = "aws_lambda_powertools.event_handler"
event_handler = sorted(m for m in sys.modules if m.startswith(EVENT_HANDLER))
print(json.dumps({{
    "imported": imported, "polled": loaded(), "response": response,
    "event_handler": event_handler,
}}))
"""


def test_the_api_cold_start_and_a_poll_load_none_of_the_modules_other_routes_use() -> None:
    """Given the API's cold start, when it answers GET /v1/jobs/{id}, then the job is read
    with the job model and the Jobs table alone: the pipeline catalogue, metering, usage,
    the result cache, prompts and the rest stay unloaded until a route that uses them."""
    api = next(f for f in FUNCTIONS if f["name"] == "ApiFunction")
    probe = API_POLL_PROBE.format(paths=[str(api["code_dir"]), str(LAYER)])
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=api["code_dir"],
        # Tracing off: the X-Ray SDK's first invocation would look for a daemon.
        env={
            **COLD_START._lambda_environment(api["environment"]),
            "POWERTOOLS_TRACE_DISABLED": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    assert answer["response"]["statusCode"] == 200, answer["response"]
    job = json.loads(answer["response"]["body"])
    assert (job["status"], job["result"]) == ("SUCCEEDED", {"language": "en"})
    assert "aigw_common.models" not in answer["imported"]
    assert API_ROUTE_MODULES & set(answer["imported"]) == set()
    assert API_ROUTE_MODULES & set(answer["polled"]) == set()
    assert "aigw_common.models" in answer["polled"]  # the probe did read a job
    # Routed by the resource API Gateway matched (functions/api/rest_routing.py), not by
    # Powertools' event handler, whose package imports all its resolvers (about 20 ms).
    assert answer["event_handler"] == []


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
