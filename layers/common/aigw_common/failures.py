"""Turn a Step Functions error (name + cause) into the job's ``{code, message, step,
retryable}``: one table, so clients see the same codes whichever service failed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
            "ExecutionLimitExceeded",
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
            "InternalDependencyException",
            "ModelNotReadyException",
        ),
        "ServiceUnavailable",
        True,
    ),
    (("States.Timeout", "States.HeartbeatTimeout", "ModelTimeoutException"), "Timeout", True),
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
            "DocumentHasNoText",
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
            "InvalidModelOutput",
        ),
        "InvalidInput",
        False,
    ),
    # A Bedrock model the account may not use (model access, Region): not the input's fault.
    (
        ("BedrockRuntime.AccessDeniedException", "BedrockRuntime.ResourceNotFoundException"),
        "ModelNotAvailable",
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

# An aws-sdk task's error whose code the service model lacks is the SDK's base exception,
# "<Service>.<Service>Exception" (Comprehend's throttling, any service's 503): its cause
# ends "(Service: X, Status Code: N, Request ID: ...)", which tells what happened.
_SDK_BASE_ERROR = re.compile(r"^(?P<service>[A-Za-z0-9]+)\.(?P=service)Exception$")
_STATUS_CODE = re.compile(r"Status Code: (\d{3})")
_THROTTLED = re.compile(r"throttl|rate exceeded|too many requests|slow down", re.IGNORECASE)


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
    # Imported on the failure path only: most invocations of finalize classify nothing.
    from aigw_common.models import JobError

    error = error or "States.TaskFailed"
    cause = cause or ""
    # A pipeline may itself run a nested pipeline (document → text): unwrap every level.
    executions = [execution_arn] if execution_arn else []
    while (child := _child_execution(cause)) is not None:
        if child.get("ExecutionArn"):
            executions.insert(0, child["ExecutionArn"])
        error = child.get("Error") or error
        cause = child.get("Cause") or ""
    code, retryable = _code(error, cause)
    step = None
    # Innermost first; Express executions keep no history on AWS, so an outer one answers.
    for arn in executions if history else []:
        step = _failed_step(history, arn)
        if step is not None:
            break
    return JobError(code=code, message=_message(error, cause), step=step, retryable=retryable)


def _child_execution(cause: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(cause)
    except ValueError:
        return None
    if isinstance(parsed, dict) and "ExecutionArn" in parsed and "Status" in parsed:
        return parsed
    return None


def _code(error: str, cause: str) -> tuple[str, bool]:
    # Service errors are "<Service>.<Name>" (Step Functions appends "Exception" to aws-sdk
    # names); Lambda errors are the bare exception class name.
    if _SDK_BASE_ERROR.match(error):
        status = _STATUS_CODE.search(cause)
        if (status and status.group(1) == "429") or _THROTTLED.search(cause):
            return "ServiceThrottled", True
        if status and status.group(1).startswith("5"):
            return "ServiceUnavailable", True
        return "PipelineFailed", False
    name = error.rsplit(".", 1)[-1]
    for names, code, retryable in _RULES:
        for known in names:
            if error == known or name in (known, known + "Exception"):
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
    """The state whose failure ended the execution: the last task failure, traced back
    through ``previousEventId`` to the state it happened in (with Parallel branches the
    most recently entered state is often another branch's)."""
    events = list(history(execution_arn))
    by_id = {event.get("id"): event for event in events}
    failures = [event for event in events if event["type"] in _TASK_FAILURES]
    if not failures:
        entered = [e for e in events if "stateEnteredEventDetails" in e]
        return entered[-1]["stateEnteredEventDetails"]["name"] if entered else None
    event: dict[str, Any] | None = failures[-1]
    for _ in range(len(events)):
        if event is None:
            break
        if "stateEnteredEventDetails" in event:
            return str(event["stateEnteredEventDetails"]["name"])
        event = by_id.get(event.get("previousEventId"))
    return None


_TASK_FAILURES = {
    "TaskFailed",
    "TaskTimedOut",
    "TaskStartFailed",
    "TaskSubmitFailed",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "LambdaFunctionStartFailed",
}
