"""A tenant's limits and result-cache defaults, as stored on its item in the Tenants table
(written by ``aigw tenants update``; src/aigw/tenants.py names the same attributes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from aigw_common.errors import Unauthorized

#: A cached result is kept this long unless the tenant says otherwise (at most 30 days,
#: the life of the result objects a cache entry may point at).
DEFAULT_CACHE_TTL_SECONDS = 24 * 3600
MAX_CACHE_TTL_SECONDS = 30 * 24 * 3600
LIMIT_NAMES = ("max_concurrent_jobs", "monthly_budget_usd", "monthly_jobs")

_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class Limits:
    """None: unlimited."""

    max_concurrent_jobs: int | None = None
    monthly_budget_usd: Decimal | None = None
    monthly_jobs: int | None = None


@dataclass(frozen=True)
class TenantSettings:
    limits: Limits = Limits()
    cache_by_default: bool = False
    cache_ttl_seconds: int = DEFAULT_CACHE_TTL_SECONDS

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TenantSettings:
        values = {name: _deserializer.deserialize(value) for name, value in item.items()}

        def whole(name: str) -> int | None:
            value = values.get(name)
            return None if value is None else int(value)

        budget = values.get("monthly_budget_usd")
        ttl = whole("cache_ttl_seconds") or DEFAULT_CACHE_TTL_SECONDS
        return cls(
            limits=Limits(
                max_concurrent_jobs=whole("max_concurrent_jobs"),
                monthly_budget_usd=None if budget is None else Decimal(budget),
                monthly_jobs=whole("monthly_jobs"),
            ),
            cache_by_default=bool(values.get("cache_by_default", False)),
            cache_ttl_seconds=min(ttl, MAX_CACHE_TTL_SECONDS),
        )


class TenantDirectory:
    """Reads tenants' settings (the authorizer has already found the tenant)."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self.client = client

    def settings(self, tenant_id: str) -> TenantSettings:
        # Strongly consistent: a limit changed a moment ago applies to the next request.
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"tenant_id": {"S": tenant_id}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            raise Unauthorized("the tenant no longer exists")
        return TenantSettings.from_item(item)
