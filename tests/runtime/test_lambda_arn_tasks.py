"""Tasks whose Resource is a Lambda function's ARN (`arn:aws:lambda:…:function:NAME`, the
form many public samples use), run by the offline runtime from tests/runtime/lambda_arn_app.

Step Functions reports Lambda's service errors as `Lambda.<code>` on this path as on
`arn:aws:states:::lambda:invoke` ("Handle Lambda service exceptions",
https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html), and a
function's own error by its `errorType`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigw.local.engine import engine_fixes_reverted
from aigw.local.runtime import LocalRuntime
from aigw.local.testing import runtime_fixture

TEMPLATE = Path(__file__).parent / "lambda_arn_app" / "template.yaml"

app = runtime_fixture(TEMPLATE, name="app")


def _lambda_failures(runtime: LocalRuntime, described: dict[str, object]) -> list[str]:
    return [
        event["lambdaFunctionFailedEventDetails"]["error"]
        for event in runtime.history(str(described["executionArn"]))
        if event["type"] == "LambdaFunctionFailed"
    ]


def test_given_a_throttled_function_then_its_retry_fires_and_its_catch_matches(
    app: LocalRuntime,
) -> None:
    """Given a function with ReservedConcurrentExecutions 0 called by its ARN, with a Retry
    (two more attempts) and a Catch on Lambda.TooManyRequestsException, then all three
    attempts fail with that name and the Catch takes the execution on, as on AWS."""
    described = app.run("RetriedThenCaught", {"order": "o-1"})

    assert described["status"] == "SUCCEEDED", described
    caught = json.loads(described["output"])["error"]
    assert caught["Error"] == "Lambda.TooManyRequestsException"
    assert "Status Code: 429" in caught["Cause"]
    assert _lambda_failures(app, described) == ["Lambda.TooManyRequestsException"] * 3


def test_given_a_functions_own_error_then_it_is_named_by_its_error_type(
    app: LocalRuntime,
) -> None:
    """Given a function that raises its own PaymentDeclined, then the task fails with that
    name (not Lambda.*), which its Catch matches."""
    described = app.run("OwnErrorCaught", {"order": "o-2"})

    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["error"]["Error"] == "PaymentDeclined"
    assert _lambda_failures(app, described) == ["PaymentDeclined"]


@pytest.mark.canary
def test_canary_a_throttled_function_called_by_its_arn_fails_with_exception(
    app: LocalRuntime,
) -> None:
    """If this fails, moto fixed it upstream: delete fix lambda-arn-task-service-errors."""
    with engine_fixes_reverted("lambda-arn-task-service-errors"):
        described = app.run("RetriedThenCaught", {"order": "o-3"})

    assert (described["status"], described["error"]) == ("FAILED", "Exception")
    assert _lambda_failures(app, described) == ["Exception"]  # no Retry either
