"""Job events on SNS reach a tenant's subscriber, and never another tenant's.

Tenants subscribe through the API; the gateway makes the SNS subscription with a filter
policy on the tenant (and the pipelines and statuses asked for). The SQS queues here
receive what SNS delivers (moto applies filter policies as SNS does), so a test reads what a
subscriber would. That nobody else may subscribe is the topic's policy, checked on the
template (the local runtime does not evaluate resource policies).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from conftest import ROOT, Gateway
from samtranslator.yaml_helper import yaml_parse

from aigw.tenants import NewTenant


def _queue(gateway: Gateway) -> tuple[str, str]:
    """A new SQS queue: its URL and ARN."""
    sqs = gateway.runtime.client("sqs")
    url = sqs.create_queue(QueueName=f"events-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _events(gateway: Gateway, queue_url: str) -> list[dict[str, Any]]:
    """Every job event delivered to the queue so far (the SNS message inside each)."""
    sqs, events = gateway.runtime.client("sqs"), []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return events
        for message in batch:
            events.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _subscribe(gateway: Gateway, body: dict[str, Any], key: str = "default") -> dict[str, Any]:
    answer = gateway.request("POST", "/subscriptions", body, key=key)
    assert answer.status == 201, answer.body
    return dict(answer.json())


def _run(gateway: Gateway, tenant: NewTenant | None = None) -> str:
    key = tenant.api_key if tenant else "default"
    job_id = gateway.submit("text-insights", {"text": "An event for a subscriber."}, key=key)
    assert gateway.wait(job_id, key=key)["status"] == "SUCCEEDED"
    return job_id


def test_given_two_tenants_then_each_subscriber_receives_only_its_own_tenants_events(
    gateway: Gateway,
) -> None:
    other = gateway.new_tenant("other-subscriber")
    mine_url, mine_arn = _queue(gateway)
    theirs_url, theirs_arn = _queue(gateway)
    subscription = _subscribe(gateway, {"protocol": "sqs", "endpoint": mine_arn})
    _subscribe(gateway, {"protocol": "sqs", "endpoint": theirs_arn}, key=other.api_key)

    my_job, their_job = _run(gateway), _run(gateway, other)
    gateway.runtime.drain()
    mine, theirs = _events(gateway, mine_url), _events(gateway, theirs_url)

    assert subscription["status"] == "confirmed"
    assert {e["tenant_id"] for e in mine} == {gateway.tenant.tenant_id}
    assert {e["tenant_id"] for e in theirs} == {other.tenant_id}
    assert [e["status"] for e in mine if e["job_id"] == my_job][-1] == "SUCCEEDED"
    assert their_job not in {e["job_id"] for e in mine}
    assert my_job not in {e["job_id"] for e in theirs}


def test_given_statuses_and_pipelines_then_only_those_events_arrive(gateway: Gateway) -> None:
    url, arn = _queue(gateway)
    _subscribe(
        gateway,
        {
            "protocol": "sqs",
            "endpoint": arn,
            "statuses": ["SUCCEEDED"],
            "pipelines": ["text-insights"],
        },
    )

    job_id = _run(gateway)
    gateway.runtime.drain()

    events = [e for e in _events(gateway, url) if e["job_id"] == job_id]
    assert [e["status"] for e in events] == ["SUCCEEDED"]


def test_given_a_subscription_then_it_is_listed_and_deleted_by_its_tenant_only(
    gateway: Gateway,
) -> None:
    other = gateway.new_tenant("lister")
    url, arn = _queue(gateway)
    created = _subscribe(gateway, {"protocol": "sqs", "endpoint": arn})
    sid = created["subscription_id"]

    listed = gateway.request("GET", "/subscriptions").json()["subscriptions"]
    assert sid in {s["subscription_id"] for s in listed}
    assert gateway.request("GET", "/subscriptions", key=other.api_key).json() == {
        "subscriptions": []
    }
    assert gateway.request("DELETE", f"/subscriptions/{sid}", key=other.api_key).status == 404

    deleted = gateway.request("DELETE", f"/subscriptions/{sid}")
    assert deleted.status == 200 and deleted.json()["status"] == "deleted"
    assert gateway.request("DELETE", f"/subscriptions/{sid}").status == 404
    _events(gateway, url)  # what came before
    _run(gateway)
    gateway.runtime.drain()
    assert _events(gateway, url) == []  # nothing after


def test_given_ten_subscriptions_then_an_eleventh_is_refused_until_one_goes(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("many-subscriptions")
    made = [
        _subscribe(gateway, {"protocol": "sqs", "endpoint": _queue(gateway)[1]}, key=tenant.api_key)
        for _ in range(10)
    ]

    refused = gateway.request(
        "POST",
        "/subscriptions",
        {"protocol": "sqs", "endpoint": _queue(gateway)[1]},
        key=tenant.api_key,
    )
    assert refused.status == 409, refused.body
    assert refused.json()["error"]["code"] == "Conflict"

    gateway.request("DELETE", f"/subscriptions/{made[0]['subscription_id']}", key=tenant.api_key)
    _subscribe(gateway, {"protocol": "sqs", "endpoint": _queue(gateway)[1]}, key=tenant.api_key)


@pytest.mark.parametrize(
    "body",
    [
        {"protocol": "sqs", "endpoint": "not-an-arn"},
        {"protocol": "sqs", "endpoint": "arn:aws:sns:us-east-1:123456789012:a-topic"},
        {"protocol": "https", "endpoint": "http://insecure.example.com/hook"},
        {"protocol": "email", "endpoint": "no-at-sign"},
        {"protocol": "lambda", "endpoint": "arn:aws:lambda:us-east-1:123456789012:function:f"},
        {
            "protocol": "sqs",
            "endpoint": "arn:aws:sqs:us-east-1:123456789012:q",
            "statuses": ["DONE"],
        },
        {"protocol": "sqs", "endpoint": "arn:aws:sqs:us-east-1:123456789012:q", "pipelines": []},
        {"protocol": "sqs", "endpoint": "arn:aws:sqs:us-east-1:123456789012:q", "tenant_id": "t-1"},
    ],
    ids=[
        "not an arn",
        "a topic arn",
        "plain http",
        "no address",
        "lambda",
        "unknown status",
        "no pipelines",
        "a tenant of its choosing",
    ],
)
def test_given_a_bad_subscription_request_then_400_and_no_subscription(
    gateway: Gateway, body: dict[str, Any]
) -> None:
    before = gateway.runtime.client("sns").list_subscriptions()["Subscriptions"]

    answer = gateway.request("POST", "/subscriptions", body)

    assert answer.status == 400, answer.body
    assert answer.json()["error"]["code"] == "InvalidInput"
    assert gateway.runtime.client("sns").list_subscriptions()["Subscriptions"] == before


def test_every_subscription_the_gateway_makes_filters_on_its_tenant(gateway: Gateway) -> None:
    _subscribe(gateway, {"protocol": "sqs", "endpoint": _queue(gateway)[1]})
    sns, topic = gateway.runtime.client("sns"), gateway.runtime.physical_id("JobEventsTopic")

    notifier = gateway.runtime.arn("NotifierFunction")
    for listed in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
        if listed["Endpoint"] == notifier:
            continue  # the gateway's own WebSocket notifier hears every tenant
        attributes = sns.get_subscription_attributes(SubscriptionArn=listed["SubscriptionArn"])
        policy = json.loads(attributes["Attributes"]["FilterPolicy"])
        assert len(policy["tenant_id"]) == 1, policy
        assert attributes["Attributes"].get("FilterPolicyScope", "MessageAttributes") == (
            "MessageAttributes"
        )


def test_the_topic_policy_lets_only_the_api_function_and_the_notifier_subscribe() -> None:
    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
    (statement,) = resources["JobEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]

    assert resources["JobEventsTopicPolicy"]["Properties"]["Topics"] == [{"Ref": "JobEventsTopic"}]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
    assert statement["Action"] == "sns:Subscribe"
    assert statement["Condition"] == {
        # Both must differ for the deny to apply: the API's role, or the notifier's endpoint.
        "ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["ApiFunctionRole", "Arn"]}},
        "StringNotEquals": {"sns:Endpoint": {"Fn::GetAtt": ["NotifierFunction", "Arn"]}},
    }
    # The notifier is the template's only subscriber; the API function the only subscriber-maker.
    subscribers = [
        name
        for name, resource in resources.items()
        if any(
            event.get("Type") == "SNS" and event["Properties"]["Topic"] == {"Ref": "JobEventsTopic"}
            for event in (resource.get("Properties", {}).get("Events") or {}).values()
        )
    ]
    assert subscribers == ["NotifierFunction"]
    assert not [
        r
        for r in resources.values()
        if r["Type"] == "AWS::SNS::Subscription"
        and r["Properties"].get("TopicArn") == {"Ref": "JobEventsTopic"}
    ]


def test_given_the_same_subscription_twice_then_one_subscription(gateway: Gateway) -> None:
    arn = _queue(gateway)[1]
    first = _subscribe(gateway, {"protocol": "sqs", "endpoint": arn})

    again = _subscribe(gateway, {"protocol": "sqs", "endpoint": arn})
    other_filters = gateway.request(
        "POST", "/subscriptions", {"protocol": "sqs", "endpoint": arn, "statuses": ["FAILED"]}
    )

    assert again["subscription_id"] == first["subscription_id"]
    assert other_filters.status == 409


def test_given_an_endpoint_another_tenant_subscribed_then_it_gets_no_more_than_its_own_events(
    gateway: Gateway,
) -> None:
    """SNS refuses a second subscription of an endpoint with other attributes (the local
    runtime too, where moto would overwrite the first one's filter): 400, and the owner's
    subscription, events and filter are untouched."""
    owner, intruder = gateway.new_tenant("queue-owner"), gateway.new_tenant("intruder")
    url, arn = _queue(gateway)
    owned = _subscribe(gateway, {"protocol": "sqs", "endpoint": arn}, key=owner.api_key)

    answer = gateway.request(
        "POST", "/subscriptions", {"protocol": "sqs", "endpoint": arn}, key=intruder.api_key
    )
    assert answer.status == 400, answer.body
    assert "already exists with different attributes" in answer.json()["error"]["message"]

    gone = gateway.request(
        "DELETE", f"/subscriptions/{owned['subscription_id']}", key=intruder.api_key
    )
    assert gone.status == 404
    owners_job, intruders_job = _run(gateway, owner), _run(gateway, intruder)
    gateway.runtime.drain()
    delivered = {event["job_id"] for event in _events(gateway, url)}
    assert owners_job in delivered and intruders_job not in delivered
