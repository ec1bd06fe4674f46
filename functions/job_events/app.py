"""Publishes one job-event per status change, from the Jobs table's stream.

Deriving events from the stream rather than from publish states in each workflow means
every status write from any path (workflow, cancel, reconciler) becomes exactly one event,
and Standard state transitions stay few. Delivery is at least once: a batch that fails is
retried by the stream, so subscribers may see an event twice (dedupe on job_id + status).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from aigw_common.jobs import IDEMPOTENCY_PREFIX, RUN_PREFIX, from_item
from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()


@dataclass(frozen=True)
class Settings:
    job_events_topic_arn: str


settings = load_settings(Settings)
sns = LazyClient("sns")


def status_changes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The job.status events in a stream batch, in order."""
    events = []
    for record in records:
        images = record.get("dynamodb", {})
        if "NewImage" not in images:
            continue  # a removal (TTL expiry) is not a status change
        new = from_item(images["NewImage"])
        # Idempotency claims are not jobs; a synchronous run's record is the API's own.
        if str(new.get("job_id", "")).startswith((IDEMPOTENCY_PREFIX, RUN_PREFIX)):
            continue
        if "status" not in new:
            continue
        old = from_item(images["OldImage"]) if "OldImage" in images else {}
        if old.get("status") == new["status"]:
            continue
        event = {
            "type": "job.status",
            "tenant_id": new["tenant_id"],
            "job_id": new["job_id"],
            "pipeline": new["pipeline"],
            "status": new["status"],
            "updated_at": new.get("updated_at"),
        }
        for optional in ("progress", "error"):
            if new.get(optional):
                event[optional] = new[optional]
        events.append(event)
    return events


def _attributes(event: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"DataType": "String", "StringValue": str(event[name])}
        for name in ("tenant_id", "pipeline", "status")
    }


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    events = status_changes(event.get("Records", []))
    for start in range(0, len(events), 10):  # PublishBatch takes at most 10 entries
        batch = events[start : start + 10]
        answer = sns.publish_batch(
            TopicArn=settings.job_events_topic_arn,
            PublishBatchRequestEntries=[
                {
                    "Id": str(index),
                    "Message": json.dumps(item),
                    "MessageAttributes": _attributes(item),
                }
                for index, item in enumerate(batch)
            ],
        )
        if answer.get("Failed"):
            raise RuntimeError(f"{len(answer['Failed'])} job events were not published")
    logger.info("published", extra={"events": len(events)})
    return {"published": len(events)}
