"""StartExecution without a name gets a fresh UUID name, as on AWS."""

from __future__ import annotations

import uuid
from typing import Any, Final

from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from aigw.local.engine.patches import Attr, Fix

_ORIGINAL_START_EXECUTION: Final = StepFunctionsParserBackend.start_execution


def _start_execution(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> Any:
    return _ORIGINAL_START_EXECUTION(
        self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
    )


FIXES: Final[list[Fix]] = [
    Fix(
        name="unnamed-execution-uuid",
        why="StartExecution without a name must get a fresh UUID name, as on AWS.",
        upstream_bug="StepFunctionsParserBackend.start_execution names such executions "
        "'None', so a second one collides with the first.",
        patches=[Attr(StepFunctionsParserBackend, "start_execution", _start_execution)],
    ),
]
