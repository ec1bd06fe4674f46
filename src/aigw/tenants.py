"""Create tenants and their API keys (the admin side of the gateway's auth).

A key is shown once, at creation, and only its SHA-256 is stored. On AWS each tenant also
gets an API Gateway API key in the stack's usage plan: its value is not a credential (the
authorizer returns it as ``usageIdentifierKey``), it only names the tenant's throttle.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

STATUSES = ("active", "pending", "suspended")


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


def create_on_stack(
    name: str, stack: str, *, status: str = "active", region: str | None = None
) -> NewTenant:
    """A tenant on a deployed stack (AWS credentials from boto3's usual chain), its usage
    key added to the stack's usage plan."""
    import boto3

    session = boto3.session.Session(region_name=region)
    described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in described["Outputs"]}
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
    """A tenant of a running ``aigw local``, through the AWS endpoint it printed. Its
    in-process AWS takes any credentials; its REST API throttles every tenant by the
    template's usage plan, so there is no usage plan key to add."""
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
    return create_tenant(dynamodb, tables[0], name, status=status)
