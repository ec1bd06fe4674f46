"""Who may use the gateway right now: tenants' status and the count of unknown keys per
source address, over the Tenants and Auth tables.

The authorizer, the WebSocket function and the notifier all ask :func:`tenant_status` at
the moment they act, never a cached answer, so suspending a tenant takes effect at once
for everything but API Gateway's own authorizer cache (its TTL, 30 s, in api/openapi.yaml).
"""

from __future__ import annotations

import time
from typing import Any


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
