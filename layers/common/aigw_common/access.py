"""Who may use the gateway right now: tenants' status, WebSocket connect tickets and the
count of unknown keys per source address, over the Tenants and Auth tables.

The authorizer, the WebSocket function and the notifier all ask :func:`tenant_status` at
the moment they act, never a cached answer, so suspending a tenant takes effect at once
for everything but API Gateway's own authorizer cache (its TTL, 30 s, in api/openapi.yaml).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

#: A connect ticket opens one WebSocket connection within this many seconds of its issue.
TICKET_SECONDS = 60
TICKET_PREFIX = "wst_"


def tenant_status(dynamodb: Any, tenants_table: str, tenant_id: str) -> str | None:
    """The tenant's status (``active``, ``pending``, ``suspended``), None when unknown."""
    if not tenant_id:
        return None
    item = dynamodb.get_item(
        TableName=tenants_table,
        Key={"tenant_id": {"S": tenant_id}},
        ProjectionExpression="#status",
        ExpressionAttributeNames={"#status": "status"},
        ConsistentRead=True,
    ).get("Item")
    if item is None:
        return None
    return str(item.get("status", {}).get("S", "pending"))


@dataclass(frozen=True)
class Ticket:
    ticket: str
    expires_at: str  # ISO 8601, UTC


class TicketStore:
    """Single-use WebSocket connect tickets: only their SHA-256 is stored, with a TTL.

    A browser cannot set headers on a WebSocket handshake, so it would have to put the API
    key in the URL, which access logs and proxies keep; a ticket in the URL is worth
    nothing once used or a minute old.
    """

    def __init__(self, dynamodb: Any, auth_table: str) -> None:
        self.dynamodb, self.table = dynamodb, auth_table

    @staticmethod
    def _key(ticket: str) -> dict[str, Any]:
        return {"pk": {"S": "ticket#" + hashlib.sha256(ticket.encode()).hexdigest()}}

    def issue(self, tenant_id: str, now: float | None = None) -> Ticket:
        now = time.time() if now is None else now
        ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
        expires = int(now) + TICKET_SECONDS
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                **self._key(ticket),
                "tenant_id": {"S": tenant_id},
                "expires_at": {"N": str(expires)},
            },
        )
        moment = datetime.datetime.fromtimestamp(expires, datetime.UTC)
        return Ticket(ticket, moment.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def redeem(self, ticket: str, now: float | None = None) -> str | None:
        """The tenant of an unexpired, unused ticket, which this call uses up (a
        conditional delete: of two connections racing with one ticket, one wins); None
        for anything else. DynamoDB's TTL deletes late, so expiry is checked here."""
        now = time.time() if now is None else now
        try:
            answer = self.dynamodb.delete_item(
                TableName=self.table,
                Key=self._key(ticket),
                ConditionExpression="attribute_exists(pk) AND expires_at > :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return str(answer["Attributes"]["tenant_id"]["S"])


class FailedKeyCounter:
    """Unknown API keys and tickets per source address, counted in fixed windows.

    An address with ``limit`` failures in the current and the previous window together is
    blocked: it may not try any key, valid ones included, so guessing learns nothing. Two
    windows, so that failures straddling a window's end count together. The counters
    expire by themselves (TTL) once no longer read.
    """

    def __init__(self, dynamodb: Any, auth_table: str, *, limit: int, window: int) -> None:
        self.dynamodb, self.table = dynamodb, auth_table
        self.limit, self.window = limit, window

    def _key(self, address: str, start: int) -> dict[str, Any]:
        return {"pk": {"S": f"failures#{address}#{start}"}}

    def blocked_for(self, address: str, now: float | None = None) -> int:
        """Seconds until ``address`` may try again (if it fails no more); 0: it may now."""
        now = time.time() if now is None else now
        current = int(now) // self.window * self.window
        keys = [self._key(address, current), self._key(address, current - self.window)]
        answer = self.dynamodb.batch_get_item(
            RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}}
        )
        counts = {
            item["pk"]["S"]: int(item["failures"]["N"])
            for item in answer.get("Responses", {}).get(self.table, [])
        }
        in_current = counts.get(keys[0]["pk"]["S"], 0)
        if in_current + counts.get(keys[1]["pk"]["S"], 0) < self.limit:
            return 0
        # Free once the failures counted no longer fill the two windows: when the current
        # one ends, or, if it alone is full, when the next one ends too.
        end = current + self.window + (self.window if in_current >= self.limit else 0)
        return max(1, end - int(now))

    def record(self, address: str, now: float | None = None) -> int:
        """Count one failure; the address's failures in the current window so far."""
        now = time.time() if now is None else now
        current = int(now) // self.window * self.window
        answer = self.dynamodb.update_item(
            TableName=self.table,
            Key=self._key(address, current),
            UpdateExpression="ADD failures :one SET expires_at = :expires",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                # Read as "the previous window" for one more window, then useless.
                ":expires": {"N": str(current + 2 * self.window)},
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["failures"]["N"])
