"""Tenants' subscriptions to their own job events on SNS, made only here.

The job-events topic carries every tenant's events, with the message attributes
``tenant_id``, ``pipeline`` and ``status``. A subscriber may only ever receive its own
tenant's: the topic's policy denies ``sns:Subscribe`` to every principal but this
function's role (the notifier's own subscription aside), and every subscription made here
carries a filter policy on ``tenant_id`` from the moment it exists (it is an attribute of
the Subscribe call itself), narrowed to the tenant's pipelines and statuses if it asks.
The filter is the tenant's from the authorizer, never from the request.

A tenant has at most :data:`MAX_PER_TENANT` (filter policies are an SNS quota, 200 per
topic by default): a counter item is reserved with a conditional update before SNS is
asked, and released if SNS refuses, so concurrent requests cannot overshoot.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from aigw_common.errors import Conflict, InvalidInput, NotFound, UpstreamError
from aigw_common.job_status import JobStatus, utc_now
from aigw_common.json_input import excerpt
from aigw_common.lazy import LazyClient
from aigw_common.settings import load_settings

MAX_PER_TENANT = 10
_COUNTER = "#count"
#: What each protocol's endpoint must look like (SNS checks again, with its own errors).
ENDPOINTS = {
    "sqs": re.compile(r"arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?"),
    "https": re.compile(r"https://[^\s/?#]+(/[^\s]*)?"),
    "email": re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+"),
}
_ID = re.compile(r"es-[0-9a-f]{32}")


@dataclass(frozen=True)
class Settings:
    event_subscriptions_table: str
    job_events_topic_arn: str


class EventSubscriptions:
    def __init__(self, dynamodb: Any, sns: Any, table: str, topic_arn: str) -> None:
        self.dynamodb, self.sns, self.table, self.topic_arn = dynamodb, sns, table, topic_arn

    @classmethod
    def from_environment(cls) -> EventSubscriptions:
        settings = load_settings(Settings)
        return cls(
            LazyClient("dynamodb"),
            LazyClient("sns"),
            settings.event_subscriptions_table,
            settings.job_events_topic_arn,
        )

    # ------------------------------------------------------------------ create
    def create(self, tenant_id: str, request: dict[str, Any]) -> dict[str, Any]:
        """Subscribe; the same endpoint and filters again return the same subscription (a
        retried request makes no second one)."""
        protocol, endpoint, pipelines, statuses = _checked(request)
        for existing in self._items(tenant_id):
            if (existing["protocol"], existing["endpoint"]) == (protocol, endpoint):
                if (existing["pipelines"], existing["statuses"]) != (pipelines, statuses):
                    raise Conflict(
                        "this endpoint is subscribed with other filters: delete it first"
                    )
                return self._shown(existing)
        filter_policy: dict[str, list[str]] = {"tenant_id": [tenant_id]}
        if pipelines:
            filter_policy["pipeline"] = pipelines
        if statuses:
            filter_policy["status"] = statuses
        self._reserve(tenant_id)
        try:
            arn = self.sns.subscribe(
                TopicArn=self.topic_arn,
                Protocol=protocol,
                Endpoint=endpoint,
                Attributes={
                    "FilterPolicy": json.dumps(filter_policy),
                    "FilterPolicyScope": "MessageAttributes",
                },
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        except ClientError as error:
            self._release(tenant_id)
            raise _refused(error) from error
        if self._filtered_tenant(arn) != tenant_id:
            # SNS answers an existing subscription of the same endpoint: another tenant's.
            self._release(tenant_id)
            raise Conflict("this endpoint is subscribed by another tenant")
        subscription = {
            "subscription_id": "es-" + uuid.uuid4().hex,
            "protocol": protocol,
            "endpoint": endpoint,
            "pipelines": pipelines,
            "statuses": statuses,
            "created_at": utc_now(),
        }
        item = {**subscription, "tenant_id": tenant_id, "subscription_arn": arn}
        self.dynamodb.put_item(TableName=self.table, Item=_to_item(item))
        return {**subscription, "status": self._status(arn)}

    def _reserve(self, tenant_id: str) -> None:
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=_key(tenant_id, _COUNTER),
                UpdateExpression="ADD subscriptions :one",
                ConditionExpression="attribute_not_exists(subscriptions) OR subscriptions < :max",
                ExpressionAttributeValues={":one": {"N": "1"}, ":max": {"N": str(MAX_PER_TENANT)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict(
                    f"a tenant may have {MAX_PER_TENANT} event subscriptions: delete one first"
                ) from None
            raise

    def _release(self, tenant_id: str) -> None:
        self.dynamodb.update_item(
            TableName=self.table,
            Key=_key(tenant_id, _COUNTER),
            UpdateExpression="ADD subscriptions :minus_one",
            ExpressionAttributeValues={":minus_one": {"N": "-1"}},
        )

    # ------------------------------------------------------------------ read, delete
    def list(self, tenant_id: str) -> list[dict[str, Any]]:
        return [self._shown(item) for item in self._items(tenant_id)]

    def _items(self, tenant_id: str) -> list[dict[str, Any]]:
        items = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="tenant_id = :tenant AND begins_with(subscription_id, :es)",
            ExpressionAttributeValues={":tenant": {"S": tenant_id}, ":es": {"S": "es-"}},
            ConsistentRead=True,
        ).get("Items", [])
        return [_from_item(item) for item in items]

    def delete(self, tenant_id: str, subscription_id: str) -> dict[str, Any]:
        item = self._item(tenant_id, subscription_id)
        try:
            self.sns.unsubscribe(SubscriptionArn=item["subscription_arn"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "NotFound":
                raise _refused(error) from error
        self.dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": _key(tenant_id, subscription_id),
                        "ConditionExpression": "attribute_exists(subscription_id)",
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(tenant_id, _COUNTER),
                        "UpdateExpression": "ADD subscriptions :minus_one",
                        "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
                    }
                },
            ]
        )
        return {**self._shown(item, status="deleted")}

    def _item(self, tenant_id: str, subscription_id: str) -> dict[str, Any]:
        if not _ID.fullmatch(subscription_id):
            raise NotFound(f"event subscription {excerpt(subscription_id)} not found")
        item = self.dynamodb.get_item(
            TableName=self.table, Key=_key(tenant_id, subscription_id), ConsistentRead=True
        ).get("Item")
        if item is None:  # another tenant's too
            raise NotFound(f"event subscription {subscription_id} not found")
        return _from_item(item)

    def _shown(self, item: dict[str, Any], status: str | None = None) -> dict[str, Any]:
        shown = {
            key: item[key]
            for key in (
                "subscription_id",
                "protocol",
                "endpoint",
                "pipelines",
                "statuses",
                "created_at",
            )
        }
        shown["status"] = status or self._status(item["subscription_arn"])
        return shown

    def _filtered_tenant(self, arn: str) -> str | None:
        attributes = self.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        tenants = json.loads(attributes.get("FilterPolicy") or "{}").get("tenant_id") or []
        return str(tenants[0]) if len(tenants) == 1 else None

    def _status(self, arn: str) -> str:
        """``confirmed``, or ``pending_confirmation`` until an https or email endpoint
        confirms (SNS sends it a link; it receives nothing before)."""
        try:
            attributes = self.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        except ClientError:
            return "pending_confirmation"
        pending = attributes.get("PendingConfirmation", "false") == "true"
        return "pending_confirmation" if pending else "confirmed"


def _checked(request: dict[str, Any]) -> tuple[str, str, list[str], list[str]]:
    protocol, endpoint = request.get("protocol"), request.get("endpoint")
    if protocol not in ENDPOINTS:
        raise InvalidInput(f"protocol must be one of: {', '.join(ENDPOINTS)}")
    if (
        not isinstance(endpoint, str)
        or len(endpoint) > 2048
        or not ENDPOINTS[protocol].fullmatch(endpoint)
    ):
        raise InvalidInput(f"endpoint {excerpt(endpoint)} is not a valid {protocol} endpoint")
    # The pipeline catalogue only where a subscription is made, not at every cold start.
    from aigw_common.pipelines import catalogue

    pipelines = _names(request.get("pipelines"), set(catalogue()), "pipelines")
    statuses = _names(request.get("statuses"), set(JobStatus.__members__), "statuses")
    return protocol, endpoint, pipelines, statuses


def _names(value: Any, known: set[str], field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not value or any(v not in known for v in value):
        raise InvalidInput(f"{field} must be a non-empty list of: {', '.join(sorted(known))}")
    return sorted(set(value))


def _refused(error: ClientError) -> Exception:
    code = error.response["Error"]["Code"]
    message = excerpt(error.response["Error"].get("Message", ""), 200)
    if code in ("InvalidParameter", "InvalidParameterValue"):
        return InvalidInput(f"SNS refused the endpoint: {message}")
    return UpstreamError(f"SNS could not make the subscription ({code})")


def _key(tenant_id: str, subscription_id: str) -> dict[str, Any]:
    return {"tenant_id": {"S": tenant_id}, "subscription_id": {"S": subscription_id}}


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, list):
            item[name] = {"L": [{"S": v} for v in value]}
        else:
            item[name] = {"S": str(value)}
    return item


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        name: [v["S"] for v in value["L"]] if "L" in value else value.get("S")
        for name, value in item.items()
    }
