"""The REST API: pipelines, uploads, jobs and synchronous runs (SPEC §4).

Thin routes over ``service.py``; errors become ``{"error": {code, message, request_id}}``
in exactly one place (``_gateway_error``). The tenant comes from the authorizer's context,
never from the request.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from job_service import JobService
from pydantic import BaseModel

from aigw_common.errors import GatewayError, InvalidInput, RateLimited, Unauthorized
from aigw_common.json_input import parse_json
from aigw_common.settings import load_settings


class HttpSettings(BaseModel):
    #: The stack's AllowedOrigin. API Gateway answers the preflight (OPTIONS) and adds the
    #: header to its own errors; every answer of this function carries it too, or a browser
    #: could not read a 4xx or even a 200.
    allowed_origin: str


logger = Logger()
tracer = Tracer()
metrics = Metrics()
http_settings = load_settings(HttpSettings)
app = APIGatewayRestResolver(
    cors=CORSConfig(
        allow_origin=http_settings.allowed_origin,
        # Browsers hide response headers from scripts unless they are exposed.
        expose_headers=["Location", "Retry-After", "x-amzn-RequestId"],
    )
)
service = JobService.from_environment()


def _tenant() -> str:
    authorizer = app.current_event.request_context.authorizer or {}
    tenant_id = authorizer.get("tenant_id") or authorizer.get("principalId")
    if not tenant_id:
        raise Unauthorized("no tenant in the request context")
    return str(tenant_id)


def _body() -> dict[str, Any]:
    body = parse_json(app.current_event.body)
    if not isinstance(body, dict):
        raise InvalidInput(f"the request body must be a JSON object, not {_json_type(body)}")
    return body


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers=headers or {},
    )


@app.get("/pipelines")
def list_pipelines() -> Response:
    _tenant()
    return _json(200, {"pipelines": service.pipelines()})


@app.post("/uploads")
def create_upload() -> Response:
    return _json(201, service.create_upload(_tenant(), _body()))


@app.post("/jobs")
def submit_job() -> Response:
    key = app.current_event.headers.get("Idempotency-Key")
    job = service.submit(_tenant(), _body(), idempotency_key=key)
    metrics.add_metric(name="JobsSubmitted", unit=MetricUnit.Count, value=1)
    return _json(202, job, {"Location": job["links"]["self"]})


@app.get("/jobs")
def list_jobs() -> Response:
    query = app.current_event.query_string_parameters or {}
    return _json(200, service.list_jobs(_tenant(), query))


@app.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    return _json(200, service.get_job(_tenant(), job_id))


@app.delete("/jobs/<job_id>")
def cancel_job(job_id: str) -> Response:
    return _json(200, service.cancel(_tenant(), job_id))


@app.post("/run/<pipeline>")
def run_pipeline(pipeline: str) -> Response:
    return _json(200, service.run(_tenant(), pipeline, _body()))


@app.exception_handler(GatewayError)
def _gateway_error(error: GatewayError) -> Response:
    request_id = app.current_event.request_context.request_id
    if error.http_status >= 500:
        logger.error("request failed", extra={"code": error.code})
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else {}
    return _json(error.http_status, error.body(request_id), headers)


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    logger.exception("unexpected error")
    request_id = app.current_event.request_context.request_id
    body = {"error": {"code": "Internal", "message": "internal error", "request_id": request_id}}
    return _json(500, body)


@app.not_found
def _not_found(_: Exception) -> Response:
    request_id = app.current_event.request_context.request_id
    message = f"no route {app.current_event.http_method} {app.current_event.path}"
    return _json(404, {"error": {"code": "NotFound", "message": message, "request_id": request_id}})


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
