"""The offline runtime: a SAM template running for real in this process.

``LocalRuntime`` starts moto with its Step Functions engine, applies the engine fixes,
connects the event sources to in-process handlers, deploys the template and hands out boto3
clients that talk to it. Everything after it (the gateway's tests, ``aigw local``, the
benchmarks) stands on this class::

    with LocalRuntime("template.yaml") as runtime:
        sfn = runtime.client("stepfunctions")
        arn = runtime.start_execution("JobRunner", {"job_id": "j1"})
        print(runtime.wait_for_execution(arn)["status"])

Limits, compared with AWS: one process and no IAM enforcement; handlers share one Python
interpreter (and its installed packages); function timeouts and memory are not enforced.
At most ``max_running_executions`` executions (with their nested children) run at once;
the others wait, in start order, before their first state.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from aigw.local import engine
from aigw.local.deploy import stack as cfn_stack
from aigw.local.deploy.deployer import DeployedResource, Deployer, DeploymentReport
from aigw.local.deploy.template import CfnTemplate, load_template
from aigw.local.engine import api_gateway_invoke
from aigw.local.engine.admission import DEFAULT_LIMIT as DEFAULT_ADMISSION_LIMIT
from aigw.local.engine.admission import admission
from aigw.local.engine.retention import on_express_finished
from aigw.local.events.schedules import Schedules
from aigw.local.events.sources import EventSources
from aigw.local.lambdas.bridge import LambdaBridge, install_function_environ
from aigw.local.services import providers, s3_post_policy, signing, sns_subscribe
from aigw.local.services.aws_endpoint import AwsEndpoint

LOG = logging.getLogger("aigw.local")

_TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
#: How many finished Express executions ``wait_for_execution`` can still answer for.
EXPRESS_ENDS_KEPT = 256
_active_lock = threading.Lock()
_active: LocalRuntime | None = None


class ExecutionTimeout(TimeoutError):
    """An execution did not finish before the caller's deadline."""


class LocalRuntime:
    """Deploys ``template_path`` into an in-process AWS and runs it."""

    def __init__(
        self,
        template_path: str | Path,
        *,
        parameters: dict[str, str] | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        stack_name: str = "aigw-local",
        time_scale: float = 1.0,
        strict: bool = False,
        max_running_executions: int = DEFAULT_ADMISSION_LIMIT,
    ) -> None:
        self.template_path = Path(template_path)
        self.parameters = parameters or {}
        self.region = region
        self.account_id = account_id
        self.stack_name = stack_name
        self.time_scale = time_scale
        self.strict = strict
        self.max_running_executions = max_running_executions
        self.providers = providers.registry
        self.bridge = LambdaBridge()
        self.bridge.aws_endpoint = self.serve_aws  # for functions run in worker processes
        self.event_sources = EventSources(self.bridge, lambda: self.time_scale)
        self.schedules = Schedules(lambda: self.time_scale)
        self.report = DeploymentReport()
        self.resources: dict[str, DeployedResource] = {}
        self.template: CfnTemplate | None = None
        #: The deployment as moto's CloudFormation describes it (DescribeStacks, …).
        self.stack: cfn_stack.DeployedStack | None = None
        self._deployer: Deployer | None = None
        self._mock: Any = None
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._endpoint: AwsEndpoint | None = None
        self._apis: dict[str, Any] = {}
        # A finished Express execution is gone from the API (as on AWS); wait_for_execution
        # still answers for the latest ones.
        self._express_ends: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._express_ends_lock = threading.Lock()
        self._stop_listening: Any = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalRuntime:
        global _active
        with _active_lock:
            if _active is not None:
                raise RuntimeError(
                    "a LocalRuntime is already running in this process (moto's state is "
                    "process-wide); stop it first"
                )
            _active = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        template = load_template(
            self.template_path,
            parameters=self.parameters,
            region=self.region,
            account_id=self.account_id,
            stack_name=self.stack_name,
        )
        install_function_environ()
        # A default session made earlier holds the plain os.environ and would hide each
        # function's variables (AWS_REGION, …) from clients created inside handlers.
        boto3.DEFAULT_SESSION = None
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        engine.apply_engine_fixes()
        self._stop_listening = on_express_finished(self._express_ended)
        engine.set_time_scale(self.time_scale)
        admission.set_limit(self.max_running_executions)
        providers.install()
        signing.install()
        s3_post_policy.install()
        sns_subscribe.install()
        self.event_sources.install()
        self._session = boto3.session.Session(
            region_name=self.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        deployer = Deployer(
            template, self.bridge, self.event_sources, self._session, self.schedules
        )
        self.template, self._deployer = template, deployer
        self.resources = deployer.resources
        self.report = deployer.deploy(strict=self.strict)
        self._record_stack(template, deployer)
        for line in self.report.describe():
            LOG.info("%s", line)
        self.schedules.start()
        api_gateway_invoke.set_api_router(self._api_by_id)

    def _record_stack(self, template: CfnTemplate, deployer: Deployer) -> None:
        """Describe the deployment as the CloudFormation stack ``stack_name``, so programs
        that look the app up through CloudFormation (DescribeStacks' Outputs,
        ListStackResources) find it, here and through the served endpoint."""
        outputs, problems = cfn_stack.resolve_outputs(template, deployer)
        for key, why in problems:
            self.report.notes.append((f"Outputs.{key}", f"left out of the stack: {why}"))
        self.stack = cfn_stack.DeployedStack(
            template,
            deployer.resources,
            outputs,
            template_body=self.template_path.read_text(encoding="utf-8"),
        )
        cfn_stack.record(self.stack)

    def stop(self) -> None:
        global _active
        if self._endpoint is not None:
            self._endpoint.stop()
            self._endpoint = None
        api_gateway_invoke.set_api_router(None)
        self.schedules.stop()
        self.event_sources.stop_pollers()
        self.bridge.shutdown()
        if self._deployer is not None:
            self._deployer.remove_inline_code()
        self.event_sources.uninstall()
        s3_post_policy.uninstall()
        sns_subscribe.uninstall()
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        engine.set_time_scale(1.0)
        admission.set_limit(DEFAULT_ADMISSION_LIMIT)
        if self.stack is not None:
            cfn_stack.forget(self.stack)
            self.stack = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._clients.clear()
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_aws(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        """Expose the in-process AWS to other processes; returns the endpoint URL."""
        if self._endpoint is None:
            endpoint = AwsEndpoint(host, port)
            endpoint.start()
            self._endpoint = endpoint
        return self._endpoint.url

    # ------------------------------------------------------------------ access
    def client(self, service: str) -> Any:
        """A boto3 client for the in-process AWS (cached; boto3 clients are thread-safe)."""
        if self._session is None:
            raise RuntimeError("the runtime is not started")
        if service not in self._clients:
            self._clients[service] = self._session.client(service)
        return self._clients[service]

    def resource(self, logical_id: str) -> DeployedResource:
        if logical_id not in self.resources:
            raise KeyError(f"{logical_id} is not a resource of {self.template_path}")
        return self.resources[logical_id]

    def physical_id(self, logical_id: str) -> Any:
        """What ``Ref`` returns for the resource (a table name, a state machine ARN, …)."""
        return self.resource(logical_id).ref

    def arn(self, logical_id: str) -> str:
        resource = self.resource(logical_id)
        return resource.attributes.get("Arn") or resource.ref

    @property
    def outputs(self) -> dict[str, str]:
        """The template's Outputs by key, as DescribeStacks gives them: resolved, those whose
        Condition is false left out; while ``aigw local`` serves an API, a URL the template
        builds for it (``https://${Api}.execute-api...``) names where it is served."""
        return self.stack.output_values() if self.stack is not None else {}

    def serve_api_urls(self, api_urls: dict[str, str]) -> None:
        """Outputs name the APIs in ``api_urls`` (API id -> served base URL) from now on;
        ``{}`` goes back to the URLs the template builds. Called by ``LocalServer``."""
        if self.stack is not None:
            self.stack.serve_api_urls(api_urls)

    def resolve(self, value: Any) -> Any:
        """Template ``value`` with its intrinsics resolved against the deployed resources.

        For parts of the template served outside moto (an API's OpenAPI body, its stages).
        """
        if self.template is None or self._deployer is None:
            raise RuntimeError("the runtime is not started")
        return self.template.resolve(value, self._deployer)

    def api(self, logical_id: str | None = None) -> Any:
        """The emulated REST or HTTP API ``logical_id`` (the only REST API when None):
        ``api.handle(Request(...))`` answers as API Gateway would. Built once, on first use."""
        from aigw.local.apis.rest_api import RestApi

        if self.template is None:
            raise RuntimeError("the runtime is not started")
        if logical_id is None:
            apis = [
                lid
                for lid, res in self.template.resources.items()
                if res.type == "AWS::ApiGateway::RestApi"
            ]
            if len(apis) != 1:
                raise KeyError(f"the template has {len(apis)} REST APIs {apis}: name one")
            logical_id = apis[0]
        if logical_id not in self._apis:
            resource = self.template.resources.get(logical_id)
            if resource is not None and resource.type == "AWS::ApiGatewayV2::Api":
                from aigw.local.apis.http_api import HttpApi

                self._apis[logical_id] = HttpApi.from_runtime(self, logical_id)
            else:
                self._apis[logical_id] = RestApi.from_runtime(self, logical_id)
        return self._apis[logical_id]

    def _api_by_id(self, api_id: str) -> Any:
        """The emulated REST or HTTP API whose id (its Ref) is ``api_id``, else None."""
        for logical_id, resource in self.resources.items():
            if resource.ref == api_id and resource.type in (
                "AWS::ApiGateway::RestApi",
                "AWS::ApiGatewayV2::Api",
            ):
                return self.api(logical_id)
        return None

    # ------------------------------------------------------------------ Step Functions
    def start_execution(
        self, state_machine: str, execution_input: Any = None, *, name: str | None = None
    ) -> str:
        """Start an execution of a state machine (logical id or ARN); returns its ARN."""
        arn = state_machine if state_machine.startswith("arn:") else self.arn(state_machine)
        response = self.client("stepfunctions").start_execution(
            stateMachineArn=arn,
            name=name or str(uuid.uuid4()),
            input=json.dumps(execution_input if execution_input is not None else {}),
        )
        return response["executionArn"]

    def _express_ended(self, described: dict[str, Any], history: Any) -> None:
        with self._express_ends_lock:
            self._express_ends[described["executionArn"]] = described
            while len(self._express_ends) > EXPRESS_ENDS_KEPT:
                self._express_ends.popitem(last=False)

    def wait_for_execution(
        self, execution_arn: str, *, timeout: float = 30.0, poll: float = 0.002
    ) -> dict[str, Any]:
        """Poll until the execution ends; ``ExecutionTimeout`` when ``timeout`` passes first.

        For an Express execution that has ended, which DescribeExecution no longer knows (as
        on AWS), the answer it gave at its end (the latest ``EXPRESS_ENDS_KEPT`` are kept)."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        delay = poll
        while True:
            try:
                described = sfn.describe_execution(executionArn=execution_arn)
            except sfn.exceptions.ExecutionDoesNotExist:
                with self._express_ends_lock:
                    ended = self._express_ends.get(execution_arn)
                if ended is None:
                    raise
                return dict(ended)
            if described["status"] in _TERMINAL:
                return described
            if time.monotonic() >= deadline:
                raise ExecutionTimeout(
                    f"{execution_arn} still {described['status']} after {timeout} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def run(
        self, state_machine: str, execution_input: Any = None, *, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Start an execution and wait for it; the DescribeExecution answer."""
        return self.wait_for_execution(
            self.start_execution(state_machine, execution_input), timeout=timeout
        )

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until queued asynchronous deliveries (SNS, streams, rules) have run."""
        if not self.bridge.async_invoker.drain(timeout):
            raise TimeoutError(f"asynchronous deliveries still pending after {timeout} s")
