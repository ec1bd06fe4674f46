"""StartSyncExecution for EXPRESS state machines."""

from __future__ import annotations

import copy
import datetime
import json
import re
import uuid
from typing import Final

from moto import backend_index
from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult
from moto.stepfunctions import urls as sfn_urls
from moto.stepfunctions.exceptions import InvalidExecutionInput
from moto.stepfunctions.parser.backend.execution import SyncExecution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from aigw.local.engine.patches import Append, Attr, Fix

_SYNC_URL_BASE: Final = r"https?://sync-states\.(.+)\.amazonaws.com"


def _start_sync_execution_backend(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> SyncExecution:
    state_machine = self.describe_state_machine(state_machine_arn)
    if state_machine.type != "EXPRESS":
        raise AWSError(
            "This operation is not supported by this type of state machine",
            exception_type="StateMachineTypeNotSupported",
        )
    input_data = execution_input or "{}"
    try:
        json.loads(input_data)
    except ValueError as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from None
    name = name or str(uuid.uuid4())
    self._validate_name(name)
    # Snapshot the definition as start_execution does, without the live executions.
    snapshot = copy.deepcopy(
        state_machine,
        {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend},
    )
    snapshot.sm_type = "EXPRESS"
    execution = SyncExecution(
        name=name,
        sm_type=snapshot.sm_type,
        role_arn=snapshot.roleArn,
        exec_arn=(
            f"arn:{self.partition}:states:{self.region_name}:{self.account_id}:express:"
            f"{state_machine.name}:{name}:{uuid.uuid4()}"
        ),
        account_id=self.account_id,
        region_name=self.region_name,
        state_machine=snapshot,
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=input_data,
        trace_header=trace_header,
        activity_store={},
    )
    execution.start()  # a SyncExecutionWorker evaluates in this thread
    return execution


def _start_sync_execution_response(self: StepFunctionResponse) -> ActionResult:
    execution = self.stepfunction_backend.start_sync_execution(
        self._get_param("stateMachineArn"),
        self._get_param("name"),
        self._get_param("input", if_none="{}"),
        self._get_param("traceHeader"),
    )
    return ActionResult(execution.to_start_sync_execution_output())


FIXES: Final[list[Fix]] = [
    Fix(
        name="start-sync-execution",
        why="StartSyncExecution runs EXPRESS state machines synchronously, as on AWS.",
        upstream_bug="moto has no StartSyncExecution handler and does not route botocore's "
        "sync-states. host, though the engine has SyncExecution.",
        patches=[
            Append(sfn_urls.url_bases, _SYNC_URL_BASE),
            Append(
                backend_index.backend_url_patterns, ("stepfunctions", re.compile(_SYNC_URL_BASE))
            ),
            Attr(StepFunctionsParserBackend, "start_sync_execution", _start_sync_execution_backend),
            Attr(StepFunctionResponse, "start_sync_execution", _start_sync_execution_response),
        ],
    ),
]
