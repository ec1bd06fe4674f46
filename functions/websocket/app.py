"""WebSocket routes: ``$connect`` (already authorized by the API key), ``subscribe`` and
``unsubscribe`` for jobs the caller's tenant owns, ``$disconnect``, ``$default``.

On subscribe the job's current status is sent at once, so a client that subscribes late
never misses a terminal state. Replies go through the @connections API. A tenant that is no
longer active (suspended while connected) gets a ``Forbidden`` error and its connection is
closed, as the notifier closes it when a job event arrives.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from aigw_common.access import tenant_status
from aigw_common.errors import GatewayError, InvalidInput
from aigw_common.ids import is_job_id
from aigw_common.jobs import JobRepository
from aigw_common.json_input import excerpt, parse_json
from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()
#: API Gateway closes a WebSocket after 2 hours; items outlive it a little, then expire.
CONNECTION_TTL_SECONDS = 3 * 3600
NOT_ACTIVE = "the tenant is not active: the connection is closed"


@dataclass(frozen=True)
class Settings:
    jobs_table: str
    connections_table: str
    tenants_table: str
    websocket_endpoint: str


settings = load_settings(Settings)
dynamodb = LazyClient("dynamodb")
jobs = JobRepository(settings.jobs_table, dynamodb)
connections = LazyClient("apigatewaymanagementapi", endpoint_url=settings.websocket_endpoint)


def _send(connection_id: str, message: dict[str, Any]) -> None:
    connections.post_to_connection(ConnectionId=connection_id, Data=json.dumps(message).encode())


def _put(pk: str, sk: str, **attributes: str) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": sk}}
    item["expires_at"] = {"N": str(int(time.time()) + CONNECTION_TTL_SECONDS)}
    item.update({name: {"S": value} for name, value in attributes.items()})
    dynamodb.put_item(TableName=settings.connections_table, Item=item)


def _delete(pk: str, sk: str) -> None:
    dynamodb.delete_item(
        TableName=settings.connections_table, Key={"pk": {"S": pk}, "sk": {"S": sk}}
    )


def connect(connection_id: str, tenant_id: str) -> None:
    _put(f"conn#{connection_id}", "meta", tenant_id=tenant_id)


def disconnect(connection_id: str) -> None:
    answer = dynamodb.query(
        TableName=settings.connections_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"conn#{connection_id}"}},
    )
    for item in answer.get("Items", []):
        sort_key = item["sk"]["S"]
        if sort_key.startswith("job#"):
            _delete(sort_key, f"conn#{connection_id}")
        _delete(f"conn#{connection_id}", sort_key)


def subscribe(connection_id: str, tenant_id: str, job_id: str) -> None:
    if tenant_status(dynamodb, settings.tenants_table, tenant_id) != "active":
        _send(connection_id, {"type": "error", "code": "Forbidden", "message": NOT_ACTIVE})
        close(connection_id)
        return
    jobs.get(tenant_id, job_id)  # NotFound for another tenant's job too
    _put(f"job#{job_id}", f"conn#{connection_id}", tenant_id=tenant_id)
    _put(f"conn#{connection_id}", f"job#{job_id}")
    # The status is read after the subscription is stored: a change written before this
    # read is in it, and one written after finds the subscription and is pushed. Read
    # before, a change landing in between would be neither (a client waiting forever).
    job = jobs.get(tenant_id, job_id)
    status: dict[str, Any] = {"type": "job.status", "job_id": job_id, "status": job.status.value}
    if job.progress is not None:
        status["progress"] = job.progress.record()
    if job.error is not None:
        status["error"] = job.error.record()
    _send(connection_id, status)


def close(connection_id: str) -> None:
    """Close the connection (its $disconnect then forgets its subscriptions)."""
    with contextlib.suppress(connections.exceptions.GoneException):  # already closed
        connections.delete_connection(ConnectionId=connection_id)


def unsubscribe(connection_id: str, job_id: str) -> None:
    _delete(f"job#{job_id}", f"conn#{connection_id}")
    _delete(f"conn#{connection_id}", f"job#{job_id}")


def _job_id(event: dict[str, Any]) -> str:
    """The ``job_id`` of a subscribe or unsubscribe message, checked before any lookup."""
    if event.get("isBase64Encoded"):
        raise InvalidInput('messages are JSON text: {"action": "subscribe", "job_id": "..."}')
    body = parse_json(event.get("body"), "the message")
    if not isinstance(body, dict) or "job_id" not in body:
        raise InvalidInput('send {"action": "subscribe", "job_id": "..."}')
    job_id = body["job_id"]
    if not isinstance(job_id, str) or not is_job_id(job_id):
        raise InvalidInput(
            f"job_id {excerpt(job_id)} is not a job id (26 characters, as POST /v1/jobs answers)"
        )
    return job_id


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event["requestContext"]
    route, connection_id = request["routeKey"], request["connectionId"]
    tenant_id = str((request.get("authorizer") or {}).get("tenant_id", ""))
    try:
        if route == "$connect":
            connect(connection_id, tenant_id)
        elif route == "$disconnect":
            disconnect(connection_id)
        elif route == "subscribe":
            subscribe(connection_id, tenant_id, _job_id(event))
        elif route == "unsubscribe":
            unsubscribe(connection_id, _job_id(event))
        else:
            # The route key is the template's ($default), never the client's text.
            raise InvalidInput(f"unknown action; use subscribe or unsubscribe (got {route})")
    except GatewayError as error:
        _send(connection_id, {"type": "error", "code": error.code, "message": error.message})
    return {"statusCode": 200}
