"""Turn a Step Functions error (name + cause) into the job's ``{code, message, step,
retryable}``: one table, so clients see the same codes whichever service failed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from aigw_common.models import JobError

# (error name suffix, job error code, retryable); the first match wins.
_RULES: list[tuple[tuple[str, ...], str, bool]] = [
    (
        (
            "ThrottlingException",
            "TooManyRequestsException",
            "ProvisionedThroughputExceededException",
            "LimitExceededException",
            "RequestLimitExceeded",
            "ExecutionLimitExceededException",
        ),
        "ServiceThrottled",
        True,
    ),
    (
        (
            "InternalServerException",
            "InternalServerError",
            "InternalServerErrorException",
            "InternalFailure",
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "ServiceException",
            "AWSLambdaException",
            "SdkClientException",
        ),
        "ServiceUnavailable",
        True,
    ),
    (("States.Timeout", "States.HeartbeatTimeout"), "Timeout", True),
    (
        (
            "UnsupportedLanguageException",
            "UnsupportedLanguagePairException",
            "DetectedLanguageLowConfidenceException",
        ),
        "UnsupportedLanguage",
        False,
    ),
    (
        ("TextSizeLimitExceededException", "DocumentTooLargeException", "ImageTooLargeException"),
        "InputTooLarge",
        False,
    ),
    (
        (
            "UnsupportedDocumentException",
            "BadDocumentException",
            "InvalidImageFormatException",
            "TextractJobFailed",
            "Textract.JobFailed",
        ),
        "InvalidDocument",
        False,
    ),
    (
        (
            "InvalidParameterException",
            "InvalidRequestException",
            "ValidationException",
            "ValidationError",
            "InvalidFeatures",
            "UnknownModel",
        ),
        "InvalidInput",
        False,
    ),
    (
        ("AccessDeniedException", "InvalidS3ObjectException", "NoSuchKeyException"),
        "InputNotAccessible",
        False,
    ),
    (("ModelError", "ModelErrorException"), "ModelError", False),
    (("States.Runtime", "States.DataLimitExceeded", "Runtime.MarshalError"), "Internal", False),
]

HistoryReader = Callable[[str], Iterable[dict[str, Any]]]


def classify(
    error: str | None,
    cause: str | None,
    history: HistoryReader | None = None,
    execution_arn: str | None = None,
) -> JobError:
    """The job error for a failure; ``history`` (GetExecutionHistory events) finds the step.

    A failed nested execution (``startExecution.sync``) carries the child's description
    as its cause: the child's own error, cause and failing state are what matter.
    """
    error = error or "States.TaskFailed"
    cause = cause or ""
    # A pipeline may itself run a nested pipeline (document → text): unwrap every level.
    while (child := _child_execution(cause)) is not None:
        execution_arn = child.get("ExecutionArn", execution_arn)
        error = child.get("Error") or error
        cause = child.get("Cause") or ""
    code, retryable = _code(error)
    step = _failed_step(history, execution_arn) if history and execution_arn else None
    return JobError(code=code, message=_message(error, cause), step=step, retryable=retryable)


def _child_execution(cause: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(cause)
    except ValueError:
        return None
    if isinstance(parsed, dict) and "ExecutionArn" in parsed and "Status" in parsed:
        return parsed
    return None


def _code(error: str) -> tuple[str, bool]:
    for suffixes, code, retryable in _RULES:
        if any(
            error == suffix or error.endswith("." + suffix) or error.endswith(suffix)
            for suffix in suffixes
        ):
            return code, retryable
    return "PipelineFailed", False


def _message(error: str, cause: str) -> str:
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:  # a Lambda function's error
        cause = str(parsed["errorMessage"])
    cause = cause.strip()
    text = f"{error}: {cause}" if cause else error
    return text[:1000]


def _failed_step(history: HistoryReader, execution_arn: str) -> str | None:
    """The state that was running when the execution's first unrecovered failure happened."""
    last_entered = None
    failed_in = None
    for event in history(execution_arn):
        entered = event.get("stateEnteredEventDetails")
        if entered and event["type"].endswith("StateEntered"):
            last_entered = entered["name"]
        elif event["type"] in (
            "TaskFailed",
            "TaskTimedOut",
            "LambdaFunctionFailed",
            "LambdaFunctionTimedOut",
            "ExecutionFailed",
            "FailStateEntered",
        ):
            failed_in = failed_in if event["type"] == "ExecutionFailed" else last_entered
    return failed_in or last_entered
