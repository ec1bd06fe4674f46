"""states:startExecution(.sync, .sync:2): ASL casing in, AWS casing and epoch dates out."""

from __future__ import annotations

from typing import Any, Final

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
    StateTaskServiceSfn,
)

from aigw.local.engine.botocore_models import (
    epoch_millis,
    json_safe,
    operation_model,
    to_api_member_names,
)
from aigw.local.engine.patches import Attr, Fix

_ORIGINAL_SFN_NORMALISE_PARAMETERS: Final = StateTaskServiceSfn._normalise_parameters


def _sfn_normalise_parameters(
    self: StateTaskServiceSfn,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    _ORIGINAL_SFN_NORMALISE_PARAMETERS(self, parameters, boto_service_name, service_action_name)
    action = service_action_name or self.resource.api_action
    to_api_member_names(parameters, operation_model("stepfunctions", action).input_shape)


def _sfn_normalise_response(
    self: StateTaskServiceSfn,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    action = service_action_name or self.resource.api_action
    self._from_boto_response(response, operation_model("stepfunctions", action).output_shape)
    json_safe(response, epoch_millis)


FIXES: Final[list[Fix]] = [
    Fix(
        name="nested-executions",
        why="states:startExecution, .sync and .sync:2 take StateMachineArn/Input/Name and "
        "return PascalCase results (Output as a string for .sync, JSON for .sync:2).",
        upstream_bug="moto stubbed out the request/response normalisation, so the engine "
        "calls boto3 with StateMachineArn= and reads ExecutionArn from a camelCase reply.",
        patches=[
            Attr(StateTaskServiceSfn, "_normalise_parameters", _sfn_normalise_parameters),
            Attr(StateTaskServiceSfn, "_normalise_response", _sfn_normalise_response),
            # An in-process child finishes in milliseconds; polling every 0.5 s would add
            # up to half a second to every nested call.
            Attr(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.02),
        ],
    ),
]
