"""Create tenants and their API keys, and set their limits (the admin side of the gateway).

A key is shown once, at creation, and only its SHA-256 is stored. On AWS each tenant also
gets an API Gateway API key in the stack's usage plan: its value is not a credential (the
authorizer returns it as ``usageIdentifierKey``), it only names the tenant's throttle.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

STATUSES = ("active", "pending", "suspended")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class NewTenant:
    tenant_id: str
    name: str
    status: str
    api_key: str


def create_tenant(
    dynamodb: Any,
    tenants_table: str,
    name: str,
    *,
    status: str = "active",
    apigateway: Any = None,
    usage_plan_id: str | None = None,
    api_key: str | None = None,
) -> NewTenant:
    """Store a new tenant; ``api_key`` fixes the key (a local development tenant), else a
    random one is made."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if not name.strip():
        raise ValueError("a tenant needs a name")
    tenant_id = "t-" + uuid.uuid4().hex[:12]
    if api_key is not None and len(api_key) < 16:
        raise ValueError("an API key needs at least 16 characters")
    api_key = api_key or "aigw_" + secrets.token_urlsafe(32)
    usage_key = secrets.token_urlsafe(24)
    if apigateway is not None and usage_plan_id:
        created = apigateway.create_api_key(
            name=f"aigw-{tenant_id}",
            value=usage_key,
            enabled=True,
            description=f"usage identifier of tenant {name}",
        )
        apigateway.create_usage_plan_key(
            usagePlanId=usage_plan_id, keyId=created["id"], keyType="API_KEY"
        )
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    dynamodb.put_item(
        TableName=tenants_table,
        Item={
            "tenant_id": {"S": tenant_id},
            "name": {"S": name},
            "status": {"S": status},
            "api_key_hash": {"S": hashlib.sha256(api_key.encode()).hexdigest()},
            "usage_key": {"S": usage_key},
            "created_at": {"S": now},
        },
        ConditionExpression="attribute_not_exists(tenant_id)",
    )
    return NewTenant(tenant_id=tenant_id, name=name, status=status, api_key=api_key)


def set_status(dynamodb: Any, tenants_table: str, tenant_id: str, status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    dynamodb.update_item(
        TableName=tenants_table,
        Key={"tenant_id": {"S": tenant_id}},
        UpdateExpression="SET #status = :status",
        ConditionExpression="attribute_exists(tenant_id)",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":status": {"S": status}},
    )


def _stack(stack: str, region: str | None) -> tuple[Any, dict[str, str]]:
    import boto3

    session = boto3.session.Session(region_name=region)
    described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return session, {output["OutputKey"]: output["OutputValue"] for output in described["Outputs"]}


def _local_tenants(aws_endpoint: str, region: str) -> tuple[Any, str]:
    """The DynamoDB client and Tenants table of a running ``aigw local``; its in-process
    AWS takes any credentials."""
    import boto3

    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=aws_endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    names = dynamodb.list_tables()["TableNames"]
    tables = [table for table in names if table.endswith("-TenantsTable")]
    if len(tables) != 1:
        raise ValueError(f"{aws_endpoint}: expected one *-TenantsTable, found {names}")
    return dynamodb, tables[0]


def create_on_stack(
    name: str, stack: str, *, status: str = "active", region: str | None = None
) -> NewTenant:
    """A tenant on a deployed stack (AWS credentials from boto3's usual chain), its usage
    key added to the stack's usage plan."""
    session, outputs = _stack(stack, region)
    return create_tenant(
        session.client("dynamodb"),
        outputs["TenantsTableName"],
        name,
        status=status,
        apigateway=session.client("apigateway"),
        usage_plan_id=outputs["TenantUsagePlanId"],
    )


def create_on_local(
    name: str, aws_endpoint: str, *, status: str = "active", region: str = "us-east-1"
) -> NewTenant:
    """A tenant of a running ``aigw local``, through the AWS endpoint it printed. Its REST
    API throttles every tenant by the template's usage plan, so there is no usage plan key
    to add."""
    dynamodb, table = _local_tenants(aws_endpoint, region)
    return create_tenant(dynamodb, table, name, status=status)


# ---------------------------------------------------------------------- limits and cache

#: The limits ``aigw tenants update`` sets, stored as attributes of the tenant's item
#: (layers/common/aigw_common/tenant_settings.py reads them); a limit set to None is
#: removed: no limit.
LIMITS = ("max_concurrent_jobs", "monthly_budget_usd", "monthly_jobs")
#: The result cache's tenant settings (None: the default, off and a day).
CACHE = ("cache_by_default", "cache_ttl_seconds")
#: The layer's MAX_CACHE_TTL_SECONDS: the life of the result objects an entry points at.
MAX_CACHE_TTL_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class TenantSettings:
    tenant_id: str
    name: str
    status: str
    max_concurrent_jobs: int | None
    monthly_budget_usd: Decimal | None
    monthly_jobs: int | None
    cache_by_default: bool = False
    #: None: the default (a day).
    cache_ttl_seconds: int | None = None

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        budget = values["monthly_budget_usd"]
        values["monthly_budget_usd"] = None if budget is None else float(budget)
        return values


def _settings(item: dict[str, Any]) -> TenantSettings:
    plain = {name: _deserializer.deserialize(value) for name, value in item.items()}

    def whole(name: str) -> int | None:
        return None if plain.get(name) is None else int(plain[name])

    budget = plain.get("monthly_budget_usd")
    return TenantSettings(
        tenant_id=plain["tenant_id"],
        name=plain.get("name", ""),
        status=plain.get("status", ""),
        max_concurrent_jobs=whole("max_concurrent_jobs"),
        monthly_budget_usd=None if budget is None else Decimal(budget),
        monthly_jobs=whole("monthly_jobs"),
        cache_by_default=bool(plain.get("cache_by_default", False)),
        cache_ttl_seconds=whole("cache_ttl_seconds"),
    )


def _checked(name: str, value: Any) -> Any:
    """The value to store for a setting (None removes it), or ValueError saying why not."""
    if value is None:
        return None
    if name == "cache_by_default":
        if not isinstance(value, bool):
            raise ValueError("cache_by_default must be true or false")
        return value
    if name == "cache_ttl_seconds" and (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_CACHE_TTL_SECONDS
    ):
        raise ValueError(f"cache_ttl_seconds must be from 1 to {MAX_CACHE_TTL_SECONDS}")
    if name == "monthly_budget_usd":
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(
                f"monthly_budget_usd must be an amount of dollars, not {value!r}"
            ) from None
        if not amount.is_finite() or amount < 0:
            raise ValueError("monthly_budget_usd must be 0 or more")
        return amount
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number, 0 or more")
    return value


def find_tenant(dynamodb: Any, tenants_table: str, name_or_id: str) -> str:
    """The id of the tenant with this id, or else this name (which must be unambiguous)."""
    item = dynamodb.get_item(
        TableName=tenants_table, Key={"tenant_id": {"S": name_or_id}}, ConsistentRead=True
    ).get("Item")
    if item is not None:
        return name_or_id
    found: list[str] = []
    scan: dict[str, Any] = {
        "TableName": tenants_table,
        "FilterExpression": "#name = :name",
        "ExpressionAttributeNames": {"#name": "name"},
        "ExpressionAttributeValues": {":name": {"S": name_or_id}},
        "ProjectionExpression": "tenant_id",
    }
    while True:
        page = dynamodb.scan(**scan)
        found += [item["tenant_id"]["S"] for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            break
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if not found:
        raise ValueError(f"no tenant is named or has the id {name_or_id!r}")
    if len(found) > 1:
        raise ValueError(
            f"{len(found)} tenants are named {name_or_id!r} ({', '.join(sorted(found))}): "
            "give the tenant id"
        )
    return found[0]


def update_tenant(
    dynamodb: Any, tenants_table: str, name_or_id: str, **changes: Any
) -> TenantSettings:
    """Set (or, with None, remove) a tenant's limits and cache settings; its settings after.

    They apply to the next request: the API reads them on every submission."""
    unknown = set(changes) - set(LIMITS + CACHE)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    if not changes:
        raise ValueError(f"nothing to change: give one of {', '.join(LIMITS + CACHE)}")
    values = {name: _checked(name, value) for name, value in changes.items()}
    tenant_id = find_tenant(dynamodb, tenants_table, name_or_id)
    names = {f"#s{index}": name for index, name in enumerate(values)}
    sets = [f"#s{i} = :v{i}" for i, value in enumerate(values.values()) if value is not None]
    removes = [f"#s{i}" for i, value in enumerate(values.values()) if value is None]
    assigned = {
        f":v{i}": _serializer.serialize(value)
        for i, value in enumerate(values.values())
        if value is not None
    }
    expression = " ".join(
        part
        for part in (
            "SET " + ", ".join(sets) if sets else "",
            "REMOVE " + ", ".join(removes) if removes else "",
        )
        if part
    )
    answer = dynamodb.update_item(
        TableName=tenants_table,
        Key={"tenant_id": {"S": tenant_id}},
        UpdateExpression=expression,
        ConditionExpression="attribute_exists(tenant_id)",
        ExpressionAttributeNames=names,
        ReturnValues="ALL_NEW",
        **({"ExpressionAttributeValues": assigned} if assigned else {}),
    )
    return _settings(answer["Attributes"])


def update_on_stack(
    name_or_id: str, stack: str, *, region: str | None = None, **changes: Any
) -> TenantSettings:
    session, outputs = _stack(stack, region)
    return update_tenant(
        session.client("dynamodb"), outputs["TenantsTableName"], name_or_id, **changes
    )


def update_on_local(
    name_or_id: str, aws_endpoint: str, *, region: str = "us-east-1", **changes: Any
) -> TenantSettings:
    dynamodb, table = _local_tenants(aws_endpoint, region)
    return update_tenant(dynamodb, table, name_or_id, **changes)
