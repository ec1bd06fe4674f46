"""Lambda's service errors in a Task whose Resource is the function's ARN.

A Task may name its function directly (``"Resource": "arn:aws:lambda:…:function:NAME"``,
the form many samples use) or through the optimized integration
(``arn:aws:states:::lambda:invoke``). Either way Step Functions reports an error of Lambda's
Invoke API as ``Lambda.<code>`` — ``Lambda.TooManyRequestsException`` when the function is
throttled, ``Lambda.ServiceException``, ``Lambda.ResourceNotFoundException`` — which the
state's Retry and Catch match ("Handle Lambda service exceptions", Step Functions developer
guide). The engine names them so on the lambda:invoke path only; on the ARN path every such
error was ``Exception``. A function's own error keeps its ``errorType``.
"""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (  # noqa: E501
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import (
    StateTaskLambda,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from aigw.local.engine.patches import Fix, Wrap


def _from_error(inner: Any, self: StateTaskLambda, env: Environment, ex: Exception) -> Any:
    if not isinstance(ex, ClientError):
        return inner(self, env, ex)
    # The same name and cause as the lambda:invoke path gives this error.
    error, cause = StateTaskServiceLambda._error_cause_from_client_error(ex)
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.LambdaFunctionFailed,
        event_details=EventDetails(
            lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(
                error=error, cause=cause
            )
        ),
    )


FIXES: Final[list[Fix]] = [
    Fix(
        name="lambda-arn-task-service-errors",
        why="A Task whose Resource is a function's ARN must fail with Lambda.<code> "
        "(Lambda.TooManyRequestsException for a throttled function), as on AWS and as the "
        "lambda:invoke path does, so a Retry or Catch on that name handles it.",
        upstream_bug="StateTaskLambda._from_error names every ClientError of Invoke 'Exception'.",
        patches=[Wrap(StateTaskLambda, "_from_error", _from_error)],
    ),
]
