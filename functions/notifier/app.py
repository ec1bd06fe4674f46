"""Pushes job events from the job-event topic to the WebSocket connections subscribed to
the job, and forgets connections that are gone (410).

The tenant's status is read before pushing (never cached): a tenant suspended while
connected gets nothing more, and its subscribed connections are closed.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from aigw_common.access import tenant_status
from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()


@dataclass(frozen=True)
class Settings:
    connections_table: str
    tenants_table: str
    websocket_endpoint: str


settings = load_settings(Settings)
dynamodb = LazyClient("dynamodb")
connections = LazyClient("apigatewaymanagementapi", endpoint_url=settings.websocket_endpoint)


def _subscribers(job_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {
        "TableName": settings.connections_table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"job#{job_id}"}},
    }
    while True:
        page = dynamodb.query(**query)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _forget(connection_id: str, job_id: str) -> None:
    for pk, sk in ((f"job#{job_id}", f"conn#{connection_id}"), (f"conn#{connection_id}", "meta")):
        dynamodb.delete_item(
            TableName=settings.connections_table, Key={"pk": {"S": pk}, "sk": {"S": sk}}
        )


def _close(connection_id: str) -> None:
    with contextlib.suppress(connections.exceptions.GoneException):  # already closed
        connections.delete_connection(ConnectionId=connection_id)


def notify(event: dict[str, Any]) -> int:
    message = {"type": "job.status", "job_id": event["job_id"], "status": event["status"]}
    for optional in ("progress", "error"):
        if optional in event:
            message[optional] = event[optional]
    data = json.dumps(message).encode()
    subscribers = [
        subscriber["sk"]["S"].removeprefix("conn#")
        for subscriber in _subscribers(event["job_id"])
        # never another tenant's connection, whatever the table says
        if subscriber.get("tenant_id", {}).get("S") == event["tenant_id"]
    ]
    if (
        subscribers
        and tenant_status(dynamodb, settings.tenants_table, event["tenant_id"]) != "active"
    ):
        for connection_id in subscribers:
            _close(connection_id)
            _forget(connection_id, event["job_id"])
        return 0
    sent = 0
    for connection_id in subscribers:
        try:
            connections.post_to_connection(ConnectionId=connection_id, Data=data)
            sent += 1
        except connections.exceptions.GoneException:
            _forget(connection_id, event["job_id"])
    return sent


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sent = sum(notify(json.loads(record["Sns"]["Message"])) for record in event["Records"])
    logger.info("notified", extra={"messages": sent})
    return {"sent": sent}
