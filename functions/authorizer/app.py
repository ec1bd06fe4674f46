"""REQUEST authorizer for the REST API and the WebSocket ``$connect`` route.

The API key arrives in the ``x-api-key`` header (REST) or the ``api_key`` query parameter
(WebSocket). Only its SHA-256 is stored; it is looked up in the Tenants table. An active
tenant is allowed everywhere in the API (the answer is cached per key, so the policy must
cover every route); a pending or suspended tenant is denied (403); an unknown key is
"Unauthorized" (401), which is the exact message API Gateway requires for a 401.
"""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from aigw_common.settings import load_settings

logger = Logger()
tracer = Tracer()


class Settings(BaseModel):
    tenants_table: str
    api_key_index: str = "ApiKeyHashIndex"


settings = load_settings(Settings)
#: Issued keys have about 48 characters; a header longer than this is not one of them.
MAX_KEY_LENGTH = 256
dynamodb = boto3.client("dynamodb")


def _api_key(event: dict[str, Any]) -> str | None:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    query = event.get("queryStringParameters") or {}
    return headers.get("x-api-key") or query.get("api_key")


def _well_formed(key: str) -> bool:
    """Could this be a key the gateway issued? (Printable ASCII, 16 to 256 characters.)
    Anything else is refused before it is hashed or looked up."""
    return 16 <= len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()


def _tenant(key_hash: str) -> dict[str, Any] | None:
    answer = dynamodb.query(
        TableName=settings.tenants_table,
        IndexName=settings.api_key_index,
        KeyConditionExpression="api_key_hash = :hash",
        ExpressionAttributeValues={":hash": {"S": key_hash}},
        Limit=1,
    )
    items = answer.get("Items", [])
    return {name: next(iter(value.values())) for name, value in items[0].items()} if items else None


def _api_wide(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:api-id/stage/VERB/path → …:api-id/stage/*
    prefix, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0]
    return f"{prefix}/{stage}/*"


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    key = _api_key(event)
    if not key or not _well_formed(key):
        raise Exception("Unauthorized")
    tenant = _tenant(hashlib.sha256(key.encode()).hexdigest())
    if tenant is None:
        logger.info("unknown API key")
        raise Exception("Unauthorized")
    status = tenant.get("status", "pending")
    effect = "Allow" if status == "active" else "Deny"
    logger.info("authorized", extra={"tenant_id": tenant["tenant_id"], "effect": effect})
    answer: dict[str, Any] = {
        "principalId": tenant["tenant_id"],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": _api_wide(event["methodArn"]),
                }
            ],
        },
        "context": {
            "tenant_id": tenant["tenant_id"],
            "tenant_status": status,
            "reason": "" if effect == "Allow" else f"the tenant is {status}",
        },
    }
    if tenant.get("usage_key"):
        answer["usageIdentifierKey"] = tenant["usage_key"]
    return answer
