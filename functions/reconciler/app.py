"""Marks jobs whose job-runner execution ended FAILED, TIMED_OUT or ABORTED outside the
workflow's own failure path, so no job stays RUNNING forever. Conditional writes make it
a no-op for jobs the workflow already ended."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from aigw_common.failures import classify
from aigw_common.jobs import JobRepository
from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.models import JobError, JobStatus
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()


@dataclass(frozen=True)
class Settings:
    jobs_table: str


settings = load_settings(Settings)
jobs = JobRepository(settings.jobs_table, LazyClient("dynamodb"))


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
        error = JobError(code="Timeout", message="the job did not finish in time", retryable=True)
        return jobs.transition(tenant_id, job_id, JobStatus.TIMED_OUT, error=error.model_dump())
    error = classify(detail.get("error"), detail.get("cause"))
    return jobs.transition(tenant_id, job_id, JobStatus.FAILED, error=error.model_dump())


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    changed = reconcile(event["detail"])
    logger.info("reconciled", extra={"status": event["detail"]["status"], "changed": changed})
    return {"changed": changed}
