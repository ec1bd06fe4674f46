"""The job model shared by the API, the workflows' helper functions and the notifiers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aigw_common.job_status import ALLOWED_FROM, JobStatus, utc_now

__all__ = ["ALLOWED_FROM", "Job", "JobError", "JobStatus", "Progress", "utc_now"]


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
