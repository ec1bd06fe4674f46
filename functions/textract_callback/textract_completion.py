"""Textract's completion messages and what they mean for the waiting StartTextract step.

Textract publishes ``{"JobId", "Status", "API", "JobTag", "Timestamp", "DocumentLocation"}``
to the job's SNS topic when the job ends; ``Status`` is SUCCEEDED, FAILED or ERROR.
Nothing in this module calls AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aigw_common.state_input import Fields

#: The error the step fails with when the Textract job did not succeed (never retried).
JOB_FAILED = "Textract.JobFailed"


@dataclass(frozen=True)
class Completion:
    """The fields of a completion message this pipeline uses."""

    job_id: str
    status: str
    api: str
    job_tag: str

    @classmethod
    def parse(cls, message: Any) -> Completion:
        """The completion in a decoded message; ValidationError names every problem."""
        fields = Fields("Completion", message, extra="ignore")
        completion = cls(
            job_id=fields.string("JobId", min_length=1),
            status=fields.string("Status", min_length=1),
            api=fields.string("API", min_length=1),
            job_tag=fields.string("JobTag", min_length=1),
        )
        fields.check()
        return completion


@dataclass(frozen=True)
class TaskSuccess:
    output: dict[str, Any]


@dataclass(frozen=True)
class TaskFailure:
    error: str
    cause: str


def parse_completion(message: str) -> Completion | None:
    """The completion in an SNS message, or None if it is not one this pipeline started.

    Such a message can never become valid, so it is skipped rather than retried.
    """
    try:
        return Completion.parse(json.loads(message))
    except ValueError:  # not JSON, or not a completion (a ValidationError is a ValueError)
        return None


def task_result(completion: Completion) -> TaskSuccess | TaskFailure:
    """Success with the job's id and API (what AssemblePages reads), or Textract.JobFailed."""
    status = completion.status.upper()
    if status == "SUCCEEDED":
        return TaskSuccess({"textract_job_id": completion.job_id, "api": completion.api})
    return TaskFailure(JOB_FAILED, f"Textract job {completion.job_id} ended {status}")
