"""StopExecution: the execution is ABORTED when the call returns, with the stop date the
call answers and the error and cause it was given (ExecutionAborted event details).

On AWS, StopExecution returns ``stopDate`` and DescribeExecution shows ABORTED from then
on. moto drops ``error`` and ``cause``, answers before the engine has stopped (so its
``stopDate`` is still empty and the execution still RUNNING for a moment), and fails on an
execution started a moment before (its worker has no environment yet).
"""

from __future__ import annotations

import datetime
import time
from typing import Final

from moto.core.responses import ActionResult
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from aigw.local.engine.patches import Attr, Fix

#: How long StopExecution waits for the engine's worker to leave the running state.
STOP_WAIT_SECONDS: Final = 10.0
_ORIGINAL: Final = StepFunctionResponse.stop_execution


def _stop_execution(self: StepFunctionResponse) -> ActionResult:
    backend = self.stepfunction_backend
    if not isinstance(backend, StepFunctionsParserBackend):
        return _ORIGINAL(self)
    execution = backend.describe_execution(self._get_param("executionArn"))
    if execution.exec_status == ExecutionStatus.RUNNING:
        stop_date = datetime.datetime.now(tz=datetime.UTC)
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        # An execution started a moment ago may not have its environment yet.
        while getattr(execution.exec_worker, "env", None) is None and time.monotonic() < deadline:
            time.sleep(0.001)
        execution.stop(
            stop_date=stop_date, error=self._get_param("error"), cause=self._get_param("cause")
        )
        while execution.exec_status == ExecutionStatus.RUNNING and time.monotonic() < deadline:
            time.sleep(0.001)
        execution.stop_date = stop_date
    return ActionResult({"stopDate": execution.stop_date})


FIXES: Final[list[Fix]] = [
    Fix(
        name="stop-execution",
        why="Callers (cancel APIs, tests) read the execution right after StopExecution and "
        "expect ABORTED, the returned stopDate, and the error and cause they gave.",
        upstream_bug="stop_execution passes error='' and cause='' and answers before the "
        "worker stopped, with stopDate None.",
        patches=[Attr(StepFunctionResponse, "stop_execution", _stop_execution)],
    ),
]
