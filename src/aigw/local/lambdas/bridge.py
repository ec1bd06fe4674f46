"""Run the template's Lambda handlers in this process, the way Lambda would run them.

moto runs Lambda code in Docker, which is not available here. Every path that invokes a
function inside moto ends in ``LambdaFunction.invoke`` (the Lambda API, Step Functions tasks,
SNS subscriptions, DynamoDB streams, EventBridge targets), so that one method is replaced to
dispatch to :class:`LambdaBridge`, which imports the handler from ``CodeUri`` and calls it.

What a handler sees, as on Lambda:
- its own environment (template ``Globals`` merged with its ``Environment``, plus the
  variables Lambda sets) at import and at every invocation, even while another function
  with other values runs on another thread: ``os.environ`` is replaced by a mapping that
  consults the current invocation's overlay first. When UpdateFunctionConfiguration
  changes it (:meth:`LambdaBridge.set_environment`, called from moto's update), the next
  invocation runs in a new execution environment: the handler is imported again, under the
  new variables, and a worker function's workers are replaced;
- its code directory and its layers on the import path; the handler module is loaded under
  a name of its own, so every function may have an ``app.py``;
- a context object with function name, ARN, request id and remaining time from ``Timeout``.

A function whose ``Runtime`` names a newer Python than this process's, and whose code needs
it, runs instead in worker processes of that interpreter (:mod:`aigw.local.lambdas.worker`),
its AWS calls sent to the runtime's AWS endpoint.

An exception becomes a ``FunctionError`` whose ``errorType`` is the exception's class name,
so ``Retry``/``Catch`` on that name, ``States.TaskFailed`` and ``States.ALL`` behave as on AWS.

Asynchronous invocations (``InvocationType=Event``, SNS, EventBridge, streams) go through
:class:`AsyncInvoker`: an ordered queue and worker thread per source, so records from one
stream arrive in order and a slow subscriber never blocks the writer. Deliveries that name
an ordering key (SNS messages about one job) are spread over :data:`ORDERED_SHARDS` queues
of their source by that key: one key's deliveries keep their order, other keys' do not wait
behind them (SNS itself invokes a subscribed function concurrently, in no order). What still fails
after the retries goes to the on-failure handler its source configured (a function's
``EventInvokeConfig``, a stream mapping's ``DestinationConfig``) and, for an asynchronous
invocation, to the function's dead-letter queue (``DeadLetterConfig``) too; a stream mapping
with ``BisectBatchOnFunctionError`` halves a failing batch first, and one with
``ReportBatchItemFailures`` retries a batch from the first record its function reports
failed (:func:`stream_retry_from`).
"""

from __future__ import annotations

import contextvars
import importlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from aigw.local.engine.service_time import outside_service_time
from aigw.local.lambdas import sandbox_state
from aigw.local.lambdas.worker import InitError, WorkerError, WorkerPool

LOG = logging.getLogger("aigw.local.lambda")

#: How often Lambda tries an asynchronous invocation that fails (1 try + 2 retries).
ASYNC_ATTEMPTS = 3
#: Queues (and worker threads) a source's keyed deliveries are spread over.
ORDERED_SHARDS = 4
#: Execution environments (worker processes) a newer-Python function has at most.
WORKERS_PER_FUNCTION = 4

#: The most a synchronous invocation's request payload may have: Lambda refuses more
#: ("Request must be smaller than 6291456 bytes for the InvokeFunction operation", 413)
#: before the function runs
#: (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
SYNC_REQUEST_PAYLOAD_BYTES = 6_291_456

#: Called with the event, the last failed result and how many times it was tried, once an
#: asynchronous invocation or a stream batch has used up its retries.
FailureHandler = Callable[[Any, "InvocationResult", int], None]
#: Sends an asynchronous event that used up its retries to a dead-letter queue or topic:
#: called with the target's ARN, the event and the last failed result.
DeadLetterSender = Callable[[str, Any, "InvocationResult"], None]


@dataclass(frozen=True)
class AsyncConfig:
    """A function's ``EventInvokeConfig``: retries and where a failed event goes."""

    maximum_retry_attempts: int = ASYNC_ATTEMPTS - 1
    on_failure: FailureHandler | None = None


# --------------------------------------------------------------------------- environment


class _FunctionEnviron(MutableMapping[str, str]):
    """``os.environ`` that shows the running function's variables over the process's."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base
        self.overlay: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
            "aigw_function_environ", default=None
        )

    def _layer(self) -> dict[str, str] | None:
        return self.overlay.get()

    def __getitem__(self, key: str) -> str:
        layer = self._layer()
        if layer is not None and key in layer:
            return layer[key]
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        layer = self._layer()
        if layer is not None:
            layer[key] = value
        else:
            self.base[key] = value

    def __delitem__(self, key: str) -> None:
        layer = self._layer()
        if layer is not None and key in layer:
            del layer[key]
        else:
            del self.base[key]

    def __iter__(self) -> Iterator[str]:
        layer = self._layer()
        if layer is None:
            yield from self.base
            return
        yield from layer
        yield from (key for key in self.base if key not in layer)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        return f"environ({dict(self)!r})"


def install_function_environ() -> _FunctionEnviron:
    """Put the per-invocation environment in place (idempotent; inert outside handlers).

    botocore sessions hold on to the ``os.environ`` object they saw when created, so call
    this before sessions whose clients handlers will use are made.
    """
    if not isinstance(os.environ, _FunctionEnviron):
        # Replacing the object (not its contents) is the point: the base stays underneath.
        os.environ = _FunctionEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003
    return os.environ  # type: ignore[return-value]


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    environ = install_function_environ()
    token = environ.overlay.set(dict(variables))
    try:
        yield
    finally:
        environ.overlay.reset(token)


# --------------------------------------------------------------------------- functions


class FunctionConflictError(Exception):
    """Two functions put different modules with the same name on the shared import path."""


class UnknownFunctionError(LookupError):
    pass


class FunctionThrottledError(Exception):
    """The function is at its reserved concurrency (0: it never runs): Lambda's 429
    ``TooManyRequestsException`` (``ReservedFunctionConcurrentInvocationLimitExceeded``)."""


class RequestTooLargeError(Exception):
    """The invocation's payload is over Lambda's 6 MB for a synchronous request: Lambda
    answers 413 ``RequestEntityTooLargeException`` and the function never runs (botocore
    models the shape as ``RequestTooLargeException``; the code Lambda sends is this one)."""

    code = "RequestEntityTooLargeException"
    status = 413

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(
            f"Request must be smaller than {SYNC_REQUEST_PAYLOAD_BYTES} bytes for the "
            "InvokeFunction operation"
        )


def check_request_size(size: int) -> None:
    """RequestTooLargeError if a synchronous request of ``size`` bytes is over the limit."""
    if size > SYNC_REQUEST_PAYLOAD_BYTES:
        raise RequestTooLargeError(size)


@dataclass
class FunctionSpec:
    """What the runtime needs to run one ``AWS::Lambda::Function``."""

    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str] = field(default_factory=dict)
    timeout: int = 3
    memory_size: int = 128
    layer_dirs: list[Path] = field(default_factory=list)
    runtime: str = "python3.12"
    region: str = "us-east-1"
    #: ReservedConcurrentExecutions: at most this many invocations at once (None: no cap).
    reserved_concurrency: int | None = None
    #: The newer Python that runs the function in worker processes (None: this process).
    interpreter: Path | None = None
    #: DeadLetterConfig's TargetArn: an SQS queue or SNS topic for failed async events.
    dead_letter_target: str | None = None


@dataclass
class LambdaContext:
    """The context object Lambda passes to a Python handler."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class InvocationResult:
    payload: bytes
    function_error: str | None = None
    request_id: str | None = None

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


class _Function:
    def __init__(self, spec: FunctionSpec, runtime_environment: dict[str, str]) -> None:
        self.spec = spec
        self._runtime_environment = runtime_environment
        module_name, _, self.handler_name = spec.handler.rpartition(".")
        if not module_name or not self.handler_name:
            raise ValueError(f"{spec.name}: Handler {spec.handler!r} is not 'module.function'")
        self.module_name = module_name
        self._handler: Callable[[Any, LambdaContext], Any] | None = None
        self._import_lock = threading.Lock()
        self._running = 0
        self._running_lock = threading.Lock()
        self.workers = (
            WorkerPool(
                name=spec.name,
                interpreter=spec.interpreter,
                code_dir=spec.code_dir,
                handler=spec.handler,
                layer_dirs=spec.layer_dirs,
                size=min(spec.reserved_concurrency or WORKERS_PER_FUNCTION, WORKERS_PER_FUNCTION),
            )
            if spec.interpreter is not None
            else None
        )

    @contextmanager
    def slot(self) -> Iterator[None]:
        """One of the function's concurrent executions, or FunctionThrottledError."""
        cap = self.spec.reserved_concurrency
        with self._running_lock:
            if cap is not None and self._running >= cap:
                raise FunctionThrottledError(f"Rate Exceeded. ({self.spec.name}: {cap} reserved)")
            self._running += 1
        try:
            yield
        finally:
            with self._running_lock:
                self._running -= 1

    def renew(self) -> None:
        """Start the next invocation in a new execution environment, as Lambda does after
        a configuration change: the handler module is imported again (in-process, the
        modules it imports are the process's and stay), a worker function's workers are
        replaced once their invocations end."""
        with self._import_lock:
            self._handler = None
        if self.workers is not None:
            self.workers.renew()

    def environment(self) -> dict[str, str]:
        spec = self.spec
        variables = {
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            # No X-Ray daemon or trace header locally; the template may still override it.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        variables.update(self._runtime_environment)
        variables.update(spec.environment)
        return variables

    def handler(self) -> Callable[[Any, LambdaContext], Any]:
        """Import the handler on first use (a cold start), under the function's environment.

        A task waiting for a cold start does not count it against its TimeoutSeconds: with
        every function in one interpreter, a burst's first calls queue behind one import."""
        if self._handler is None:
            with outside_service_time(), self._import_lock:
                if self._handler is None:
                    module = self._import()
                    self._handler = getattr(module, self.handler_name)
        return self._handler

    def _import(self) -> ModuleType:
        if "." in self.module_name:
            # A handler inside a package imports as the package does (shared, like siblings).
            return importlib.import_module(self.module_name)
        path = self.spec.code_dir / f"{self.module_name}.py"
        unique = f"_aigw_function_{self.spec.name.replace('-', '_')}_{self.module_name}"
        spec = importlib.util.spec_from_file_location(unique, path)
        if spec is None or spec.loader is None or not path.is_file():
            raise ModuleNotFoundError(f"No module named '{self.module_name}' in {path.parent}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[unique]
            raise
        return module


def _error_payload(error_type: str, message: str, request_id: str, stack: list[str]) -> bytes:
    body = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack,
    }
    return json.dumps(body).encode()


# --------------------------------------------------------------------------- the bridge


class LambdaBridge:
    """The functions of one deployment, invoked in-process."""

    def __init__(self) -> None:
        sandbox_state.install()
        # Variables every function sees under its template's own (which win), as the Lambda
        # service adds AWS_REGION: e.g. AWS_ENDPOINT_URL_S3 when S3 is served to other
        # processes. Read at each invocation, so it may change after deployment.
        self.environment: dict[str, str] = {}
        self._functions: dict[str, _Function] = {}
        self._unavailable: dict[str, str] = {}
        self._module_owners: dict[str, Path] = {}
        self._added_paths: list[str] = []
        self._async_configs: dict[str, AsyncConfig] = {}
        self.async_invoker = AsyncInvoker(self)
        #: The runtime's AWS endpoint for worker processes (started on first use), if any.
        self.aws_endpoint: Callable[[], str] | None = None
        #: Delivers to a function's dead-letter queue (set by the deployer).
        self.send_dead_letter: DeadLetterSender | None = None
        self._endpoint_lock = threading.Lock()  # two first invocations start one endpoint

    def register(self, spec: FunctionSpec) -> None:
        if not spec.code_dir.is_dir():
            raise FileNotFoundError(f"{spec.name}: CodeUri {spec.code_dir} is not a directory")
        function = _Function(spec, self.environment)
        if function.workers is None:  # a worker process has an import path of its own
            self._claim_import_path(spec, function.module_name)
        self._functions[spec.name] = function
        self._functions[spec.arn] = function

    def _claim_import_path(self, spec: FunctionSpec, handler_module: str) -> None:
        # One process means one import path: a sibling module must mean the same file for
        # every function that can see it, or one function would silently run another's code.
        for directory in [spec.code_dir, *spec.layer_dirs]:
            for name in _top_level_modules(directory):
                if directory == spec.code_dir and name == handler_module:
                    continue
                owner = self._module_owners.setdefault(name, directory)
                if owner.resolve() != directory.resolve():
                    raise FunctionConflictError(
                        f"{spec.name}: module {name!r} exists both in {owner} and in "
                        f"{directory}; in one process only one can be imported. "
                        "Rename one of them or move it into a layer."
                    )
            if str(directory) not in sys.path:
                sys.path.append(str(directory))
                self._added_paths.append(str(directory))

    def register_unavailable(self, name: str, arn: str, reason: str) -> None:
        """A function of the template that cannot run here: every invocation fails with
        ``Runtime.NotRunLocally`` and the reason, instead of an unknown function."""
        self._unavailable[name] = self._unavailable[arn] = reason

    def unavailable_reason(self, name_or_arn: str) -> str | None:
        """Why a function of the template is not run here (None: it is, or is unknown)."""
        reason = self._unavailable.get(name_or_arn.split(":$LATEST")[0])
        if reason is None and name_or_arn.startswith("arn:"):
            parts = name_or_arn.split(":")
            reason = self._unavailable.get(parts[6]) if len(parts) >= 7 else None
        return reason

    def names(self) -> list[str]:
        return sorted({function.spec.name for function in self._functions.values()})

    def spec(self, name_or_arn: str) -> FunctionSpec:
        return self._get(name_or_arn).spec

    def _get(self, name_or_arn: str) -> _Function:
        function = self._functions.get(name_or_arn)
        if function is None and name_or_arn.startswith("arn:"):
            # A qualified ARN (…:function:name:$LATEST) names the same function.
            parts = name_or_arn.split(":")
            function = self._functions.get(parts[6]) if len(parts) >= 7 else None
        if function is None:
            raise UnknownFunctionError(name_or_arn)
        return function

    def invoke(self, name_or_arn: str, event: Any) -> InvocationResult:
        """Invoke synchronously (RequestResponse) and return what Lambda would return;
        FunctionThrottledError when the function is at its reserved concurrency,
        RequestTooLargeError when the event, as compact JSON, is over Lambda's 6 MB."""
        check_request_size(_json_size(event))
        reason = self._unavailable.get(name_or_arn.split(":$LATEST")[0])
        if reason is not None:
            message = f"{name_or_arn} is not run locally: {reason}"
            return InvocationResult(
                _error_payload("Runtime.NotRunLocally", message, str(uuid.uuid4()), []),
                "Unhandled",
            )
        function = self._get(name_or_arn)
        # Invoked through a version or an alias (…:function:name:Live), the context's ARN is
        # the one it was invoked by, as on Lambda.
        qualified = name_or_arn.startswith("arn:") and name_or_arn.count(":") >= 7
        with function.slot():
            return self._invoke(function, event, name_or_arn if qualified else None)

    def _invoke(
        self, function: _Function, event: Any, invoked_arn: str | None = None
    ) -> InvocationResult:
        spec = function.spec
        request_id = str(uuid.uuid4())
        context = LambdaContext(
            function_name=spec.name,
            invoked_function_arn=invoked_arn or spec.arn,
            memory_limit_in_mb=spec.memory_size,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{spec.name}",
            log_stream_name=time.strftime("%Y/%m/%d/[$LATEST]") + request_id.replace("-", ""),
            deadline=time.monotonic() + spec.timeout,
        )
        if function.workers is not None:
            return self._invoke_in_worker(function, event, context)
        started = time.monotonic()
        with _environment(function.environment()):
            try:
                handler = function.handler()
            except Exception as error:  # reported the way Lambda reports a failed init
                LOG.error("%s: handler %s failed to import: %s", spec.name, spec.handler, error)
                error_type = (
                    "Runtime.ImportModuleError"
                    if isinstance(error, ImportError)
                    else "Runtime.HandlerNotFound"
                    if isinstance(error, AttributeError)
                    else type(error).__name__
                )
                message = f"Unable to import module '{function.module_name}': {error}"
                return InvocationResult(
                    _error_payload(error_type, message, request_id, []), "Unhandled", request_id
                )
            try:
                with sandbox_state.invocation_scope():
                    result = handler(event, context)
            except Exception as error:
                # The handler's frames only, as Lambda reports them (not the bridge's).
                stack = traceback.format_tb(error.__traceback__.tb_next)
                return InvocationResult(
                    _error_payload(type(error).__name__, str(error), request_id, stack),
                    "Unhandled",
                    request_id,
                )
        elapsed = time.monotonic() - started
        if elapsed > spec.timeout:
            # Not enforced (a thread cannot be killed), but a timeout on AWS must not pass
            # unnoticed here.
            LOG.warning(
                "%s ran %.1f s, longer than its Timeout of %s s: it would time out on AWS",
                spec.name,
                elapsed,
                spec.timeout,
            )
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as error:
            message = f"Unable to marshal response: {error}"
            return InvocationResult(
                _error_payload("Runtime.MarshalError", message, request_id, []),
                "Unhandled",
                request_id,
            )
        return InvocationResult(payload, request_id=request_id)

    def _invoke_in_worker(
        self, function: _Function, event: Any, context: LambdaContext
    ) -> InvocationResult:
        spec, request_id = function.spec, context.aws_request_id
        assert function.workers is not None
        environment = function.environment()
        if self.aws_endpoint is not None:
            with self._endpoint_lock:
                endpoint = self.aws_endpoint()
            # Its AWS calls reach this runtime's AWS, with the dummy credentials moto takes
            # (Lambda would give the role's).
            environment = {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_ENDPOINT_URL": endpoint,
                **environment,
            }
        values = {
            "function_name": spec.name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": spec.memory_size,
            "aws_request_id": request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        }
        try:
            answer = function.workers.invoke(event, values, environment, spec.timeout)
        except InitError as error:
            error_type = {
                "import": "Runtime.ImportModuleError",
                "handler": "Runtime.HandlerNotFound",
            }.get(error.kind, error.type)
            message = f"Unable to import module '{function.module_name}': {error.message}"
            return InvocationResult(
                _error_payload(error_type, message, request_id, []), "Unhandled", request_id
            )
        except WorkerError as error:
            message = (
                f"Task timed out after {spec.timeout:.2f} seconds"
                if error.error_type == "Sandbox.Timedout"
                else error.message
            )
            return InvocationResult(
                _error_payload(error.error_type, message, request_id, []), "Unhandled", request_id
            )
        if answer.error is not None:
            return InvocationResult(
                _error_payload(
                    answer.error["errorType"],
                    answer.error["errorMessage"],
                    request_id,
                    answer.error.get("stackTrace", []),
                ),
                "Unhandled",
                request_id,
            )
        return InvocationResult((answer.result or "null").encode(), request_id=request_id)

    def invoke_async(
        self,
        name_or_arn: str,
        event: Any,
        *,
        source: str = "invoke",
        ordering_key: str | None = None,
    ) -> None:
        """Queue an asynchronous invocation (``InvocationType=Event``) with Lambda's retries
        and the function's ``EventInvokeConfig``, if it has one. Invocations with the same
        ``ordering_key`` run in order; without one, in the source's order."""
        function = self._get(name_or_arn)
        config = self._async_configs.get(function.spec.arn, AsyncConfig())
        self.async_invoker.submit(
            name_or_arn,
            event,
            source=source,
            attempts=config.maximum_retry_attempts + 1,
            on_failure=self._async_failure(function.spec, config.on_failure),
            ordering_key=ordering_key,
        )

    def _async_failure(
        self, spec: FunctionSpec, on_failure: FailureHandler | None
    ) -> FailureHandler | None:
        """What becomes of an asynchronous event that used up its retries: Lambda sends it
        to the function's dead-letter queue and to its on-failure destination, each that is
        configured (the queue as the function's configuration is when the event fails)."""
        if self.send_dead_letter is None:
            return on_failure
        send_dead_letter = self.send_dead_letter

        def settle(event: Any, result: InvocationResult, attempts: int) -> None:
            target = spec.dead_letter_target
            if target is not None:
                try:
                    send_dead_letter(target, event, result)
                except Exception:
                    # As on AWS (DeadLetterErrors): the event is lost to the queue, loudly.
                    LOG.exception("%s: the failed event could not be sent to %s", spec.arn, target)
            if on_failure is not None:
                on_failure(event, result, attempts)
            elif target is None:
                LOG.error("%s: event dropped after %d attempts", spec.arn, attempts)

        return settle

    def set_environment(self, name_or_arn: str, variables: dict[str, str]) -> None:
        """The function's ``Environment`` changed (UpdateFunctionConfiguration): its next
        invocation sees the new variables, in a new execution environment."""
        function = self._get(name_or_arn)
        variables = dict(variables)
        if variables == function.spec.environment:
            return
        # Replaced, not changed in place: a running invocation keeps the variables it had.
        function.spec.environment = variables
        function.renew()

    def set_dead_letter_target(self, name_or_arn: str, target: str | None) -> None:
        """The function's ``DeadLetterConfig`` changed (UpdateFunctionConfiguration)."""
        self._get(name_or_arn).spec.dead_letter_target = target or None

    def configure_async(self, name_or_arn: str, config: AsyncConfig) -> None:
        """Apply an ``EventInvokeConfig`` to the function's asynchronous invocations."""
        self._async_configs[self._get(name_or_arn).spec.arn] = config

    def shutdown(self, timeout: float = 5.0) -> None:
        self.async_invoker.shutdown(timeout)
        for function in set(self._functions.values()):
            if function.workers is not None:
                function.workers.close()
        # Leave the process as we found it: the next deployment may bring other modules
        # of the same names (a runtime per test module is common).
        for path in self._added_paths:
            if path in sys.path:
                sys.path.remove(path)
        for name in [n for n, owner in self._module_owners.items() if n in sys.modules]:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if module_file.startswith(str(self._module_owners[name])):
                del sys.modules[name]
        self._added_paths.clear()


def _json_size(event: Any) -> int:
    """The event's size as the smallest JSON an AWS caller sends it in (compact UTF-8)."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode(errors="surrogatepass"))  # a lone surrogate is sent escaped


def _top_level_modules(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    names = []
    for entry in directory.iterdir():
        # A code directory that is itself a package (sam init puts an __init__.py beside
        # app.py) is still imported from its root on Lambda: its __init__ is no module.
        if entry.name == "__init__.py":
            continue
        if entry.suffix == ".py" and entry.is_file():
            names.append(entry.stem)
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            names.append(entry.name)
    return names


# --------------------------------------------------------------------------- async delivery


class InvalidBatchResponseError(ValueError):
    """A function's batch item failures Lambda cannot act on: the whole batch failed."""


def _sequence_number(record: Any) -> str | None:
    """A stream record's sequence number (a DynamoDB or a Kinesis record's)."""
    if not isinstance(record, dict):
        return None
    for source, key in (("dynamodb", "SequenceNumber"), ("kinesis", "sequenceNumber")):
        number = (record.get(source) or {}).get(key)
        if number is not None:
            return str(number)
    return None


def stream_retry_from(records: list[Any], answer: Any) -> int | None:
    """Where Lambda resumes a stream batch whose function answered ``answer`` under
    ``ReportBatchItemFailures``: None if the batch succeeded, else the index of the record
    to retry from (the reported one with the lowest sequence number; the records before it
    are checkpointed). InvalidBatchResponseError when the answer names no record of the
    batch, or is not such an answer: Lambda takes the whole batch as failed.

    As the Lambda Developer Guide ("Configuring partial batch response with DynamoDB and
    Lambda", and its Kinesis equivalent) has it: a null answer, an empty one, and a null or
    empty ``batchItemFailures`` are a success; an ``itemIdentifier`` that is null, empty or
    under another key name fails the batch."""
    if answer is None or answer == {}:
        return None
    if not isinstance(answer, dict):
        raise InvalidBatchResponseError(f"the answer is not a batch response: {answer!r:.100}")
    failures = answer.get("batchItemFailures")
    if failures is None or failures == []:
        return None
    if not isinstance(failures, list):
        raise InvalidBatchResponseError(f"batchItemFailures is not a list: {failures!r:.100}")
    positions = {_sequence_number(record): index for index, record in enumerate(records)}
    first = len(records)
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            raise InvalidBatchResponseError(
                f"itemIdentifier {identifier!r:.100} is no sequence number of the batch"
            )
        first = min(first, positions[identifier])
    return first


@dataclass
class _Delivery:
    target: str
    events: list[Any]
    batch_size: int | None
    attempts: int
    bisect: bool = False
    on_failure: FailureHandler | None = None
    report_item_failures: bool = False


class _SourceQueue:
    def __init__(self, lock: threading.Lock) -> None:
        self.items: deque[_Delivery] = deque()
        self.worker: threading.Thread | None = None
        # Its own condition (on the invoker's lock): a delivery wakes its queue's worker
        # only, not every worker of the runtime.
        self.ready = threading.Condition(lock)


class AsyncInvoker:
    """Ordered, retried asynchronous invocations: one queue and worker per source, or per
    shard of a source's ordering keys."""

    def __init__(self, bridge: LambdaBridge) -> None:
        self._bridge = bridge
        self._queues: dict[str, _SourceQueue] = {}
        self._lock = threading.Lock()
        #: Signalled when deliveries finish (for drain).
        self._changed = threading.Condition(self._lock)
        self._pending = 0
        self._closed = False
        self._held = 0
        self.failures: list[tuple[str, Any, bytes]] = []

    def submit(
        self,
        target: str,
        event: Any,
        *,
        source: str,
        batch_size: int | None = None,
        attempts: int = ASYNC_ATTEMPTS,
        bisect: bool = False,
        on_failure: FailureHandler | None = None,
        ordering_key: str | None = None,
        report_item_failures: bool = False,
    ) -> None:
        """Queue ``event`` for ``target``. With ``batch_size``, events waiting on the same
        source are sent together as ``{"Records": [...]}``, as a stream poller would,
        ``bisect`` halves a batch that fails, and with ``report_item_failures`` a batch is
        retried from the first record the function reports failed. ``on_failure`` gets
        what still fails after ``attempts`` tries. Events with an ``ordering_key`` are
        ordered only among those with the same key."""
        key = f"{source}->{target}"
        if ordering_key is not None:
            key += f" #{zlib.crc32(ordering_key.encode()) % ORDERED_SHARDS}"
        with self._lock:
            if self._closed:
                # An event raised while the runtime stops (a last status change, a timer)
                # has nowhere to go.
                LOG.info("runtime stopped: %s for %s dropped", source, target)
                return
            source_queue = self._queues.get(key)
            if source_queue is None:
                source_queue = self._queues[key] = _SourceQueue(self._lock)
                source_queue.worker = threading.Thread(
                    target=self._work, args=(source_queue,), name=f"aigw-async {key}", daemon=True
                )
                source_queue.worker.start()
            source_queue.items.append(
                _Delivery(
                    target,
                    [event],
                    batch_size,
                    attempts,
                    bisect,
                    on_failure,
                    report_item_failures,
                )
            )
            self._pending += 1
            source_queue.ready.notify()

    def _next(self, source_queue: _SourceQueue) -> tuple[_Delivery, int] | None:
        with self._lock:
            while not source_queue.items or (self._held and not self._closed):
                if self._closed:
                    return None
                source_queue.ready.wait()
            delivery = source_queue.items.popleft()
            taken = 1
            if delivery.batch_size is not None:
                while source_queue.items and len(delivery.events) < delivery.batch_size:
                    delivery.events.extend(source_queue.items.popleft().events)
                    taken += 1
            return delivery, taken

    def _work(self, source_queue: _SourceQueue) -> None:
        while (taken_delivery := self._next(source_queue)) is not None:
            delivery, taken = taken_delivery
            try:
                self._deliver(delivery)
            finally:
                with self._lock:
                    self._pending -= taken
                    self._changed.notify_all()

    def _deliver(self, delivery: _Delivery) -> None:
        if delivery.batch_size is None:
            self._try(delivery, delivery.events[0], delivery.attempts)
        else:
            self._deliver_records(delivery, delivery.events)

    def _deliver_records(self, delivery: _Delivery, records: list[Any]) -> None:
        """Deliver a stream batch as Lambda's poller does. A batch that fails is tried again
        up to the mapping's MaximumRetryAttempts and then given up on (to its on-failure
        destination). With BisectBatchOnFunctionError a failing batch is halved instead,
        and each half delivered alike: halving uses up no retry (AWS documents this). With
        ReportBatchItemFailures a partial failure checkpoints the records before the first
        reported one and retries from it (a retry; with bisecting on, the batch is split
        there instead, using none)."""
        tries = 0
        while True:
            result = self._invoke_once(delivery, {"Records": records})
            if result is None:
                return  # never ran (unknown function, refused request): dropped
            tries += 1
            left = self._left_to_do(delivery, records, result)
            if left is None:
                return
            retry_from, whole_batch_failed = left
            if whole_batch_failed and delivery.bisect and len(records) > 1:
                middle = (len(records) + 1) // 2
                self._deliver_records(delivery, records[:middle])
                self._deliver_records(delivery, records[middle:])
                return
            if retry_from > 0:
                records = records[retry_from:]  # the records before are checkpointed
                if delivery.bisect:
                    tries = 0
                    continue
            if tries >= delivery.attempts:
                self._settle(delivery, {"Records": records}, result, tries)
                return

    def _left_to_do(
        self, delivery: _Delivery, records: list[Any], result: InvocationResult
    ) -> tuple[int, bool] | None:
        """What an invocation of a stream batch left to do: None if nothing, else the index
        of the record to retry from and whether the whole batch failed (an error, or an
        answer Lambda cannot act on) rather than some of its records."""
        if result.function_error is None and not delivery.report_item_failures:
            return None
        if result.function_error is None:
            try:
                retry_from = stream_retry_from(records, result.json())
            except InvalidBatchResponseError as error:
                problem = str(error)
            else:
                if retry_from is not None:
                    LOG.warning(
                        "%s reported batch item failures: the last %d of %d records are retried",
                        delivery.target,
                        len(records) - retry_from,
                        len(records),
                    )
                    return retry_from, False
                return None
        else:
            problem = result.payload[:500].decode(errors="replace")
        LOG.warning("%s failed a stream batch of %d: %s", delivery.target, len(records), problem)
        return 0, True

    def _invoke_once(self, delivery: _Delivery, event: Any) -> InvocationResult | None:
        """One invocation; None if it could not be made and never will be."""
        try:
            return self._bridge.invoke(delivery.target, event)
        except UnknownFunctionError:
            LOG.error("asynchronous invocation of unknown function %s", delivery.target)
        except RequestTooLargeError as error:
            LOG.error("asynchronous invocation of %s refused: %s", delivery.target, error)
        except FunctionThrottledError as error:
            # Lambda keeps a throttled event and tries again (for up to 6 hours).
            return InvocationResult(
                _error_payload("TooManyRequestsException", str(error), "", []), "Throttled"
            )
        return None

    def _try(self, delivery: _Delivery, event: Any, attempts: int) -> None:
        """Invoke up to ``attempts`` times; a failure after the last is final: recorded
        and handed to the delivery's on-failure handler."""
        result = InvocationResult(b"")
        for attempt in range(1, attempts + 1):
            answer = self._invoke_once(delivery, event)
            if answer is None:
                return
            result = answer
            if result.function_error is None:
                return
            LOG.warning(
                "%s failed asynchronous attempt %d of %d: %s",
                delivery.target,
                attempt,
                attempts,
                result.payload[:500].decode(errors="replace"),
            )
        self._settle(delivery, event, result, attempts)

    def _settle(
        self, delivery: _Delivery, event: Any, result: InvocationResult, attempts: int
    ) -> None:
        self.failures.append((delivery.target, event, result.payload))
        if delivery.on_failure is None:
            LOG.error("%s: event dropped after %d attempts", delivery.target, attempts)
            return
        try:
            delivery.on_failure(event, result, attempts)
        except Exception:
            # As on AWS (DestinationDeliveryFailures): the event is lost, loudly.
            LOG.exception("%s: the failed event could not be sent on", delivery.target)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Queue deliveries without running them until the block ends: records written
        inside reach a stream consumer together, as one batch (up to its batch size)."""
        with self._lock:
            self._held += 1
        try:
            yield
        finally:
            with self._lock:
                self._held -= 1
                self._wake_workers()

    def _wake_workers(self) -> None:
        for source_queue in self._queues.values():
            source_queue.ready.notify_all()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued invocation has run; False if the deadline passed first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def shutdown(self, timeout: float = 5.0) -> None:
        self.drain(timeout)
        with self._lock:
            self._closed = True
            workers = [q.worker for q in self._queues.values() if q.worker is not None]
            self._wake_workers()
            self._queues.clear()
            self._changed.notify_all()
        for worker in workers:
            worker.join(timeout)
