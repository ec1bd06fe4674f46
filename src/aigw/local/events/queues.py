"""SQS event source mappings: Lambda's poller for a queue, in a thread.

moto delivers a queue's messages to a mapped function only inside ``SendMessage``, one
message per synchronous call, with placeholder attributes, and never again if the function
fails. :class:`QueuePoller` does what Lambda documents instead: it long-polls the queue,
invokes the function with batches of up to ``BatchSize`` records (the real message id,
attributes, message attributes and MD5s), deletes a batch when the function succeeds,
deletes all but the reported ``batchItemFailures`` when the mapping has
``ReportBatchItemFailures``, and otherwise leaves the messages to become visible again
after the queue's visibility timeout, so they are retried and, past the redrive policy's
``maxReceiveCount``, moved to the dead-letter queue by SQS. The visibility timeout is
multiplied by the runtime's ``time_scale``, so retries come quickly in tests. A mapping's
``FilterCriteria`` drops (and deletes) records that match none of its patterns, as Lambda's
event filtering does.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.events.models import EventPattern

from aigw.local.lambdas.bridge import FunctionThrottledError, LambdaBridge

LOG = logging.getLogger("aigw.local.events")


@dataclass
class QueueMapping:
    """The parts of an ``AWS::Lambda::EventSourceMapping`` on a queue that shape delivery."""

    uuid: str
    function_arn: str
    queue_arn: str
    batch_size: int = 10
    report_batch_item_failures: bool = False
    filters: list[dict[str, Any]] = field(default_factory=list)


def _as_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


@functools.lru_cache(maxsize=256)
def _event_pattern(pattern: str) -> EventPattern:
    return EventPattern.load(pattern)


def matches_filters(filters: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    """Lambda event filtering: a record passes when any pattern matches it (``body`` is
    matched as JSON when the message body is JSON; binary values as the base64 Lambda's
    JSON event has them)."""
    if not filters:
        return True
    subject = dict(record)
    body = record.get("body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            subject["body"] = json.loads(body)
    # What EventPattern.matches_event does for each pattern (the record as JSON, then
    # flattened), done once per record: a job item's stream record is a few KB of JSON and
    # each of a table's mappings has its patterns. Patterns are parsed once each.
    flat = EventPattern._flatten_dict(json.loads(json.dumps(subject, default=_as_json)))
    for pattern in filters:
        parsed = _event_pattern(json.dumps(pattern, sort_keys=True))
        if not parsed._pattern or parsed._does_event_match(flat, parsed._pattern):
            return True
    return False


class QueuePoller:
    """Polls one queue for one function until :meth:`stop`."""

    def __init__(
        self,
        mapping: QueueMapping,
        bridge: LambdaBridge,
        enabled: Callable[[], bool],
        time_scale: Callable[[], float],
    ) -> None:
        self.mapping = mapping
        self.bridge = bridge
        self.enabled = enabled
        self.time_scale = time_scale
        self._stop = threading.Event()
        parts = mapping.queue_arn.split(":")
        self.account, self.region, self.queue_name = parts[4], parts[3], parts[5]
        self._thread = threading.Thread(
            target=self._run, name=f"aigw-sqs {self.queue_name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.account][self.region]
        while not self._stop.is_set():
            if not self.enabled():
                self._stop.wait(0.1)
                continue
            try:
                queue = backend.get_queue(self.queue_name)
                visibility = max(0, int(queue.visibility_timeout)) * self.time_scale()
                messages = backend.receive_message(
                    self.queue_name,
                    self.mapping.batch_size,
                    wait_seconds_timeout=0,
                    visibility_timeout=visibility,
                    message_attribute_names=["All"],
                )
            except Exception:
                LOG.exception("polling %s failed", self.mapping.queue_arn)
                self._stop.wait(1)
                continue
            if not messages:
                self._stop.wait(0.02)
                continue
            self._deliver(backend, messages)

    def _deliver(self, backend: Any, messages: list[Any]) -> None:
        records = [self._record(message) for message in messages]
        handles = {
            record["messageId"]: m.receipt_handle
            for record, m in zip(records, messages, strict=True)
        }
        chosen = [r for r in records if matches_filters(self.mapping.filters, r)]
        for record in records:
            if record not in chosen:  # filtered out: Lambda deletes it without invoking
                backend.delete_message(self.queue_name, handles[record["messageId"]])
        if not chosen:
            return
        failed = self._handle(chosen)
        if failed is None:
            return  # the whole batch failed: it returns after the visibility timeout
        for record in chosen:
            if record["messageId"] not in failed:
                backend.delete_message(self.queue_name, handles[record["messageId"]])

    def _handle(self, records: list[dict[str, Any]]) -> set[str] | None:
        """Deliver a batch; the ids of the records that failed (None: all of them)."""
        try:
            result = self.bridge.invoke(self.mapping.function_arn, {"Records": records})
        except FunctionThrottledError:
            return None  # the messages return after the visibility timeout, as on AWS
        if result.function_error is not None:
            LOG.warning(
                "%s failed a batch of %d from %s; the messages return after the visibility "
                "timeout: %s",
                self.mapping.function_arn,
                len(records),
                self.queue_name,
                result.payload[:300].decode(errors="replace"),
            )
            return None
        failed: set[str] = set()
        if self.mapping.report_batch_item_failures:
            answer = result.json()
            if isinstance(answer, dict):
                failed = {
                    str(item.get("itemIdentifier"))
                    for item in answer.get("batchItemFailures") or []
                    if isinstance(item, dict)
                }
        return failed

    def _record(self, message: Any) -> dict[str, Any]:
        attributes = {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": str(message.sender_id),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if message.group_id is not None:
            attributes["MessageGroupId"] = message.group_id
        if message.deduplication_id is not None:
            attributes["MessageDeduplicationId"] = message.deduplication_id
        message_attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType"),
            }
            for name, value in (message.message_attributes or {}).items()
        }
        record: dict[str, Any] = {
            "messageId": message.id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": message.body_md5,
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.queue_arn,
            "awsRegion": self.region,
        }
        if message_attributes:
            record["md5OfMessageAttributes"] = message.attribute_md5
        return record
