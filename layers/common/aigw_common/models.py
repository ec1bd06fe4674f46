"""The job model shared by the API, the workflows' helper functions and the notifiers.

Plain dataclasses, checked with ``aigw_common.state_input`` when a stored job is read: the
API builds or reads a job on nearly every request, and importing pydantic and building
these models' schemas was a third of its cold start (docs/benchmarks.md, "Cold start").
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

from aigw_common.job_status import ALLOWED_FROM, JobStatus, utc_now
from aigw_common.state_input import Fields

__all__ = ["ALLOWED_FROM", "Job", "JobError", "JobStatus", "Progress", "utc_now"]


@dataclass(frozen=True)
class JobError:
    """Why a job failed: a stable ``code``, a readable ``message``, the failing ``step``."""

    code: str
    message: str
    step: str | None = None
    retryable: bool = False

    def record(self) -> dict[str, Any]:
        """As stored and shown: every field, ``step`` null when unknown."""
        return asdict(self)

    @classmethod
    def _read(cls, fields: Fields) -> JobError:
        return cls(
            code=fields.string("code"),
            message=fields.string("message"),
            step=fields.string("step", default=None),
            retryable=fields.boolean("retryable", default=False),
        )


@dataclass(frozen=True)
class Progress:
    step: str
    percent: int

    def record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def _read(cls, fields: Fields) -> Progress:
        return cls(
            step=fields.string("step"), percent=fields.integer("percent", minimum=0, maximum=100)
        )


@dataclass(frozen=True)
class Job:
    """A job as stored (minus storage-only fields) and as the API shows it."""

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

    @classmethod
    def from_record(cls, values: Any) -> Job:
        """A stored job's fields (storage-only ones ignored); ValidationError names every
        field that is not what a job's is."""
        fields = Fields("Job", values, extra="ignore")
        progress = error = None
        if fields.data.get("progress") is not None:
            progress = Progress._read(fields.object("progress", "Progress"))
        if fields.data.get("error") is not None:
            error = JobError._read(fields.object("error", "JobError"))
        usage = fields.value("usage", default=None)
        if usage is not None and not isinstance(usage, dict):
            fields.problem("usage: Input should be a valid dictionary")
        read = {
            "tenant_id": fields.string("tenant_id"),
            "job_id": fields.string("job_id"),
            "pipeline": fields.string("pipeline"),
            "status": fields.choice("status", list(JobStatus)),
            "created_at": fields.string("created_at"),
            "updated_at": fields.string("updated_at"),
            "result": fields.value("result", default=None),
            "result_key": fields.string("result_key", default=None),
            "cached": fields.boolean("cached", default=False),
            "execution_arn": fields.string("execution_arn", default=None),
            "request_hash": fields.string("request_hash", default=None),
            "idempotency_key": fields.string("idempotency_key", default=None),
        }
        fields.check()
        status = JobStatus(read.pop("status"))
        return cls(status=status, progress=progress, error=error, usage=usage, **read)

    def record(self) -> dict[str, Any]:
        """The job as stored: its fields that are not null (nor its error's)."""
        record = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not None
        }
        record["status"] = self.status.value
        if self.progress is not None:
            record["progress"] = self.progress.record()
        if self.error is not None:
            record["error"] = {k: v for k, v in self.error.record().items() if v is not None}
        return record

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
            body["progress"] = self.progress.record()
        if self.result is not None:
            body["result"] = self.result
        elif result_url is not None:
            body["result_url"] = result_url
        if self.error is not None:
            body["error"] = self.error.record()
        if self.usage:
            body["usage"] = self.usage
        if self.cached:
            body["cached"] = True
        return body
