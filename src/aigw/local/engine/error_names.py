"""Errors leaving a Parallel branch or Map iteration, and what States.ALL matches."""

from __future__ import annotations

from typing import Final

from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (
    ErrorEqualsDecl,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    iteration_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.eval.environment import Environment

from aigw.local.engine.patches import Attr, Fix


def _propagated_error_name(error_name: str | None) -> ErrorName:
    # The engine wraps the branch's error in CustomErrorName, which rejects "States.*".
    if error_name is not None and error_name.startswith("States."):
        return StatesErrorName.from_name(error_name)
    return CustomErrorName(error_name=error_name)


_NOT_CAUGHT_BY_STATES_ALL: Final = {
    StatesErrorNameType.StatesRuntime,
    StatesErrorNameType.StatesStatesDataLimitExceeded,
}
_ORIGINAL_ERROR_EQUALS: Final = ErrorEqualsDecl._eval_body


def _error_equals(self: ErrorEqualsDecl, env: Environment) -> None:
    error_name = env.stack[-1]
    _ORIGINAL_ERROR_EQUALS(self, env)
    if (
        isinstance(error_name, StatesErrorName)
        and error_name.typ in _NOT_CAUGHT_BY_STATES_ALL
        and ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names  # it must stand alone
    ):
        env.stack[-1] = False


FIXES: Final[list[Fix]] = [
    Fix(
        name="branch-states-errors",
        why="A Parallel branch or Map iteration failing with States.TaskFailed, "
        "States.Timeout, ... must fail its state with that error, which Retry/Catch handle.",
        upstream_bug="BranchesDecl and IterationWorker wrap the error in CustomErrorName, "
        "which raises ValueError for States.* names, so the state fails with States.Runtime.",
        patches=[
            Attr(branches_decl, "CustomErrorName", _propagated_error_name),
            Attr(iteration_worker, "CustomErrorName", _propagated_error_name),
            # A Fail state re-raising a caught States.* error (ErrorPath) hits the same check.
            Attr(state_fail, "CustomErrorName", _propagated_error_name),
        ],
    ),
    Fix(
        name="states-all-excludes-runtime",
        why="On AWS a Retry/Catch on States.ALL does not handle States.Runtime or "
        "States.DataLimitExceeded, so such bugs fail the execution instead of being caught.",
        upstream_bug="ErrorEqualsDecl matches States.ALL against every error.",
        patches=[Attr(ErrorEqualsDecl, "_eval_body", _error_equals)],
    ),
]
