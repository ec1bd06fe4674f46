"""The REST API: pipelines, uploads, jobs, synchronous runs (SPEC §4), models and usage
(SPEC §6) and prompt templates (SPEC §7).

Thin routes over ``job_service.py``; errors become ``{"error": {code, message, request_id}}``
in exactly one place (``_gateway_error``). The tenant comes from the authorizer's context,
never from the request.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.metrics import MetricUnit
from event_subscriptions import EventSubscriptions
from job_service import JobService

from aigw_common.errors import GatewayError, InvalidInput, Unauthorized
from aigw_common.json_input import parse_json
from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from aigw_common.access import TicketStore


@dataclass(frozen=True)
class HttpSettings:
    #: The stack's AllowedOrigin. API Gateway answers the preflight (OPTIONS) and adds the
    #: header to its own errors; every answer of this function carries it too, or a browser
    #: could not read a 4xx or even a 200.
    allowed_origin: str
    #: Where WebSocket connect tickets are kept (their hashes, for 60 s).
    auth_table: str


logger = Logger()
tracer = LazyTracer()
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
event_subscriptions = EventSubscriptions.from_environment()


# Only its route uses the ticket store: made (its module imported) there, the first time.
@functools.cache
def _tickets() -> TicketStore:
    from aigw_common.access import TicketStore

    return TicketStore(LazyClient("dynamodb"), http_settings.auth_table)


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


@app.get("/models")
def list_models() -> Response:
    _tenant()
    return _json(200, service.list_models())


@app.post("/uploads")
def create_upload() -> Response:
    return _json(201, service.create_upload(_tenant(), _body()))


@app.post("/ws-tickets")
def create_websocket_ticket() -> Response:
    ticket = _tickets().issue(_tenant())
    return _json(201, {"ticket": ticket.ticket, "expires_at": ticket.expires_at})


@app.post("/subscriptions")
def create_event_subscription() -> Response:
    return _json(201, event_subscriptions.create(_tenant(), _body()))


@app.get("/subscriptions")
def list_event_subscriptions() -> Response:
    return _json(200, {"subscriptions": event_subscriptions.list(_tenant())})


@app.delete("/subscriptions/<subscription_id>")
def delete_event_subscription(subscription_id: str) -> Response:
    return _json(200, event_subscriptions.delete(_tenant(), subscription_id))


@app.post("/jobs")
def submit_job() -> Response:
    key = app.current_event.headers.get("Idempotency-Key")
    job = service.submit(_tenant(), _body(), idempotency_key=key)
    metrics.add_metric(name="JobsSubmitted", unit=MetricUnit.Count, value=1)
    if job.get("cached"):
        # Answered from the result cache: the job is done, with its result.
        metrics.add_metric(name="CacheHits", unit=MetricUnit.Count, value=1)
        return _json(200, job, {"Location": job["links"]["self"]})
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


@app.get("/usage")
def usage() -> Response:
    query = app.current_event.query_string_parameters or {}
    return _json(200, service.usage(_tenant(), query))


@app.post("/run/<pipeline>")
def run_pipeline(pipeline: str) -> Response:
    return _json(200, service.run(_tenant(), pipeline, _body()))


@app.post("/prompts")
def create_prompt() -> Response:
    from aigw_common.prompts import check_definition, check_name

    body = _body()
    name = check_name(body.get("name"))
    definition = check_definition(body, service.models.models)
    created, new = service.prompts.create(_tenant(), name, definition)
    # 200: the same definition again (a retry), nothing created.
    return _json(201 if new else 200, created.to_api(latest_version=created.version))


@app.put("/prompts/<name>")
def add_prompt_version(name: str) -> Response:
    from aigw_common.prompts import check_definition, check_name

    definition = check_definition(_body(), service.models.models)
    added, new = service.prompts.add_version(_tenant(), check_name(name), definition)
    return _json(201 if new else 200, added.to_api(latest_version=added.version))


@app.get("/prompts")
def list_prompts() -> Response:
    query = app.current_event.query_string_parameters or {}
    limit = _integer(query, "limit", 50, 1, 100)
    found, token = service.prompts.list(_tenant(), limit=limit, next_token=query.get("next_token"))
    body: dict[str, Any] = {"prompts": found}
    if token:
        body["next_token"] = token
    return _json(200, body)


@app.get("/prompts/<name>")
def get_prompt(name: str) -> Response:
    from aigw_common.prompts import check_name

    query = app.current_event.query_string_parameters or {}
    version = _integer(query, "version", None, 1, 999_999)
    found, latest = service.prompts.get(_tenant(), check_name(name), version)
    return _json(200, found.to_api(latest_version=latest))


@app.delete("/prompts/<name>")
def delete_prompt(name: str) -> Response:
    from aigw_common.prompts import check_name

    service.prompts.delete(_tenant(), check_name(name))
    return Response(status_code=204, content_type="application/json", body="")


def _integer(query: dict[str, str], name: str, default: Any, low: int, high: int) -> Any:
    if name not in query:
        return default
    try:
        value = int(query[name])
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be an integer from {low} to {high}")
    return value


@app.exception_handler(GatewayError)
def _gateway_error(error: GatewayError) -> Response:
    request_id = app.current_event.request_context.request_id
    if error.http_status >= 500:
        logger.error("request failed", extra={"code": error.code})
    retry_after = getattr(error, "retry_after", None)  # RateLimited, QuotaExceeded
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
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
