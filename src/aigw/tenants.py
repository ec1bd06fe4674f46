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


def _stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    """``python -m aigw.tenants create NAME --stack STACK``: a tenant on a deployed stack."""
    import argparse

    import boto3

    parser = argparse.ArgumentParser(prog="python -m aigw.tenants", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a tenant and print its API key once")
    create.add_argument("name")
    create.add_argument("--stack", required=True, help="the deployed CloudFormation stack")
    create.add_argument("--status", choices=STATUSES, default="active")
    create.add_argument("--region")
    args = parser.parse_args(argv)

    session = boto3.session.Session(region_name=args.region)
    outputs = _stack_outputs(session.client("cloudformation"), args.stack)
    tenant = create_tenant(
        session.client("dynamodb"),
        outputs["TenantsTableName"],
        args.name,
        status=args.status,
        apigateway=session.client("apigateway"),
        usage_plan_id=outputs["TenantUsagePlanId"],
    )
    print(f"tenant_id: {tenant.tenant_id}")
    print(f"status:    {tenant.status}")
    print(f"api_key:   {tenant.api_key}")
    print("The API key is shown only now; only its SHA-256 is stored.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
