"""The job model shared by the API, the workflows' helper functions and the notifiers."""

from __future__ import annotations

import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def terminal(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


#: Where each status may be reached from: status never goes backwards.
ALLOWED_FROM: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.RUNNING: frozenset({JobStatus.QUEUED}),
    JobStatus.SUCCEEDED: frozenset({JobStatus.RUNNING}),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED, JobStatus.RUNNING}),
    JobStatus.CANCELLED: frozenset({JobStatus.QUEUED, JobStatus.RUNNING}),
    JobStatus.TIMED_OUT: frozenset({JobStatus.QUEUED, JobStatus.RUNNING}),
}


class JobError(BaseModel):
    """Why a job failed: a stable ``code``, a readable ``message``, the failing ``step``."""

    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    step: str | None = None
    retryable: bool = False


class Progress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: str
    percent: int = Field(ge=0, le=100)


class Job(BaseModel):
    """A job as stored (minus storage-only fields) and as the API shows it."""

    model_config = ConfigDict(extra="ignore")

    tenant_id: str
    job_id: str
    pipeline: str
    status: JobStatus
    created_at: str
    updated_at: str
    progress: Progress | None = None
    result: Any = None
    result_key: str | None = None
    error: JobError | None = None
    #: What the job consumed (aigw_common.metering.Usage.record): items, ai_cost_usd, ...
    usage: dict[str, Any] | None = None
    #: Answered from the result cache (no AI call).
    cached: bool = False
    execution_arn: str | None = None
    request_hash: str | None = None
    idempotency_key: str | None = None

    def to_api(self, result_url: str | None = None) -> dict[str, Any]:
        """The public shape: no tenant, no storage keys; the result inline or as a URL."""
        body: dict[str, Any] = {
            "job_id": self.job_id,
            "pipeline": self.pipeline,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.progress is not None:
            body["progress"] = self.progress.model_dump()
        if self.result is not None:
            body["result"] = self.result
        elif result_url is not None:
            body["result_url"] = result_url
        if self.error is not None:
            body["error"] = self.error.model_dump()
        if self.usage:
            body["usage"] = self.usage
        if self.cached:
            body["cached"] = True
        return body


def utc_now() -> str:
    """ISO 8601 in UTC with milliseconds and a Z, the format of every timestamp we store."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
