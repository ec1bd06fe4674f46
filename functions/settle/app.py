"""Settles every job that ends, exactly once, from the Jobs table's stream.

The stream sees every status write whatever made it (job-runner's own steps, finalize, a
cancel, the reconciler, a synchronous run, any future path that ends jobs), so settling
here covers all of them, including executions that died outside the workflow's Catch. A
job is settled when its status becomes terminal (or, for a job or run whose record
expired before it ended, when the record is removed): its concurrency slot and its
reserved estimate are released, its cost is charged to its month, and it is added to the
day's usage aggregates, all in one transaction that also writes a ``settled#`` record
whose absence is its condition (``aigw_common.usage``). A retried batch, or a second path
seeing the same end, settles nothing twice.

What a job is charged: the usage stored with its result (measured from the calls made);
for a job that ended without one after it started running, its estimate (the calls of a
failed run cannot all be observed); for one that never ran, nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer

from aigw_common.job_status import JobStatus
from aigw_common.jobs import IDEMPOTENCY_PREFIX
from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.metering import Usage
from aigw_common.settings import load_settings
from aigw_common.usage import EndedJob, Reservation, UsageLedger

logger = Logger()
tracer = LazyTracer()
metrics = Metrics()

_deserializer = TypeDeserializer()
TERMINAL = {status.value for status in JobStatus if status.terminal}


@dataclass(frozen=True)
class Settings:
    jobs_table: str
    usage_table: str


settings = load_settings(Settings)
dynamodb = LazyClient("dynamodb")
ledger = UsageLedger(settings.usage_table, dynamodb, jobs_table=settings.jobs_table)


def _image(image: dict[str, Any] | None) -> dict[str, Any]:
    # Numbers stay Decimal: money is settled exactly.
    return {name: _deserializer.deserialize(value) for name, value in (image or {}).items()}


def ended_job(record: dict[str, Any]) -> EndedJob | None:
    """The job a stream record ends, or None when it ends nothing."""
    images = record.get("dynamodb", {})
    new, old = _image(images.get("NewImage")), _image(images.get("OldImage"))
    item = new or old
    if str(item.get("job_id", "")).startswith(IDEMPOTENCY_PREFIX) or "status" not in item:
        return None
    reservation = Reservation.from_record(item["reservation"]) if "reservation" in item else None
    if record.get("eventName") == "REMOVE":
        # Expired before it ended (a run whose API function died): only its record knows.
        if old.get("status") in TERMINAL or reservation is None:
            return None
        ran = old.get("status") == JobStatus.RUNNING
        usage = reservation.estimate.as_estimate() if ran else Usage()
        return _ended(old, "EXPIRED", usage, reservation, job_key=None)
    if new.get("status") not in TERMINAL or old.get("status") in TERMINAL:
        return None
    if reservation is None and "usage" not in new:
        return None  # not admitted by the gateway (written by hand): nothing to settle
    if "usage" in new:
        return _ended(new, new["status"], Usage.from_record(new["usage"]), reservation, None)
    ran = old.get("status") == JobStatus.RUNNING
    usage = reservation.estimate.as_estimate() if ran and reservation else Usage()
    key = {name: images["NewImage"][name] for name in ("tenant_id", "job_id")}
    return _ended(new, new["status"], usage, reservation, job_key=key)


def _ended(
    item: dict[str, Any],
    status: str,
    usage: Usage,
    reservation: Reservation | None,
    job_key: dict[str, Any] | None,
) -> EndedJob:
    return EndedJob(
        tenant_id=item["tenant_id"],
        job_id=item["job_id"],
        pipeline=item["pipeline"],
        status=status,
        day=datetime.date.fromisoformat(str(item["created_at"])[:10]),
        usage=usage,
        reservation=reservation,
        job_key=job_key,
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settled = 0
    for record in event.get("Records", []):
        ended = ended_job(record)
        # A failure raises: the stream retries the batch, and what was settled stays so.
        if ended is not None and ledger.settle(ended):
            settled += 1
            logger.info(
                "settled",
                extra={
                    "job_id": ended.job_id,
                    "status": ended.status,
                    "basis": ended.usage.basis,
                    "ai_cost_usd": str(ended.usage.ai_cost_usd),
                },
            )
    if settled:
        metrics.add_metric(name="JobsSettled", unit=MetricUnit.Count, value=settled)
    return {"settled": settled}
