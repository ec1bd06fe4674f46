"""Ends jobs whose execution ended without ending them, so no job stays RUNNING forever:

- job-runner (Standard) executions that end FAILED, TIMED_OUT or ABORTED send an EventBridge
  status-change event, and the job is marked from it;
- Express executions send none (and keep no history to ask), so once a minute a scheduled
  sweep ends every job of the Express runner still open past its deadline (TIMED_OUT).

Conditional writes make both a no-op for jobs the workflow already ended."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from aigw_common.failures import classify
from aigw_common.job_status import JobStatus
from aigw_common.jobs import JobRepository
from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()


@dataclass(frozen=True)
class Settings:
    jobs_table: str


settings = load_settings(Settings)
jobs = JobRepository(settings.jobs_table, LazyClient("dynamodb"))


#: The stored errors (``JobError.record()``'s shape) of a job whose execution timed
#: out, and of a swept job, whose execution is gone, so no more is known.
EXECUTION_TIMED_OUT = {
    "code": "Timeout",
    "message": "the job did not finish in time",
    "step": None,
    "retryable": True,
}
LOST = {
    "code": "Timeout",
    "message": "the job's Express execution ended without recording the job's end "
    "(it ran out of time or stopped); submitting it again is safe",
    "step": None,
    "retryable": True,
}


def reconcile(detail: dict[str, Any]) -> bool:
    execution_input = json.loads(detail.get("input") or "{}")
    tenant_id, job_id = execution_input.get("tenant_id"), execution_input.get("job_id")
    if not tenant_id or not job_id:
        logger.warning("execution without a job", extra={"execution": detail.get("executionArn")})
        return False
    status = detail["status"]
    if status == "ABORTED":
        return jobs.transition(tenant_id, job_id, JobStatus.CANCELLED)
    if status == "TIMED_OUT":
        return jobs.transition(tenant_id, job_id, JobStatus.TIMED_OUT, error=EXECUTION_TIMED_OUT)
    error = classify(detail.get("error"), detail.get("cause"))
    return jobs.transition(tenant_id, job_id, JobStatus.FAILED, error=error.record())


def sweep(now: datetime.datetime) -> int:
    """End every Express-run job still open past its deadline; returns how many it ended."""
    ended = 0
    for tenant_id, job_id in jobs.overdue(now):
        if jobs.transition(tenant_id, job_id, JobStatus.TIMED_OUT, error=LOST):
            ended += 1
        else:
            jobs.leave_sweep(tenant_id, job_id)  # it ended meanwhile, by its own writes
    return ended


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == "Scheduled Event":
        ended = sweep(datetime.datetime.now(datetime.UTC))
        if ended:
            logger.warning("ended jobs whose Express execution was lost", extra={"jobs": ended})
        return {"ended": ended}
    changed = reconcile(event["detail"])
    logger.info("reconciled", extra={"status": event["detail"]["status"], "changed": changed})
    return {"changed": changed}
