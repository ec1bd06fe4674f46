"""A job event that cannot be published does not hold up the others, and is not lost.

Given the gateway's template on the offline runtime, with the Jobs table's stream consumer
as deployed (filter, BisectBatchOnFunctionError, 5 retries, JobEventsFailures on failure),
when a batch of status changes holds one the publisher fails on, the others are published
once each and the failing one lands in JobEventsFailures as AWS records it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aigw.local.runtime import LocalRuntime

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(ROOT / "template.yaml", time_scale=0.001) as started:
        yield started


def _published_to_a_queue(runtime: LocalRuntime) -> str:
    """A queue subscribed to the topic the job-events function publishes to."""
    function = runtime.bridge.spec(runtime.physical_id("JobEventsFunction"))
    sqs = runtime.client("sqs")
    url = sqs.create_queue(QueueName="job-events-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    runtime.client("sns").subscribe(
        TopicArn=function.environment["JOB_EVENTS_TOPIC_ARN"],
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    return url


def _receive_all(runtime: LocalRuntime, url: str) -> list[dict[str, Any]]:
    sqs, bodies = runtime.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(message["Body"]) for message in messages]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
    return bodies


def _job(job_id: str, **fields: str) -> dict[str, Any]:
    item = {"tenant_id": "t-poison", "job_id": job_id, "status": "QUEUED", **fields}
    return {name: {"S": value} for name, value in item.items()}


def test_given_a_status_change_the_publisher_fails_on_then_the_others_are_still_published(
    runtime: LocalRuntime,
) -> None:
    subscriber = _published_to_a_queue(runtime)
    table = runtime.physical_id("JobsTable")
    dynamodb = runtime.client("dynamodb")
    good = ["01J-GOOD-1", "01J-GOOD-2", "01J-GOOD-3", "01J-GOOD-4"]

    with runtime.bridge.async_invoker.held():  # one stream batch
        for job_id in good[:2]:
            dynamodb.put_item(TableName=table, Item=_job(job_id, pipeline="text-insights"))
        # A job without a pipeline: the publisher cannot build its event.
        dynamodb.put_item(TableName=table, Item=_job("01J-POISON"))
        for job_id in good[2:]:
            dynamodb.put_item(TableName=table, Item=_job(job_id, pipeline="text-insights"))
    runtime.drain()

    published = _receive_all(runtime, subscriber)
    failures = _receive_all(runtime, runtime.physical_id("JobEventsFailures"))

    assert sorted(event["job_id"] for event in published) == good
    assert {event["status"] for event in published} == {"QUEUED"}
    [record] = failures
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 6  # MaximumRetryAttempts 5
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    assert (
        record["DDBStreamBatchInfo"]["streamArn"]
        == runtime.resource("JobsTable").attributes["StreamArn"]
    )
