"""Context-object timestamps (``$$.Execution.StartTime``, ``$$.State.EnteredTime``) in
AWS's format: ISO 8601 in UTC with milliseconds and a ``Z``, e.g.
``2019-03-26T20:14:13.192Z`` (the Step Functions developer guide, "Context object")."""

from __future__ import annotations

import datetime
from typing import Any, Final

from moto.stepfunctions.parser.asl.component.state import state as state_module
from moto.stepfunctions.parser.backend import execution_worker

from aigw.local.engine.patches import Attr, Fix

_ORIGINAL_EXECUTION_DATA: Final = execution_worker.ExecutionData
_ORIGINAL_STATE_DATA: Final = state_module.StateData


def aws_timestamp(value: datetime.datetime | str) -> str:
    """``value`` as Step Functions writes timestamps into the context object."""
    moment = datetime.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _execution_data(**fields: Any) -> Any:
    fields["StartTime"] = aws_timestamp(fields["StartTime"])
    return _ORIGINAL_EXECUTION_DATA(**fields)


def _state_data(**fields: Any) -> Any:
    fields["EnteredTime"] = aws_timestamp(fields["EnteredTime"])
    return _ORIGINAL_STATE_DATA(**fields)


FIXES: Final[list[Fix]] = [
    Fix(
        name="context-object-timestamps",
        why="Workflows store and compare $$.Execution.StartTime and $$.State.EnteredTime; "
        "AWS writes them as 2019-03-26T20:14:13.192Z.",
        upstream_bug="The engine puts the execution's start datetime object into the context "
        "(serialized as '2026-01-02 03:04:05.678901+00:00') and EnteredTime as isoformat() "
        "with microseconds and +00:00.",
        patches=[
            Attr(execution_worker, "ExecutionData", _execution_data),
            Attr(state_module, "StateData", _state_data),
        ],
    ),
]
