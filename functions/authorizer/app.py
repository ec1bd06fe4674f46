"""REQUEST authorizer for the REST API and the WebSocket ``$connect`` route.

The API key arrives in the ``x-api-key`` header, on REST requests and WebSocket handshakes
alike; a client that cannot set headers on a handshake (a browser) connects with
``?ticket=`` from ``POST /v1/ws-tickets`` instead (single use, valid 60 s). Never in a URL:
access logs and proxies keep URLs, so ``?api_key=`` is refused. Only SHA-256s of keys and
tickets are stored; a key is looked up in the Tenants table.

An active tenant is allowed everywhere in the API (API Gateway caches the answer per key and
source address, so the policy must cover every route); a pending or suspended tenant is
denied (403); an unknown key or ticket is "Unauthorized" (401), the exact message API
Gateway requires for a 401. Each unknown key or ticket counts against its source address
(``aigw_common.access``): an address that sent ``failed_key_limit`` of them recently is
denied (403, the reason saying when to try again), valid keys included, so guessing keys
learns nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from aigw_common.access import FailedKeyCounter, TicketStore, tenant_status
from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()


@dataclass(frozen=True)
class Settings:
    tenants_table: str
    auth_table: str
    api_key_index: str = "ApiKeyHashIndex"
    #: Unknown keys one source address may send within one to two windows.
    failed_key_limit: int = 10
    failed_key_window_seconds: int = 300


settings = load_settings(Settings)
dynamodb = LazyClient("dynamodb")
tickets = TicketStore(dynamodb, settings.auth_table)
failures = FailedKeyCounter(
    dynamodb,
    settings.auth_table,
    limit=settings.failed_key_limit,
    window=settings.failed_key_window_seconds,
)
#: Issued keys have about 48 characters; a header longer than this is not one of them.
MAX_KEY_LENGTH = 256


class Unauthorized(Exception):
    """No known key or ticket: API Gateway answers 401 for exactly this message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def _well_formed(secret: str) -> bool:
    """Could this be a key or ticket the gateway issued? (Printable ASCII, 16 to 256
    characters.) Anything else is refused before it is hashed or looked up."""
    return 16 <= len(secret) <= MAX_KEY_LENGTH and secret.isascii() and secret.isprintable()


def _tenant(event: dict[str, Any]) -> dict[str, str]:
    """The tenant of the request's key (or, on ``$connect``, ticket): ``tenant_id``,
    ``status`` and, for a key, ``usage_key``."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    key = headers.get("x-api-key")
    if key is not None:
        return _tenant_by_key(key)
    ticket = (event.get("queryStringParameters") or {}).get("ticket")
    if ticket is not None and event["methodArn"].endswith("/$connect") and _well_formed(ticket):
        tenant_id = tickets.redeem(ticket)
        status = tenant_status(dynamodb, settings.tenants_table, tenant_id) if tenant_id else None
        if tenant_id is not None and status is not None:
            return {"tenant_id": tenant_id, "status": status}
    raise Unauthorized


def _tenant_by_key(key: str) -> dict[str, str]:
    if not _well_formed(key):
        raise Unauthorized
    answer = dynamodb.query(
        TableName=settings.tenants_table,
        IndexName=settings.api_key_index,
        KeyConditionExpression="api_key_hash = :hash",
        ExpressionAttributeValues={":hash": {"S": hashlib.sha256(key.encode()).hexdigest()}},
        Limit=1,
    )
    items = answer.get("Items", [])
    if not items:
        raise Unauthorized
    return {name: str(next(iter(value.values()))) for name, value in items[0].items()}


def _api_wide(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:api-id/stage/VERB/path → …:api-id/stage/*
    prefix, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0]
    return f"{prefix}/{stage}/*"


def _answer(principal: str, effect: str, method_arn: str, **context: str) -> dict[str, Any]:
    statement = {
        "Action": "execute-api:Invoke",
        "Effect": effect,
        "Resource": _api_wide(method_arn),
    }
    return {
        "principalId": principal,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": context,
    }


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    address = str(identity.get("sourceIp") or "")
    wait = failures.blocked_for(address) if address else 0
    if wait:
        logger.info("address blocked", extra={"retry_after": wait})
        reason = f"too many unknown API keys from {address}; try again in {wait} s"
        return _answer("blocked", "Deny", event["methodArn"], reason=reason)
    try:
        tenant = _tenant(event)
    except Unauthorized:
        if address:
            failures.record(address)
        logger.info("unknown API key or ticket")
        raise
    status = tenant.get("status", "pending")
    effect = "Allow" if status == "active" else "Deny"
    logger.info("authorized", extra={"tenant_id": tenant["tenant_id"], "effect": effect})
    answer = _answer(
        tenant["tenant_id"],
        effect,
        event["methodArn"],
        tenant_id=tenant["tenant_id"],
        tenant_status=status,
        reason="" if effect == "Allow" else f"the tenant is {status}",
    )
    if tenant.get("usage_key"):
        answer["usageIdentifierKey"] = tenant["usage_key"]
    return answer
