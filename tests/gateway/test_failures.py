"""Failure classification: the job error codes clients see, whichever service failed."""

from __future__ import annotations

import json

import pytest

from aigw_common.failures import classify


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        ("Comprehend.ThrottlingException", "ServiceThrottled", True),
        ("Translate.TooManyRequestsException", "ServiceThrottled", True),
        ("StepFunctions.ExecutionLimitExceeded", "ServiceThrottled", True),
        ("DynamoDB.RequestLimitExceeded", "ServiceThrottled", True),
        ("Rekognition.ProvisionedThroughputExceededException", "ServiceThrottled", True),
        ("ThrottlingException", "ServiceThrottled", True),  # a Lambda's own error class
        ("Comprehend.InternalServerException", "ServiceUnavailable", True),
        ("SageMakerRuntime.InternalFailureException", "ServiceUnavailable", True),
        ("Rekognition.InternalServerErrorException", "ServiceUnavailable", True),
        ("Translate.ServiceUnavailableException", "ServiceUnavailable", True),
        ("Lambda.ServiceException", "ServiceUnavailable", True),
        ("States.Timeout", "Timeout", True),
        ("Comprehend.TextSizeLimitExceededException", "InputTooLarge", False),
        ("Translate.UnsupportedLanguagePairException", "UnsupportedLanguage", False),
        ("Textract.JobFailed", "InvalidDocument", False),
        ("Textract.UnsupportedDocumentException", "InvalidDocument", False),
        ("SageMakerRuntime.ValidationErrorException", "InvalidInput", False),
        ("InvalidFeatures", "InvalidInput", False),
        ("S3.NoSuchKeyException", "InputNotAccessible", False),
        ("States.Runtime", "Internal", False),
        ("SomethingNobodyExpected", "PipelineFailed", False),
    ],
)
def test_given_an_error_name_then_its_job_code_and_retryability(
    error: str, code: str, retryable: bool
) -> None:
    failure = classify(error, "it went wrong")

    assert (failure.code, failure.retryable) == (code, retryable)
    assert failure.message == f"{error}: it went wrong"


@pytest.mark.parametrize(
    ("cause", "code", "retryable"),
    [
        (
            "Rate exceeded (Service: Comprehend, Status Code: 400, Request ID: r1)",
            "ServiceThrottled",
            True,
        ),
        ("(Service: Comprehend, Status Code: 503, Request ID: r2)", "ServiceUnavailable", True),
        (
            "User is not authorized (Service: Comprehend, Status Code: 400, Request ID: r3)",
            "PipelineFailed",
            False,
        ),
    ],
)
def test_given_an_error_code_the_sdk_model_lacks_then_the_cause_tells_throttling_from_outage(
    cause: str, code: str, retryable: bool
) -> None:
    """Comprehend's real-time APIs throttle with ThrottlingException, which no Comprehend
    operation models: Step Functions reports it as the SDK's Comprehend.ComprehendException."""
    failure = classify("Comprehend.ComprehendException", cause)

    assert (failure.code, failure.retryable) == (code, retryable)


def test_given_nested_executions_then_the_innermost_error_is_reported() -> None:
    grandchild = {
        "ExecutionArn": "arn:gc",
        "Status": "FAILED",
        "Error": "Comprehend.ThrottlingException",
        "Cause": "slow down",
    }
    child = {
        "ExecutionArn": "arn:c",
        "Status": "FAILED",
        "Error": "States.TaskFailed",
        "Cause": json.dumps(grandchild),
    }

    failure = classify("States.TaskFailed", json.dumps(child))

    assert (failure.code, failure.message) == (
        "ServiceThrottled",
        "Comprehend.ThrottlingException: slow down",
    )


def test_given_a_lambda_error_then_only_its_message_never_its_stack() -> None:
    cause = json.dumps(
        {
            "errorType": "KeyError",
            "errorMessage": "'Page'",
            "stackTrace": ['  File "app.py", line 3'],
        }
    )

    failure = classify("KeyError", cause)

    assert failure.message == "KeyError: 'Page'"


def test_given_a_child_without_history_then_the_step_comes_from_the_parent() -> None:
    child = {"ExecutionArn": "arn:child", "Status": "FAILED", "Error": "X.ThrottlingException"}
    parent_history = [
        {"id": 1, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Run"}},
        {"id": 2, "type": "TaskFailed", "previousEventId": 1},
    ]

    def history(arn: str) -> list[dict[str, object]]:
        return parent_history if arn == "arn:parent" else []  # an Express child on AWS

    failure = classify(
        "States.TaskFailed", json.dumps(child), history=history, execution_arn="arn:parent"
    )

    assert (failure.code, failure.step) == ("ServiceThrottled", "Run")
