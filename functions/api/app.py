"""The REST API: pipelines, uploads, jobs, synchronous runs (SPEC §4), models and usage
(SPEC §6) and prompt templates (SPEC §7).

Thin routes over ``job_service.py``, routed by ``rest_routing.py`` (the resource and method
API Gateway matched) and handed their request; errors, an unknown route's included, become
``{"error": {code, message, request_id}}`` in exactly one place (``_gateway_error``). The
tenant comes from the authorizer's context, never from the request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from event_subscriptions import EventSubscriptions
from job_service import JobService
from rest_routing import Cors, Request, Response, Router, json_response

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
router = Router(
    Cors(
        http_settings.allowed_origin,
        # Browsers hide response headers from scripts unless they are exposed.
        expose_headers=("Location", "Retry-After", "x-amzn-RequestId"),
    )
)
service = JobService.from_environment()
event_subscriptions = EventSubscriptions.from_environment()


# Only its route uses the ticket store: made (its module imported) there, the first time.
@functools.cache
def _tickets() -> TicketStore:
    from aigw_common.access import TicketStore

    return TicketStore(LazyClient("dynamodb"), http_settings.auth_table)


def _tenant(request: Request) -> str:
    authorizer = request.authorizer
    tenant_id = authorizer.get("tenant_id") or authorizer.get("principalId")
    if not tenant_id:
        raise Unauthorized("no tenant in the request context")
    return str(tenant_id)


def _body(request: Request) -> dict[str, Any]:
    body = parse_json(request.body)
    if not isinstance(body, dict):
        raise InvalidInput(f"the request body must be a JSON object, not {_json_type(body)}")
    return body


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


@router.get("/pipelines")
def list_pipelines(request: Request) -> Response:
    _tenant(request)
    return json_response(200, {"pipelines": service.pipelines()})


@router.get("/models")
def list_models(request: Request) -> Response:
    _tenant(request)
    return json_response(200, service.list_models())


@router.post("/uploads")
def create_upload(request: Request) -> Response:
    return json_response(201, service.create_upload(_tenant(request), _body(request)))


@router.post("/ws-tickets")
def create_websocket_ticket(request: Request) -> Response:
    ticket = _tickets().issue(_tenant(request))
    return json_response(201, {"ticket": ticket.ticket, "expires_at": ticket.expires_at})


@router.post("/subscriptions")
def create_event_subscription(request: Request) -> Response:
    return json_response(201, event_subscriptions.create(_tenant(request), _body(request)))


@router.get("/subscriptions")
def list_event_subscriptions(request: Request) -> Response:
    return json_response(200, {"subscriptions": event_subscriptions.list(_tenant(request))})


@router.delete("/subscriptions/{subscription_id}")
def delete_event_subscription(request: Request, subscription_id: str) -> Response:
    return json_response(200, event_subscriptions.delete(_tenant(request), subscription_id))


@router.post("/jobs")
def submit_job(request: Request) -> Response:
    key = request.header("Idempotency-Key")
    job = service.submit(_tenant(request), _body(request), idempotency_key=key)
    metrics.add_metric(name="JobsSubmitted", unit=MetricUnit.Count, value=1)
    if job.get("cached"):
        # Answered from the result cache: the job is done, with its result.
        metrics.add_metric(name="CacheHits", unit=MetricUnit.Count, value=1)
        return json_response(200, job, {"Location": job["links"]["self"]})
    return json_response(202, job, {"Location": job["links"]["self"]})


@router.get("/jobs")
def list_jobs(request: Request) -> Response:
    return json_response(200, service.list_jobs(_tenant(request), request.query))


@router.get("/jobs/{job_id}")
def get_job(request: Request, job_id: str) -> Response:
    return json_response(200, service.get_job(_tenant(request), job_id))


@router.delete("/jobs/{job_id}")
def cancel_job(request: Request, job_id: str) -> Response:
    return json_response(200, service.cancel(_tenant(request), job_id))


@router.get("/usage")
def usage(request: Request) -> Response:
    return json_response(200, service.usage(_tenant(request), request.query))


@router.post("/run/{pipeline}")
def run_pipeline(request: Request, pipeline: str) -> Response:
    return json_response(200, service.run(_tenant(request), pipeline, _body(request)))


@router.post("/prompts")
def create_prompt(request: Request) -> Response:
    from aigw_common.prompts import check_definition, check_name

    body = _body(request)
    name = check_name(body.get("name"))
    definition = check_definition(body, service.models.models)
    created, new = service.prompts.create(_tenant(request), name, definition)
    # 200: the same definition again (a retry), nothing created.
    return json_response(201 if new else 200, created.to_api(latest_version=created.version))


@router.put("/prompts/{name}")
def add_prompt_version(request: Request, name: str) -> Response:
    from aigw_common.prompts import check_definition, check_name

    definition = check_definition(_body(request), service.models.models)
    added, new = service.prompts.add_version(_tenant(request), check_name(name), definition)
    return json_response(201 if new else 200, added.to_api(latest_version=added.version))


@router.get("/prompts")
def list_prompts(request: Request) -> Response:
    query = request.query
    limit = _integer(query, "limit", 50, 1, 100)
    found, token = service.prompts.list(
        _tenant(request), limit=limit, next_token=query.get("next_token")
    )
    body: dict[str, Any] = {"prompts": found}
    if token:
        body["next_token"] = token
    return json_response(200, body)


@router.get("/prompts/{name}")
def get_prompt(request: Request, name: str) -> Response:
    from aigw_common.prompts import check_name

    query = request.query
    version = _integer(query, "version", None, 1, 999_999)
    found, latest = service.prompts.get(_tenant(request), check_name(name), version)
    return json_response(200, found.to_api(latest_version=latest))


@router.delete("/prompts/{name}")
def delete_prompt(request: Request, name: str) -> Response:
    from aigw_common.prompts import check_name

    service.prompts.delete(_tenant(request), check_name(name))
    return Response(204, "", {"Content-Type": "application/json"})


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


@router.exception_handler(GatewayError)
def _gateway_error(request: Request, error: GatewayError) -> Response:
    if error.http_status >= 500:
        logger.error("request failed", extra={"code": error.code})
    retry_after = getattr(error, "retry_after", None)  # RateLimited, QuotaExceeded
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    # An unknown route is the router's NotFound ("no route GET /path"), answered here too.
    return json_response(error.http_status, error.body(request.request_id), headers)


@router.exception_handler(Exception)
def _unexpected(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error")
    body = {
        "error": {"code": "Internal", "message": "internal error", "request_id": request.request_id}
    }
    return json_response(500, body)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return router.resolve(event)
