"""Small, reversible patches of moto's Step Functions engine (moto 5.2.5, pinned).

moto runs ASL in-process with the interpreter it ported from LocalStack. Where that
interpreter differs from AWS in a way our workflows can see, one `Fix` below patches it.
Each fix replaces or wraps as little as possible and can be reverted, so the canary tests
in tests/runtime/test_engine_fixes.py can show whether the upstream bug is still there:
when a canary fails after a moto upgrade, moto fixed the bug and the fix should go.

`apply_engine_fixes()` installs them all (idempotent); `engine_fixes_reverted()` takes
some or all of them out for the duration of a `with` block; `set_time_scale()` shortens
Wait states and Retry back-off for tests.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import json
import re
import sys
import threading
import time
import types
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, Protocol

import boto3
import botocore.session
from botocore import xform_name
from botocore.handlers import BUILTIN_HANDLERS
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.response import StreamingBody
from jsonpath_ng.ext import parse as parse_json_path
from jsonpath_ng.jsonpath import Child, Fields, Index, JSONPath, Root, This
from moto import backend_index
from moto.core.exceptions import AWSError
from moto.core.models import botocore_stubber
from moto.core.responses import ActionResult, EmptyResult
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.settings import moto_server_port
from moto.stepfunctions import urls as sfn_urls
from moto.stepfunctions.exceptions import InvalidExecutionInput
from moto.stepfunctions.parser import utils as parser_utils
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (
    ErrorEqualsDecl,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    iteration_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (  # noqa: E501
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_activitiy import (
    StateTaskActivity,
)
from moto.stepfunctions.parser.asl.component.state.fail import state_fail
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimeoutError
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import boto_client, json_path
from moto.stepfunctions.parser.backend.execution import SyncExecution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.parser.utils import camel_to_snake_case
from moto.stepfunctions.responses import StepFunctionResponse

# --------------------------------------------------------------------------------------
# Patch primitives


class _Patch(Protocol):
    def apply(self) -> None: ...

    def revert(self) -> None: ...


_MISSING: Final = object()


class _Attr:
    """Set one attribute of a class or module; revert restores it, or removes it if new."""

    def __init__(self, owner: Any, name: str, new: Any) -> None:
        self.owner, self.name, self.new = owner, name, new
        self._saved: Any = _MISSING

    def apply(self) -> None:
        self._saved = vars(self.owner).get(self.name, _MISSING)
        setattr(self.owner, self.name, self.new)

    def revert(self) -> None:
        if self._saved is _MISSING:
            delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self._saved)


class _Rebind:
    """Swap a value that engine modules imported by name (`from x import f`), everywhere."""

    def __init__(self, name: str, old: Any, new: Any) -> None:
        self.name, self.old, self.new = name, old, new

    @staticmethod
    def _swap(name: str, current: Any, replacement: Any) -> None:
        for module_name, module in list(sys.modules.items()):
            if module_name.startswith("moto.stepfunctions") and vars(module).get(name) is current:
                setattr(module, name, replacement)

    def apply(self) -> None:
        self._swap(self.name, self.old, self.new)

    def revert(self) -> None:
        self._swap(self.name, self.new, self.old)


class _Append:
    """Add an item to a registry list (URL patterns)."""

    def __init__(self, items: list[Any], item: Any) -> None:
        self.items, self.item = items, item

    def apply(self) -> None:
        self.items.append(self.item)

    def revert(self) -> None:
        self.items.remove(self.item)


@dataclass(eq=False)
class Fix:
    """One workaround: what it is for, the moto bug it covers, and its patches."""

    name: str
    why: str
    upstream_bug: str
    patches: Sequence[_Patch]
    applied: bool = False

    def apply(self) -> None:
        if not self.applied:
            for patch in self.patches:
                patch.apply()
            self.applied = True

    def revert(self) -> None:
        if self.applied:
            for patch in reversed(self.patches):
                patch.revert()
            self.applied = False


# --------------------------------------------------------------------------------------
# botocore models, shared by the fixes that translate between ASL and API shapes

_models_lock = threading.Lock()


@functools.cache
def _botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def _service_model(boto_service: str) -> ServiceModel:
    with _models_lock:  # botocore sessions are not thread-safe
        return _botocore_session().get_service_model(boto_service)


@functools.cache
def _operation_model(boto_service: str, action: str) -> OperationModel:
    # The engine calls `getattr(client, camel_to_snake_case(action))`; find that operation.
    wanted = camel_to_snake_case(action)
    model = _service_model(boto_service)
    for operation in model.operation_names:
        if xform_name(operation) == wanted:
            return model.operation_model(operation)
    raise ValueError(f"Service '{boto_service}' has no API action '{action}'.")


def _to_api_member_names(value: Any, shape: Shape | None) -> None:
    """Rename ASL (PascalCase) request keys in place to the API's own member names."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {xform_name(name): (name, member) for name, member in shape.members.items()}
        for key in list(value):
            if (found := members.get(xform_name(key))) is not None:
                member_name, member_shape = found
                item = value.pop(key)
                _to_api_member_names(item, member_shape)
                value[member_name] = item
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for item in value:
            _to_api_member_names(item, shape.member)
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for item in value.values():
            _to_api_member_names(item, shape.value)


def _blob_text(blob: bytes) -> str:
    # AWS returns blobs (S3/SageMaker bodies) as text; undecodable bytes become base64.
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(blob).decode("ascii")


def _json_safe(value: Any, timestamp: Callable[[datetime.datetime], Any]) -> Any:
    """Make a botocore response JSON-safe, in place where it is a container."""
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _json_safe(item, timestamp)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _json_safe(item, timestamp)
    elif isinstance(value, StreamingBody):
        return _blob_text(value.read())
    elif isinstance(value, bytes | bytearray):
        return _blob_text(bytes(value))
    elif isinstance(value, datetime.datetime):
        return timestamp(value)
    return value


def _epoch_millis(value: datetime.datetime) -> int:
    return int(value.timestamp() * 1000)


def _iso_8601(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------------------
# 1+2. JSONPath: definite paths give the value, indefinite ones a (possibly empty) list

_ORIGINAL_EXTRACT_JSON: Final = json_path.extract_json


@functools.lru_cache(maxsize=2048)
def _parsed_json_path(path: str) -> JSONPath:
    return parse_json_path(path)


def _is_definite(expr: JSONPath) -> bool:
    # Jayway's (and so AWS's) rule: only single names and single indexes are definite;
    # filters, wildcards, slices, unions and `..` make a path indefinite.
    if isinstance(expr, Root | This):
        return True
    if isinstance(expr, Child):
        return _is_definite(expr.left) and _is_definite(expr.right)
    if isinstance(expr, Fields):
        return len(expr.fields) == 1 and expr.fields[0] != "*"
    if isinstance(expr, Index):
        return len(expr.indices) == 1
    return False


def _extract_json(path: str, data: Any) -> Any:
    expr = _parsed_json_path(path)
    matches = expr.find(data)
    if not _is_definite(expr):
        return [match.value for match in matches]
    if not matches:
        raise json_path.NoSuchJsonPathError(json_path=path, data=data)
    return matches[0].value


# --------------------------------------------------------------------------------------
# 3. StartExecution without a name

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


# --------------------------------------------------------------------------------------
# 4. states:startExecution(.sync, .sync:2): ASL casing in, AWS casing and epoch dates out

_ORIGINAL_SFN_NORMALISE_PARAMETERS: Final = StateTaskServiceSfn._normalise_parameters


def _sfn_normalise_parameters(
    self: StateTaskServiceSfn,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    _ORIGINAL_SFN_NORMALISE_PARAMETERS(self, parameters, boto_service_name, service_action_name)
    action = service_action_name or self.resource.api_action
    _to_api_member_names(parameters, _operation_model("stepfunctions", action).input_shape)


def _sfn_normalise_response(
    self: StateTaskServiceSfn,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    action = service_action_name or self.resource.api_action
    self._from_boto_response(response, _operation_model("stepfunctions", action).output_shape)
    _json_safe(response, _epoch_millis)


# --------------------------------------------------------------------------------------
# 5+6. aws-sdk integrations: service names, error names, casing, blobs and dates

# aws-sdk integration names (arn:aws:states:::aws-sdk:<name>:<action>) are the AWS SDK for
# Java 2.x client names in lower case. Most are a boto3 service name without its hyphens
# (sagemakerruntime, acmpca, bedrockruntime); these, for botocore 1.44, are not.
_SDK_SERVICE_NAMES: Final[dict[str, str]] = {
    "applicationdiscovery": "discovery",
    "cloudwatchlogs": "logs",
    "cognitoidentityprovider": "cognito-idp",
    "costandusagereport": "cur",
    "costexplorer": "ce",
    "databasemigration": "dms",
    "directory": "ds",
    "directoryservicedata": "ds-data",
    "elasticloadbalancing": "elb",
    "elasticloadbalancingv2": "elbv2",
    "elasticsearch": "es",
    "eventbridge": "events",
    "iotdataplane": "iot-data",
    "iotjobsdataplane": "iot-jobs-data",
    "lexmodelbuilding": "lex-models",
    "lexmodelsv2": "lexv2-models",
    "lexruntimev2": "lexv2-runtime",
    "marketplacemetering": "meteringmarketplace",
    "migrationhub": "mgh",
    "serverlessapplicationrepository": "serverlessrepo",
    "sfn": "stepfunctions",
    "simpledb": "sdb",
}


@functools.cache
def _boto_services_without_hyphens() -> dict[str, str]:
    with _models_lock:
        services = _botocore_session().get_available_services()
    return {name.replace("-", ""): name for name in services}


def boto3_service_name(integration_name: str) -> str:
    """The boto3 service name for an aws-sdk integration name (e.g. sagemakerruntime)."""
    return _SDK_SERVICE_NAMES.get(integration_name) or _boto_services_without_hyphens().get(
        integration_name, integration_name
    )


def _pascal_case_words(service_id: str) -> str:
    # The AWS SDK for Java 2.x turns a serviceId into its client name word by word
    # ("SageMaker Runtime" -> SageMakerRuntime, "DynamoDB" -> DynamoDb, "ACM PCA" -> AcmPca,
    # "SFN" -> Sfn); Step Functions prefixes aws-sdk errors with that name.
    text = re.sub(r"[^A-Za-z0-9]+", " ", service_id)
    text = re.sub(r"([^a-z]{2,})v([0-9]+)", r"\1 v\2 ", text)
    text = re.sub(r"([^A-Z]{2,})V([0-9]+)", r"\1 V\2 ", text)
    text = re.sub(r"(?<=[a-z])(?=[A-Z][a-zA-Z0-9])", " ", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([0-9])([a-zA-Z])", r"\1 \2", text)
    name = "".join(word[:1].upper() + word[1:].lower() for word in text.split())
    return name.removesuffix("Service") or name  # "Config Service" -> Config


@functools.cache
def aws_sdk_error_prefix(integration_name: str) -> str:
    """`<Prefix>` of aws-sdk task errors `<Prefix>.<Name>Exception`, e.g. DynamoDb, S3."""
    return _pascal_case_words(_service_model(boto3_service_name(integration_name)).service_id)


def _sdk_get_boto_service_name(
    self: StateTaskServiceAwsSdk, boto_service_name: str | None = None
) -> str:
    return boto3_service_name(boto_service_name or self.resource.api_name)


def _sdk_normalise_parameters(
    self: StateTaskServiceAwsSdk,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name),
        service_action_name or self.resource.api_action,
    )
    _to_api_member_names(parameters, operation.input_shape)


def _sdk_normalise_response(
    self: StateTaskServiceAwsSdk,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name),
        service_action_name or self.resource.api_action,
    )
    if operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)
    _json_safe(response, _iso_8601)


# --------------------------------------------------------------------------------------
# 7. SendTaskFailure's cause, and States.HeartbeatTimeout


def _send_task_failure(self: StepFunctionResponse) -> EmptyResult:
    backend = self.stepfunction_backend
    details: dict[str, Any] = {"error": self._get_param("error")}
    if isinstance(backend, StepFunctionsParserBackend):  # the plain backend takes no cause
        details["cause"] = self._get_param("cause")
    backend.send_task_failure(self._get_param("taskToken"), **details)
    return EmptyResult()


class _HeartbeatTimeoutName(StatesErrorName):
    """States.HeartbeatTimeout, which a Retry/Catch on States.Timeout also matches on AWS."""

    def __init__(self) -> None:
        super().__init__(typ=StatesErrorNameType.StatesHeartbeatTimeout)

    def matches(self, error_name: str | None) -> bool:
        return error_name in (self.error_name, StatesErrorNameType.StatesTimeout.to_name())


def _reporting_heartbeat_timeouts(
    from_error: Callable[[Any, Environment, Exception], FailureEvent],
) -> Callable[[Any, Environment, Exception], FailureEvent]:
    @functools.wraps(from_error)
    def _from_error(self: Any, env: Environment, ex: Exception) -> FailureEvent:
        event = from_error(self, env, ex)
        if not isinstance(ex, HeartbeatTimeoutError):
            return event
        # The engine reports the heartbeat timeout as a plain timeout; rename its error.
        error_name = _HeartbeatTimeoutName()
        details = {
            key: {**spec, "error": error_name.error_name}
            for key, spec in (event.event_details or {}).items()
        }
        return FailureEvent(env, error_name, event.event_type, details)

    return _from_error


# --------------------------------------------------------------------------------------
# Errors leaving a Parallel branch or Map iteration, and what States.ALL matches


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


# --------------------------------------------------------------------------------------
# 8. StartSyncExecution for EXPRESS state machines

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


# --------------------------------------------------------------------------------------
# 9. Performance: boto3 clients, parsed programs, finished threads

_ORIGINAL_BOTO_CLIENT_FOR: Final = boto_client.boto_client_for
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def _cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    # boto3 clients are thread-safe but building one takes milliseconds and uses the
    # (not thread-safe) default session. A client keeps the event handlers it was built
    # with, so a new default session or new built-in handlers (e.g. a local provider
    # registered later) must yield a new client.
    # The original ignores state_credentials (every client uses moto's dummy keys).
    with _clients_lock:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        endpoint = None if botocore_stubber.enabled else moto_server_port()
        key = (session, region, service, endpoint, len(BUILTIN_HANDLERS))
        client = _clients.get(key)
        if client is None:
            stale = [cached for cached in _clients if cached[0] is not session]
            for cached in stale:
                del _clients[cached]
            client = _clients[key] = _ORIGINAL_BOTO_CLIENT_FOR(region, service, state_credentials)
        return client


_PROGRAM_CACHE_SIZE: Final = 128
_programs: OrderedDict[str, EvalComponent] = OrderedDict()
_programs_lock = threading.Lock()


def _prime_heap_keys(component: Any, seen: set[int] | None = None) -> None:
    # EvalComponent.heap_key is assigned lazily; assign every key before the tree is
    # shared by concurrent executions so that no two threads race to set it.
    seen = set() if seen is None else seen
    if id(component) in seen:
        return
    seen.add(id(component))
    if isinstance(component, EvalComponent):
        _ = component.heap_key
    children: Any = ()
    if isinstance(component, list | tuple | set):
        children = component
    elif isinstance(component, dict):
        children = component.values()
    elif isinstance(component, Component):
        children = vars(component).values()
    for child in children:
        _prime_heap_keys(child, seen)


def _cached_evaluation_entrypoint(self: ExecutionWorker) -> EvalComponent:
    # The component tree keeps all evaluation state in the Environment (Map iterations
    # already share one tree across threads), so one parse per definition is enough.
    definition = self._evaluation_details.state_machine_details.definition
    with _programs_lock:
        program = _programs.get(definition)
        if program is not None:
            _programs.move_to_end(definition)
            return program
    program = AmazonStateLanguageParser.parse(definition)[0]
    _prime_heap_keys(program)
    with _programs_lock:
        _programs[definition] = program
        if len(_programs) > _PROGRAM_CACHE_SIZE:
            _programs.popitem(last=False)
    return program


class _LiveThreads(list[threading.Thread]):
    """The engine's TMP_THREADS registry, keeping only threads that have not finished."""

    _lock = threading.Lock()

    def append(self, thread: threading.Thread) -> None:
        with self._lock:
            self[:] = [alive for alive in self if alive.is_alive()]
            super().append(thread)


_ORIGINAL_TMP_THREADS: Final = parser_utils.TMP_THREADS
_LIVE_THREADS: Final = _LiveThreads()


# --------------------------------------------------------------------------------------
# 10. Time scaling of Wait states and Retry back-off (not of timeouts or heartbeats)

_time_scale = 1.0


def set_time_scale(factor: float) -> None:
    """Multiply Wait durations and Retry intervals by `factor` (1.0 = real time)."""
    global _time_scale
    if factor <= 0:
        raise ValueError(f"time scale must be positive, got {factor}")
    _time_scale = float(factor)


def _scaled_wait(self: WaitFunction, env: Environment) -> None:
    # Replaces the engine's loop, which also mis-handles fractional seconds.
    deadline = time.monotonic() + max(self._get_wait_seconds(env=env), 0) * _time_scale
    while env.is_running() and (remaining := deadline - time.monotonic()) > 0:
        env.program_state_event.wait(remaining)  # pulsed on stop, failure and timeout


def _scaled_sleep(seconds: float) -> None:
    time.sleep(seconds * _time_scale)


# The retrier's only use of the `time` module is `time.sleep(interval_seconds)`.
_SCALED_TIME: Final = types.SimpleNamespace(sleep=_scaled_sleep)


# --------------------------------------------------------------------------------------
# StopExecution while a task is in flight: the stop must win

_ORIGINAL_SET_ERROR: Final = Environment.set_error
_ORIGINAL_SET_TIMED_OUT: Final = Environment.set_timed_out


def _stopped_stays_stopped(original: Callable[..., None]) -> Callable[..., None]:
    def guarded(self: Environment, *args: Any, **kwargs: Any) -> None:
        # A task finishing after StopExecution tries to move on, which fails because the
        # program is stopped; that failure must not turn ABORTED into FAILED.
        if isinstance(self._program_state, ProgramStopped):
            return
        original(self, *args, **kwargs)

    return guarded


# --------------------------------------------------------------------------------------
# The fixes

# --------------------------------------------------------------------------------------
# DynamoDB transactions: all or nothing, without copying tables

#: Every DynamoDB write of the process, so a transaction's checks and writes see no other
#: write in between (DynamoDB serializes conflicting writes; moto's threads do not).
_DYNAMODB_WRITES = threading.RLock()
_TRANSACTION_OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})


def _transaction_target(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> Any:
    if op_type == "Put":
        table = backend.get_table(op["TableName"])
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return op["Key"]


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems: every condition is checked first, under the write lock, and the
    writes are made only if all hold, so a cancelled transaction writes nothing (no stream
    record either) and no table is copied."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _DYNAMODB_WRITES:
        targets: set[tuple[str, str]] = set()
        errors: list[tuple[str | None, str | None, Any]] = []
        plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(item.items()))
            original: Any = None
            try:
                if op_type not in _TRANSACTION_OPERATIONS:
                    raise ValueError("Unsupported transaction operation")
                key = _transaction_target(self, op_type, op)
                target = (str(op["TableName"]), str(dict(sorted(key.items()))))
                if target in targets:
                    raise MultipleTransactionsException()
                targets.add(target)
                current = self.get_item(op["TableName"], key)
                condition = op.get("ConditionExpression")
                if condition is not None:
                    check = get_filter_expression(
                        condition,
                        op.get("ExpressionAttributeNames"),
                        op.get("ExpressionAttributeValues"),
                    )
                    if not check.expr(current):
                        wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                        if wants_old and current:
                            original = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original)
                plan.append((op_type, op, key))
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as error:
                errors.append(("ConditionalCheckFailed", str(error.message), original))
            except Exception as error:
                errors.append((type(error).__name__, str(error), original))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        for op_type, op, key in plan:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"])
            elif op_type == "Delete":
                self.delete_item(op["TableName"], key)
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )


def _serialized_write(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def write(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _DYNAMODB_WRITES:
            return original(self, *args, **kwargs)

    return write


FIXES: Final[list[Fix]] = [
    Fix(
        name="jsonpath-definite-and-empty",
        why="ResultSelector/OutputPath such as `$[0].v` after a Parallel state, and filters "
        "that match nothing, must behave as on AWS.",
        upstream_bug="extract_json wraps definite paths with an index in a list and raises "
        "instead of returning [] when a filter matches nothing.",
        patches=[_Rebind("extract_json", _ORIGINAL_EXTRACT_JSON, _extract_json)],
    ),
    Fix(
        name="unnamed-execution-uuid",
        why="StartExecution without a name must get a fresh UUID name, as on AWS.",
        upstream_bug="StepFunctionsParserBackend.start_execution names such executions "
        "'None', so a second one collides with the first.",
        patches=[_Attr(StepFunctionsParserBackend, "start_execution", _start_execution)],
    ),
    Fix(
        name="nested-executions",
        why="states:startExecution, .sync and .sync:2 take StateMachineArn/Input/Name and "
        "return PascalCase results (Output as a string for .sync, JSON for .sync:2).",
        upstream_bug="moto stubbed out the request/response normalisation, so the engine "
        "calls boto3 with StateMachineArn= and reads ExecutionArn from a camelCase reply.",
        patches=[
            _Attr(StateTaskServiceSfn, "_normalise_parameters", _sfn_normalise_parameters),
            _Attr(StateTaskServiceSfn, "_normalise_response", _sfn_normalise_response),
            # An in-process child finishes in milliseconds; polling every 0.5 s would add
            # up to half a second to every nested call.
            _Attr(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.02),
        ],
    ),
    Fix(
        name="aws-sdk-error-names",
        why="Retry/Catch written for AWS (S3.NoSuchKeyException, "
        "SageMakerRuntime.ModelErrorException, ...) must match aws-sdk task errors.",
        upstream_bug="_normalise_service_error_name only knows dynamodb and sfn and falls "
        "back to the lower-case integration name.",
        patches=[
            _Attr(
                StateTaskServiceAwsSdk,
                "_normalise_service_error_name",
                staticmethod(aws_sdk_error_prefix),
            )
        ],
    ),
    Fix(
        name="aws-sdk-calls",
        why="aws-sdk tasks must reach services whose boto3 name differs "
        "(sagemakerruntime), accept PascalCase parameters and return JSON (blob bodies "
        "as text, timestamps as ISO 8601) with PascalCase keys.",
        upstream_bug="The aws-sdk integration passes the integration name to boto3 as is "
        "and leaves StreamingBody/bytes/datetime values in the state output.",
        patches=[
            _Attr(StateTaskServiceAwsSdk, "_get_boto_service_name", _sdk_get_boto_service_name),
            _Attr(StateTaskServiceAwsSdk, "_normalise_parameters", _sdk_normalise_parameters),
            _Attr(StateTaskServiceAwsSdk, "_normalise_response", _sdk_normalise_response),
        ],
    ),
    Fix(
        name="send-task-failure-cause",
        why="A task failed through SendTaskFailure must carry its Cause into Catch and the "
        "execution's cause.",
        upstream_bug="StepFunctionResponse.send_task_failure does not pass `cause` on.",
        patches=[_Attr(StepFunctionResponse, "send_task_failure", _send_task_failure)],
    ),
    Fix(
        name="heartbeat-timeout-error",
        why="A missed heartbeat is States.HeartbeatTimeout on AWS (a States.Timeout "
        "Retry/Catch still matches it).",
        upstream_bug="Task states report HeartbeatTimeoutError as States.Timeout.",
        patches=[
            _Attr(StateTask, "_from_error", _reporting_heartbeat_timeouts(StateTask._from_error)),
            _Attr(
                StateTaskActivity,
                "_from_error",
                _reporting_heartbeat_timeouts(StateTaskActivity._from_error),
            ),
        ],
    ),
    Fix(
        name="branch-states-errors",
        why="A Parallel branch or Map iteration failing with States.TaskFailed, "
        "States.Timeout, ... must fail its state with that error, which Retry/Catch handle.",
        upstream_bug="BranchesDecl and IterationWorker wrap the error in CustomErrorName, "
        "which raises ValueError for States.* names, so the state fails with States.Runtime.",
        patches=[
            _Attr(branches_decl, "CustomErrorName", _propagated_error_name),
            _Attr(iteration_worker, "CustomErrorName", _propagated_error_name),
            # A Fail state re-raising a caught States.* error (ErrorPath) hits the same check.
            _Attr(state_fail, "CustomErrorName", _propagated_error_name),
        ],
    ),
    Fix(
        name="states-all-excludes-runtime",
        why="On AWS a Retry/Catch on States.ALL does not handle States.Runtime or "
        "States.DataLimitExceeded, so such bugs fail the execution instead of being caught.",
        upstream_bug="ErrorEqualsDecl matches States.ALL against every error.",
        patches=[_Attr(ErrorEqualsDecl, "_eval_body", _error_equals)],
    ),
    Fix(
        name="stop-wins",
        why="An execution stopped by StopExecution ends ABORTED even if a task was running.",
        upstream_bug="A task finishing after the stop cannot set its next state, and the "
        "resulting error overwrites the stopped state, so the execution ends FAILED.",
        patches=[
            _Attr(Environment, "set_error", _stopped_stays_stopped(_ORIGINAL_SET_ERROR)),
            _Attr(Environment, "set_timed_out", _stopped_stays_stopped(_ORIGINAL_SET_TIMED_OUT)),
        ],
    ),
    Fix(
        name="start-sync-execution",
        why="StartSyncExecution runs EXPRESS state machines synchronously, as on AWS.",
        upstream_bug="moto has no StartSyncExecution handler and does not route botocore's "
        "sync-states. host, though the engine has SyncExecution.",
        patches=[
            _Append(sfn_urls.url_bases, _SYNC_URL_BASE),
            _Append(
                backend_index.backend_url_patterns, ("stepfunctions", re.compile(_SYNC_URL_BASE))
            ),
            _Attr(
                StepFunctionsParserBackend, "start_sync_execution", _start_sync_execution_backend
            ),
            _Attr(StepFunctionResponse, "start_sync_execution", _start_sync_execution_response),
        ],
    ),
    Fix(
        name="dynamodb-transactions",
        why="TransactWriteItems must be all or nothing while other threads write: the "
        "gateway creates every job (and its idempotency record) in one transaction.",
        upstream_bug="transact_write_items deep-copies every table it touches before "
        "writing (O(items), and 'dictionary changed size during iteration' when another "
        "thread writes meanwhile), applies items one by one (a cancelled transaction still "
        "sends stream records) and rolls back by putting the copy back, losing writes other "
        "threads made in between.",
        patches=[
            _Attr(DynamoDBBackend, "transact_write_items", _transact_write_items),
            *(
                _Attr(DynamoDBBackend, name, _serialized_write(getattr(DynamoDBBackend, name)))
                for name in ("put_item", "update_item", "delete_item")
            ),
        ],
    ),
    Fix(
        name="boto-client-cache",
        why="Building a boto3 client per task costs milliseconds per state.",
        upstream_bug="boto_client_for builds a new boto3 client on every call.",
        patches=[_Rebind("boto_client_for", _ORIGINAL_BOTO_CLIENT_FOR, _cached_boto_client_for)],
    ),
    Fix(
        name="parsed-program-cache",
        why="Parsing the ASL costs milliseconds per execution.",
        upstream_bug="ExecutionWorker parses the definition again for every execution.",
        patches=[
            _Attr(ExecutionWorker, "_get_evaluation_entrypoint", _cached_evaluation_entrypoint)
        ],
    ),
    Fix(
        name="finished-threads-released",
        why="A long-lived runtime must not keep every finished worker thread.",
        upstream_bug="Every engine thread is appended to TMP_THREADS and never removed.",
        patches=[_Rebind("TMP_THREADS", _ORIGINAL_TMP_THREADS, _LIVE_THREADS)],
    ),
    Fix(
        name="time-scale",
        why="Tests must not sleep through real Wait states and Retry back-off.",
        upstream_bug="Wait states and Retry intervals always take real time.",
        patches=[
            _Attr(WaitFunction, "_eval_body", _scaled_wait),
            _Attr(retrier_decl, "time", _SCALED_TIME),
        ],
    ),
]

_fixes_lock = threading.RLock()


def apply_engine_fixes() -> None:
    """Install every fix (idempotent)."""
    with _fixes_lock:
        for fix in FIXES:
            fix.apply()


@contextmanager
def engine_fixes_reverted(*names: str) -> Iterator[None]:
    """Take the named fixes (default: all) out for the block, then put them back."""
    by_name = {fix.name: fix for fix in FIXES}
    unknown = set(names) - by_name.keys()
    if unknown:
        raise KeyError(f"unknown engine fixes: {sorted(unknown)}")
    with _fixes_lock:
        chosen = [by_name[name] for name in names] if names else list(FIXES)
        reverted = [fix for fix in reversed(chosen) if fix.applied]
        for fix in reverted:
            fix.revert()
    try:
        yield
    finally:
        with _fixes_lock:
            for fix in reversed(reverted):
                fix.apply()
