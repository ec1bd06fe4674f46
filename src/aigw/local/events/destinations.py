"""Where Lambda sends what it gave up on: on-failure destinations, with AWS's records, and
dead-letter queues.

An asynchronous invocation that failed its retries (a function's ``EventInvokeConfig``) is
sent as an invocation record with the request payload and the error; a stream batch that
failed its retries (an event source mapping's ``DestinationConfig``) as a record of the
batch's position in the shard, not its contents (``DDBStreamBatchInfo``). Both shapes are
those of the Lambda Developer Guide ("Retaining records of asynchronous invocations",
"Retaining discarded records for a DynamoDB event source").

A function's dead-letter queue (``DeadLetterConfig``, an SQS queue or SNS topic) gets an
asynchronous event that failed its retries as it was sent, unchanged, as the message body;
why it failed is in the message attributes ``RequestID``, ``ErrorCode`` (the invocation's
HTTP status: 200 for a function error) and ``ErrorMessage`` (its first 1 KB), the same
guide's "Dead-letter queues".
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


#: The most of an error message a dead-letter queue's ``ErrorMessage`` attribute holds.
DEAD_LETTER_MESSAGE_BYTES = 1024


def dead_letter_attributes(result: InvocationResult) -> dict[str, dict[str, str]]:
    """The message attributes Lambda gives an event it sends to a dead-letter queue."""
    try:
        error = result.json()
    except ValueError:
        error = None
    message = (
        str(error["errorMessage"])
        if isinstance(error, dict) and "errorMessage" in error
        else result.payload.decode(errors="replace")
    )
    message = message.encode()[:DEAD_LETTER_MESSAGE_BYTES].decode(errors="ignore")
    # The invocation's status: a function error is still a 200; a throttle is Lambda's 429.
    status = 429 if result.function_error == "Throttled" else 200
    attributes = {
        "RequestID": {"DataType": "String", "StringValue": result.request_id or str(uuid.uuid4())},
        "ErrorCode": {"DataType": "Number", "StringValue": str(status)},
    }
    if message:  # SQS and SNS refuse an empty attribute value
        attributes["ErrorMessage"] = {"DataType": "String", "StringValue": message}
    return attributes


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

    def check(self, destination_arn: str, where: str, kind: str = "on-failure destination") -> None:
        """Refuse, at deployment, a destination the local runtime would not deliver to."""
        service = destination_arn.split(":")[2] if destination_arn.count(":") >= 5 else ""
        if service not in ("sqs", "sns"):
            raise ValueError(
                f"{where}: {kind} {destination_arn} is not run locally "
                "(SQS queues and SNS topics are)"
            )

    def send(self, destination_arn: str, record: dict[str, Any]) -> None:
        """Deliver ``record``; raises if the destination refuses it (the caller logs it)."""
        self._deliver(destination_arn, json.dumps(record), {})
        LOG.info("failed event sent to %s", destination_arn)

    def send_dead_letter(self, target_arn: str, event: Any, result: InvocationResult) -> None:
        """Deliver a failed asynchronous event to a function's dead-letter queue or topic;
        raises if it refuses it (the caller logs it)."""
        self._deliver(target_arn, json.dumps(event), dead_letter_attributes(result))
        LOG.info("failed event sent to the dead-letter queue %s", target_arn)

    def _deliver(self, arn: str, body: str, attributes: dict[str, dict[str, str]]) -> None:
        service = arn.split(":")[2]
        if service == "sqs":
            sqs = self._client("sqs")
            name, account = arn.split(":")[5], arn.split(":")[4]
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
        else:
            self._client("sns").publish(TopicArn=arn, Message=body, MessageAttributes=attributes)
