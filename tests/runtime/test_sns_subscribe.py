"""SNS Subscribe of an endpoint already subscribed, as SNS answers it: the same call again is
the same subscription; other attributes are ``InvalidParameter``, and the existing
subscription keeps its own (moto would overwrite them: the canary shows it still does)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from aigw.local.runtime import LocalRuntime
from aigw.local.services import sns_subscribe


@pytest.fixture
def topic_and_queue(app: LocalRuntime) -> Iterator[tuple[Any, str, str]]:
    sns, sqs = app.client("sns"), app.client("sqs")
    topic = sns.create_topic(Name=f"events-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    yield sns, topic, queue["QueueArn"]


def _subscribe(sns: Any, topic: str, queue: str, tenant: str) -> str:
    return str(
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue,
            Attributes={"FilterPolicy": json.dumps({"tenant_id": [tenant]})},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
    )


def _filter(sns: Any, arn: str) -> Any:
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    return json.loads(attributes["FilterPolicy"])


def test_given_the_same_subscribe_again_then_the_same_subscription(
    topic_and_queue: tuple[Any, str, str],
) -> None:
    sns, topic, queue = topic_and_queue

    assert _subscribe(sns, topic, queue, "t-1") == _subscribe(sns, topic, queue, "t-1")


def test_given_other_attributes_for_a_subscribed_endpoint_then_invalid_parameter(
    topic_and_queue: tuple[Any, str, str],
) -> None:
    sns, topic, queue = topic_and_queue
    first = _subscribe(sns, topic, queue, "t-1")

    with pytest.raises(ClientError) as refused:
        _subscribe(sns, topic, queue, "t-2")

    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameter"
    assert error["Message"] == (
        "Invalid parameter: Attributes Reason: Subscription already exists with different "
        "attributes"
    )
    assert _filter(sns, first) == {"tenant_id": ["t-1"]}


@pytest.mark.canary
def test_canary_moto_overwrites_an_existing_subscriptions_attributes(
    topic_and_queue: tuple[Any, str, str],
) -> None:
    """If this fails, moto refuses as SNS does: delete services/sns_subscribe.py."""
    sns, topic, queue = topic_and_queue
    first = _subscribe(sns, topic, queue, "t-1")
    sns_subscribe.uninstall()
    try:
        second = _subscribe(sns, topic, queue, "t-2")
    finally:
        sns_subscribe.install()

    assert second == first
    assert _filter(sns, first) == {"tenant_id": ["t-2"]}
