"""What the StartTextract step asks of Textract: the request, its job tag, its error names.

The state machine's payload (``statemachines/document-insights.asl.json``) is validated here;
the Textract request is built from it. Nothing in this module calls AWS.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from aigw_common.state_input import Fields

TEXT_DETECTION = "StartDocumentTextDetection"
ANALYSIS = "StartDocumentAnalysis"

#: How long a stored task token is kept: longer than the step's TimeoutSeconds (900 s) by a
#: wide margin; DynamoDB's TTL then removes tokens whose completion never came.
TOKEN_LIFETIME_SECONDS = 24 * 3600


FEATURES = ("FORMS", "TABLES")


@dataclass(frozen=True)
class DocumentLocation:
    bucket: str
    key: str


@dataclass(frozen=True)
class DocumentOptions:
    """The job's options; only ``features`` matters to Textract (``language`` is for later)."""

    features: list[str]


@dataclass(frozen=True)
class StartTextractEvent:
    """The StartTextract state's payload."""

    task_token: str
    execution_id: str
    attempt: int
    tenant_id: str
    job_id: str
    document: DocumentLocation
    options: DocumentOptions

    @classmethod
    def parse(cls, event: Any) -> StartTextractEvent:
        """The payload, checked; ValidationError names every problem."""
        fields = Fields("StartTextractEvent", event)
        task_token = fields.string("task_token", min_length=1)
        execution_id = fields.string("execution_id", min_length=1)
        attempt = fields.integer("attempt", minimum=0)
        tenant_id = fields.string("tenant_id")
        job_id = fields.string("job_id")
        document = fields.object("document", "DocumentLocation")
        location = DocumentLocation(
            document.string("bucket", min_length=1), document.string("key", min_length=1)
        )
        options = fields.object("options", "DocumentOptions", extra="ignore", required=False)
        features = options.choices("features", FEATURES)
        fields.check()
        return cls(
            task_token,
            execution_id,
            attempt,
            tenant_id,
            job_id,
            location,
            DocumentOptions(features),
        )


@dataclass(frozen=True)
class StartRequest:
    """One Start* call: the operation and its parameters."""

    operation: Literal["StartDocumentTextDetection", "StartDocumentAnalysis"]
    parameters: dict[str, Any]


def job_tag(execution_id: str, attempt: int) -> str:
    """The JobTag (and ClientRequestToken) of one attempt of the StartTextract step.

    Textract allows at most 64 characters of ``[a-zA-Z0-9_.\\-:]`` in a tag (and no ``.`` or
    ``:`` in a request token), so the execution ARN is hashed. Each retry of the step gets a
    tag of its own: a late completion of an earlier attempt's job never finds the token of the
    attempt that is waiting now, and a request token reused within an attempt (the SDK's own
    retries) never starts a second job.
    """
    digest = hashlib.sha256(execution_id.encode()).hexdigest()[:48]
    return f"{digest}-{attempt}"


def start_request(
    event: StartTextractEvent, tag: str, topic_arn: str, role_arn: str
) -> StartRequest:
    """Text detection, or analysis when FORMS or TABLES are asked for."""
    parameters: dict[str, Any] = {
        "DocumentLocation": {
            "S3Object": {"Bucket": event.document.bucket, "Name": event.document.key}
        },
        "ClientRequestToken": tag,
        "JobTag": tag,
        "NotificationChannel": {"SNSTopicArn": topic_arn, "RoleArn": role_arn},
    }
    features = sorted(set(event.options.features))
    if features:
        return StartRequest(ANALYSIS, parameters | {"FeatureTypes": features})
    return StartRequest(TEXT_DETECTION, parameters)


class TextractError(Exception):
    """An error Textract answered with. Subclasses are named after the AWS error code.

    Lambda reports an unhandled exception's class name as the error type, and that is the
    error name Step Functions' Retry and Catch match: ``ThrottlingException``,
    ``InternalServerError``, ``InvalidS3ObjectException``...
    """


@functools.cache
def textract_error(code: str) -> type[TextractError]:
    """The exception class for an AWS error code (the same class for the same code)."""
    return type(code, (TextractError,), {"__module__": __name__})
