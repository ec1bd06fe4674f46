"""Where Lambda sends what it gave up on: on-failure destinations, with AWS's records.

An asynchronous invocation that failed its retries (a function's ``EventInvokeConfig``) is
sent as an invocation record with the request payload and the error; a stream batch that
failed its retries (an event source mapping's ``DestinationConfig``) as a record of the
batch's position in the shard, not its contents (``DDBStreamBatchInfo``). Both shapes are
those of the Lambda Developer Guide ("Retaining records of asynchronous invocations",
"Retaining discarded records for a DynamoDB event source").
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from aigw.local.lambdas.bridge import InvocationResult

LOG = logging.getLogger("aigw.local.events")

Client = Callable[[str], Any]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _response_context(result: InvocationResult) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": result.function_error,
    }


def async_failure_record(
    function_arn: str, event: Any, result: InvocationResult, attempts: int
) -> dict[str, Any]:
    """What an asynchronous invocation's on-failure destination receives."""
    return {
        "version": "1.0",
        "timestamp": _now(),
        "requestContext": {
            "requestId": result.request_id or str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": _response_context(result),
        "responsePayload": result.json(),
    }


def _arrival(record: dict[str, Any]) -> str:
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    moment = (
        datetime.datetime.fromtimestamp(created, datetime.UTC)
        if isinstance(created, int | float)
        else datetime.datetime.now(datetime.UTC)
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def stream_failure_record(
    function_arn: str,
    stream_arn: str,
    shard_id: str,
    batch: dict[str, Any],
    result: InvocationResult,
    attempts: int,
) -> dict[str, Any]:
    """What a DynamoDB stream mapping's on-failure destination receives for ``batch``."""
    records = batch["Records"]
    return {
        "requestContext": {
            "requestId": result.request_id or str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": _response_context(result),
        "version": "1.0",
        "timestamp": _now(),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _arrival(records[0]),
            "approximateArrivalOfLastRecord": _arrival(records[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


class Destinations:
    """Sends records to the destination types Lambda supports for failures: SQS, SNS."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def check(self, destination_arn: str, where: str) -> None:
        """Refuse, at deployment, a destination the local runtime would not deliver to."""
        service = destination_arn.split(":")[2] if destination_arn.count(":") >= 5 else ""
        if service not in ("sqs", "sns"):
            raise ValueError(
                f"{where}: on-failure destination {destination_arn} is not run locally "
                "(SQS queues and SNS topics are)"
            )

    def send(self, destination_arn: str, record: dict[str, Any]) -> None:
        """Deliver ``record``; raises if the destination refuses it (the caller logs it)."""
        body = json.dumps(record)
        service = destination_arn.split(":")[2]
        if service == "sqs":
            sqs = self._client("sqs")
            name, account = destination_arn.split(":")[5], destination_arn.split(":")[4]
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body)
        else:
            self._client("sns").publish(TopicArn=destination_arn, Message=body)
        LOG.info("failed event sent to %s", destination_arn)
