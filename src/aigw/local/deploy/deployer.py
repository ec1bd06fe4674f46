"""Create a template's resources in moto, in dependency order, as CloudFormation would.

The SAM transform (see :mod:`aigw.local.deploy.template`) leaves plain CloudFormation resources;
each type the runtime can run has one ``_create_<type>`` method below that makes the same
API calls CloudFormation makes and records what ``Ref`` and ``Fn::GetAtt`` return. A type it
cannot run is listed in :attr:`DeploymentReport.not_run` with the reason, never skipped
silently; ``strict=True`` turns that list into an error.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import shutil
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from aigw.local.deploy.custom_resources import ResponseEndpoint, read_response, stringified
from aigw.local.deploy.template import (
    CfnTemplate,
    TemplateError,
    cfn_text,
    parse_definition,
    substitute_definition,
)
from aigw.local.events.destinations import (
    Destinations,
    async_failure_record,
    stream_failure_record,
)
from aigw.local.events.filters import FilterError, filter_patterns
from aigw.local.events.pipes import PipeSpec
from aigw.local.events.queues import QueueMapping
from aigw.local.events.schedules import ScheduleError, Schedules, scheduled_event
from aigw.local.events.sources import EventSources, StreamMapping
from aigw.local.lambdas.bridge import (
    AsyncConfig,
    FailureHandler,
    FunctionSpec,
    InvocationResult,
    LambdaBridge,
    UnknownFunctionError,
)
from aigw.local.lambdas.worker import find_interpreter, python_version

LOG = logging.getLogger("aigw.local.deploy")

#: Types accepted on purpose without creating anything: the runtime does not enforce IAM.
_INERT_TYPES = {
    "AWS::Lambda::Permission": "permissions are not enforced locally",
    "AWS::SNS::TopicPolicy": "resource policies are not enforced locally",
    "AWS::SQS::QueuePolicy": "resource policies are not enforced locally",
    "AWS::S3::BucketPolicy": "resource policies are not enforced locally",
    "AWS::IAM::Policy": "IAM is not enforced locally",
    "AWS::IAM::ManagedPolicy": "IAM is not enforced locally",
    "AWS::ApiGateway::Account": "an account-wide API Gateway logging setting: none locally",
}

#: CloudFormation's custom resource types: ``Custom::<Name>`` or this one.
_CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"
#: How long the deployment waits for a custom resource's answer after its function
#: returned (one sent from a thread the function started); CloudFormation waits up to
#: the resource's ServiceTimeout, an hour by default.
CUSTOM_RESOURCE_GRACE_SECONDS = 5.0

#: API Gateway: not deployed into moto, but emulated from the template (aigw.local.apis).
_EMULATED = ("AWS::ApiGateway::", "AWS::ApiGatewayV2::")
#: What Ref returns for the emulated types that have an id (the others return their name).
_API_IDS = {
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::ApiGatewayV2::Deployment",
}


def api_id(account: str, region: str, stack: str, logical_id: str) -> str:
    """A stable 10-character id, like API Gateway's, for an emulated API resource."""
    seed = f"{account}/{region}/{stack}/{logical_id}"
    return hashlib.sha256(seed.encode()).hexdigest()[:10]


class DeploymentError(Exception):
    """A resource could not be created; the message names it."""


class NotRunLocally(Exception):
    """A resource that exists (its Ref and GetAtt resolve) but will not run locally."""

    def __init__(self, resource: DeployedResource, reason: str) -> None:
        super().__init__(reason)
        self.resource, self.reason = resource, reason


@dataclass
class DeployedResource:
    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    #: In ``report.not_run``: an attribute it does not have resolves to a placeholder.
    not_run: bool = False


@dataclass
class DeploymentReport:
    created: list[str] = field(default_factory=list)
    inert: list[tuple[str, str, str]] = field(default_factory=list)
    not_run: list[tuple[str, str, str]] = field(default_factory=list)
    #: API Gateway resources, served by the runtime's emulation (aigw.local.apis).
    emulated: list[str] = field(default_factory=list)
    #: Created, but running differently from AWS in a way worth knowing: (logical id, what).
    notes: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = [f"{len(self.created)} resources created"]
        if self.emulated:
            lines.append(f"{len(self.emulated)} API Gateway resources emulated")
        lines += [f"not run: {lid} ({rtype}): {why}" for lid, rtype, why in self.not_run]
        lines += [f"note: {lid}: {what}" for lid, what in self.notes]
        return lines


_PLACEHOLDER_ZIP: bytes | None = None


def _placeholder_code() -> bytes:
    # moto wants a deployment package; the code itself runs from CodeUri in this process.
    global _PLACEHOLDER_ZIP
    if _PLACEHOLDER_ZIP is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("README", "Runs in-process from CodeUri; see aigw.local.")
        _PLACEHOLDER_ZIP = buffer.getvalue()
    return _PLACEHOLDER_ZIP


def _why_not_runnable(runtime: str, props: dict[str, Any]) -> str | None:
    """Why a function cannot run here at all (None: it can): another language or a
    container image."""
    if props.get("PackageType") == "Image":
        return "a container image function: the local runtime runs Python code from CodeUri"
    if props.get("DurableConfig"):
        return (
            "a durable function (DurableConfig): the local runtime does not run durable "
            "executions (the execution envelope, checkpoints and replay its durable execution "
            "SDK needs); invocations fail with Runtime.NotRunLocally, the rest of the app runs"
        )
    if python_version(runtime) is None:
        return (
            f"runtime {runtime or '(none)'}: the local runtime runs Python handlers only; "
            "invocations fail with Runtime.NotRunLocally, the rest of the app runs"
        )
    return None


def _settings_not_emulated(props: dict[str, Any]) -> list[str]:
    """What a runnable function is configured with that changes how it behaves on Lambda and
    that the local runtime does not do, each said as a deploy note."""
    notes = []
    mounts = [
        str(config.get("LocalMountPath"))
        for config in props.get("FileSystemConfigs") or []
        if isinstance(config, dict)
    ]
    if mounts:
        notes.append(
            f"FileSystemConfigs: no EFS file system is mounted at {', '.join(mounts)}: the "
            "handler's files there are this machine's (usually none), not the shared file system's"
        )
    if (props.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions":
        notes.append(
            "SnapStart: not emulated: every execution environment runs the initialization "
            "code itself and no runtime hook (before snapshot, after restore) is called"
        )
    if props.get("CodeSigningConfigArn"):
        notes.append(
            "CodeSigningConfigArn: the code is not checked for a signature: it runs from "
            "CodeUri, where Lambda with an Enforce policy refuses unsigned code"
        )
    return notes


def _needs_newer_python(runtime: str, code_dir: Path) -> str | None:
    """Where the function's code needs its runtime's Python, newer than this process's
    (the first file and line this interpreter cannot parse); None when this one will do."""
    wanted = python_version(runtime)
    if wanted is None or wanted <= sys.version_info[:2]:
        return None
    for path in sorted(code_dir.rglob("*.py")):
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as error:
            host = ".".join(map(str, sys.version_info[:2]))
            return (
                f"{path.relative_to(code_dir)} line {error.lineno} needs a newer Python than "
                f"aigw's {host} ({error.msg})"
            )
    return None


def _notification_configuration(config: dict[str, Any]) -> dict[str, Any]:
    """A bucket's NotificationConfiguration as CloudFormation writes it, in the S3 API's
    shape (LambdaConfigurations[].Function -> LambdaFunctionConfigurations[].LambdaFunctionArn,
    Filter.S3Key.Rules -> Filter.Key.FilterRules, EventBridgeConfiguration)."""
    converted: dict[str, Any] = {}
    kinds = [
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
    ]
    for cfn_key, api_key, target, api_target in kinds:
        for item in config.get(cfn_key) or []:
            entry: dict[str, Any] = {api_target: item[target], "Events": [item["Event"]]}
            rules = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            if rules:
                entry["Filter"] = {"Key": {"FilterRules": rules}}
            converted.setdefault(api_key, []).append(entry)
    if (config.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled") in (True, "true"):
        converted["EventBridgeConfiguration"] = {}
    return converted


_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _converted(value: Any, shape: Any) -> Any:
    """``value`` as CloudFormation converts a template value for a property of ``shape``'s
    type: numeric strings to integers and floats, "true"/"false" to booleans, scalars to
    strings; anything else is left for botocore to refuse, as the service would."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: _converted(v, members[k]) if k in members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_converted(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _converted(v, shape.value) for k, v in value.items()}
    if isinstance(value, str):
        text = value.strip()
        if kind in ("integer", "long") and _INTEGER.match(text):
            return int(text)
        if kind in ("float", "double") and _NUMBER.match(text):
            return float(text)
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    elif kind == "string" and isinstance(value, bool):
        return "true" if value else "false"
    elif kind == "string" and isinstance(value, int | float):
        return str(value)
    return value


def _as_the_model_types(params: dict[str, Any], model: Any, **_: Any) -> None:
    if model.input_shape is not None:
        params.update(_converted(params, model.input_shape))


class Deployer:
    """Deploys one :class:`CfnTemplate` into the moto backends of this process."""

    def __init__(
        self,
        template: CfnTemplate,
        bridge: LambdaBridge,
        event_sources: EventSources,
        session: boto3.session.Session,
        schedules: Schedules,
    ) -> None:
        self.template = template
        self.schedules = schedules
        self.bridge = bridge
        self.event_sources = event_sources
        self.session = session
        self.resources: dict[str, DeployedResource] = {}
        self.report = DeploymentReport()
        self._clients: dict[str, Any] = {}
        self._layer_dirs: dict[str, Path] = {}
        self._inline_dirs: dict[str, Path] = {}
        self._responses: ResponseEndpoint | None = None
        self.destinations = Destinations(self.client)
        # A function's dead-letter queue may be set later (UpdateFunctionConfiguration).
        bridge.send_dead_letter = self.destinations.send_dead_letter

    # ------------------------------------------------------------------ lookups for resolve
    def ref(self, logical_id: str) -> Any:
        return self._deployed(logical_id).ref

    def get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self._deployed(logical_id)
        if attribute not in resource.attributes and resource.not_run:
            return self._placeholder(resource, attribute)
        if attribute not in resource.attributes and _is_custom(resource.type):
            # CloudFormation's words when the provider's Data lacks the attribute.
            raise TemplateError(
                f"Fn::GetAtt {logical_id}.{attribute}: CustomResource attribute error: Vendor "
                f"response doesn't contain {attribute} key in object (its Data has: "
                f"{', '.join(sorted(resource.attributes)) or 'nothing'})"
            )
        if attribute not in resource.attributes:
            known = ", ".join(sorted(resource.attributes)) or "none"
            raise TemplateError(
                f"Fn::GetAtt {logical_id}.{attribute}: {resource.type} has no such attribute "
                f"locally (known: {known})"
            )
        return resource.attributes[attribute]

    def _placeholder(self, resource: DeployedResource, attribute: str) -> str:
        """What ``Fn::GetAtt`` of a resource that is not run gives: a value that is plainly
        not a real one (ARN-shaped for an ARN), noted once in the report, so the resources
        that refer to it still deploy."""
        if attribute == "Arn" or attribute.endswith("Arn"):
            parts = resource.type.split("::")
            service = parts[1].lower() if resource.type.startswith("AWS::") else "cloudformation"
            value = self._arn(service, f"not-run-locally/{resource.logical_id}")
        else:
            value = f"not-run-locally:{resource.logical_id}.{attribute}"
        note = (
            resource.logical_id,
            f"Fn::GetAtt {resource.logical_id}.{attribute} is the placeholder {value!r}: "
            f"{resource.type} is not run locally",
        )
        if note not in self.report.notes:
            self.report.notes.append(note)
            LOG.warning("%s: %s", *note)
        resource.attributes[attribute] = value
        return value

    def _deployed(self, logical_id: str) -> DeployedResource:
        if logical_id not in self.resources:
            raise TemplateError(f"{logical_id} is referenced but was not created")
        return self.resources[logical_id]

    def client(self, service: str) -> Any:
        if service not in self._clients:
            client = self.session.client(service)
            # Template values reach the API as CloudFormation sends them: converted to the
            # property's type (a Number parameter is a string until then).
            client.meta.events.register("before-parameter-build", _as_the_model_types)
            self._clients[service] = client
        return self._clients[service]

    # ------------------------------------------------------------------ deploy
    def deploy(self, *, strict: bool = False) -> DeploymentReport:
        try:
            return self._deploy(strict)
        finally:
            if self._responses is not None:
                self._responses.close()
                self._responses = None

    def _deploy(self, strict: bool) -> DeploymentReport:
        plan = [
            (logical_id, self.template.resources[logical_id].type)
            for logical_id in self.template.deploy_order()
        ]
        unsupported = [
            (logical_id, rtype, self._why_not_run(rtype))
            for logical_id, rtype in plan
            if self._creator(rtype) is None
            and rtype not in _INERT_TYPES
            and not rtype.startswith(_EMULATED)
        ]
        if strict and unsupported:
            names = ", ".join(f"{lid} ({rtype})" for lid, rtype, _ in unsupported)
            raise DeploymentError(f"resource types the local runtime cannot run: {names}")
        for logical_id, rtype in plan:
            resource = self.template.resources[logical_id]
            if rtype in _INERT_TYPES:
                self.resources[logical_id] = DeployedResource(logical_id, rtype, logical_id)
                self.report.inert.append((logical_id, rtype, _INERT_TYPES[rtype]))
                continue
            creator = self._creator(rtype)
            if creator is None and rtype.startswith(_EMULATED):
                properties = self.template.resolve(resource.properties or {}, self)
                self.resources[logical_id] = self._api_resource(logical_id, rtype, properties)
                self.report.emulated.append(logical_id)
                continue
            if creator is None:
                self.resources[logical_id] = DeployedResource(
                    logical_id, rtype, logical_id, not_run=True
                )
                self.report.not_run.append((logical_id, rtype, self._why_not_run(rtype)))
                LOG.warning("not run locally: %s (%s)", logical_id, rtype)
                continue
            properties = self.template.resolve(resource.properties or {}, self)
            try:
                self.resources[logical_id] = creator(logical_id, properties)
            except NotRunLocally as skipped:
                # Created for Ref/GetAtt, so the rest of the template still deploys and runs.
                skipped.resource.not_run = True
                self.resources[logical_id] = skipped.resource
                self.report.not_run.append((logical_id, rtype, skipped.reason))
                LOG.warning("not run locally: %s (%s): %s", logical_id, rtype, skipped.reason)
                continue
            except (TemplateError, DeploymentError):
                raise
            except Exception as error:
                raise DeploymentError(f"{logical_id} ({rtype}): {error}") from error
            self.report.created.append(logical_id)
        return self.report

    def _creator(self, rtype: str) -> Callable[[str, dict[str, Any]], DeployedResource] | None:
        if _is_custom(rtype):
            return self._create_custom_resource
        name = "_create_" + rtype.removeprefix("AWS::").replace("::", "_").lower()
        return getattr(self, name, None)

    @staticmethod
    def _why_not_run(rtype: str) -> str:
        return "the local runtime has no implementation for this type"

    def _api_resource(self, logical_id: str, rtype: str, props: dict[str, Any]) -> DeployedResource:
        """An API Gateway resource, emulated by aigw.local.apis: what Ref and GetAtt give."""
        region, account = self.template.region, self.template.account_id
        ref: Any = logical_id
        if rtype in _API_IDS:
            ref = api_id(account, region, self.template.stack_name, logical_id)
        elif rtype in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"):
            ref = props.get("StageName") or logical_id
        elif rtype == "AWS::ApiGateway::Model":
            ref = props.get("Name") or logical_id  # what a Method's RequestModels names
        attributes: dict[str, Any] = {}
        if rtype == "AWS::ApiGateway::RestApi":
            attributes["RootResourceId"] = api_id(account, region, ref, "/")
            attributes["RestApiId"] = ref
        elif rtype == "AWS::ApiGatewayV2::Api":
            scheme = "wss" if props.get("ProtocolType") == "WEBSOCKET" else "https"
            attributes["ApiEndpoint"] = f"{scheme}://{ref}.execute-api.{region}.amazonaws.com"
            attributes["ApiId"] = ref
        elif rtype == "AWS::ApiGateway::Resource":
            attributes["ResourceId"] = ref
        return DeployedResource(logical_id, rtype, ref, attributes)

    def _name(self, logical_id: str, explicit: str | None, *, lower: bool = False) -> str:
        name = explicit or f"{self.template.stack_name}-{logical_id}"
        return name.lower() if lower else name

    def _arn(self, service: str, resource: str, *, region: bool = True) -> str:
        region_part = self.template.region if region else ""
        return f"arn:aws:{service}:{region_part}:{self.template.account_id}:{resource}"

    # ------------------------------------------------------------------ custom resources
    def _create_custom_resource(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        """Send the provider function CloudFormation's Create request and wait for its
        answer at the ResponseURL: its PhysicalResourceId is Ref, its Data the GetAtt
        attributes; FAILED (or no answer) fails the deployment, as it fails the stack."""
        rtype = self.template.resources[logical_id].type
        placeholder = DeployedResource(logical_id, rtype, logical_id)
        token = props.get("ServiceToken")
        if not isinstance(token, str) or ":lambda:" not in token:
            raise NotRunLocally(
                placeholder,
                f"ServiceToken {token!r}: only custom resources whose provider is a Lambda "
                "function of the template are run locally",
            )
        why_not = self.bridge.unavailable_reason(token)
        if why_not is not None:
            raise NotRunLocally(placeholder, f"its provider {token} is not run: {why_not}")
        try:
            self.bridge.spec(token)
        except UnknownFunctionError:
            raise NotRunLocally(
                placeholder, f"its provider {token} is not a function of this template"
            ) from None
        if self._responses is None:
            self._responses = ResponseEndpoint()
        request_id = str(uuid.uuid4())
        request = {
            "RequestType": "Create",
            "ServiceToken": token,
            "ResponseURL": self._responses.url(request_id),
            "StackId": self.template.resolve({"Ref": "AWS::StackId"}, self),
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": rtype,
            "ResourceProperties": stringified(props),
        }
        result = self.bridge.invoke(token, request)
        grace = 0.0 if result.function_error else CUSTOM_RESOURCE_GRACE_SECONDS
        body = self._responses.wait(request_id, grace)
        if body is None:
            if result.function_error:
                error = result.json() or {}
                why = (
                    f"its provider failed ({error.get('errorType')}: "
                    f"{error.get('errorMessage')}) without answering"
                )
            else:
                why = f"its provider returned without answering at the ResponseURL ({grace:g}s)"
            raise DeploymentError(
                f"{logical_id} ({rtype}): {why}; CloudFormation would wait for an answer "
                "until the ServiceTimeout (an hour by default) and fail the stack"
            )
        try:
            answer = read_response(logical_id, body, request)
        except ValueError as error:
            raise DeploymentError(
                f"{logical_id} ({rtype}): Received response status [FAILED] from custom "
                f"resource. Message returned: {error}"
            ) from None
        physical_id = answer.get("PhysicalResourceId")
        if not physical_id:
            physical_id = f"{self.template.stack_name}-{logical_id}-{request_id[:8]}"
            self.report.notes.append(
                (
                    logical_id,
                    f"its provider answered no PhysicalResourceId (CloudFormation requires "
                    f"one); Ref is {physical_id!r} locally",
                )
            )
        return DeployedResource(logical_id, rtype, physical_id, dict(answer.get("Data") or {}))

    # ------------------------------------------------------------------ IAM
    def _create_iam_role(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("RoleName"))[:64]
        iam = self.client("iam")
        role = iam.create_role(
            RoleName=name,
            Path=props.get("Path", "/"),
            AssumeRolePolicyDocument=json.dumps(props.get("AssumeRolePolicyDocument", {})),
        )["Role"]
        for policy in props.get("Policies", []):
            document = dict(policy["PolicyDocument"])
            # IAM defaults a missing Version (policy templates omit it); moto insists on one.
            document.setdefault("Version", "2012-10-17")
            try:
                iam.put_role_policy(
                    RoleName=name,
                    PolicyName=policy["PolicyName"],
                    PolicyDocument=json.dumps(document),
                )
            except iam.exceptions.MalformedPolicyDocumentException as error:
                # IAM is not enforced locally and moto validates more strictly than IAM;
                # cfn-lint is the check for policies.
                LOG.info("%s: policy %s kept out of moto: %s", logical_id, policy, error)
        return DeployedResource(
            logical_id, "AWS::IAM::Role", name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}
        )

    # ------------------------------------------------------------------ Lambda
    def _create_lambda_layerversion(
        self, logical_id: str, props: dict[str, Any]
    ) -> DeployedResource:
        content = props.get("Content", {})
        root = self.template.local_path_for_code(content.get("S3Bucket"), content.get("S3Key"))
        # Lambda extracts a layer to /opt and puts /opt/python on the import path; a source
        # layer that `sam build` would build (BuildMethod) has its code at the root instead.
        python_dir = root / "python" if (root / "python").is_dir() else root
        name = props.get("LayerName") or self._name(logical_id, None)
        arn = self._arn("lambda", f"layer:{name}:1")
        self._layer_dirs[arn] = python_dir
        return DeployedResource(logical_id, "AWS::Lambda::LayerVersion", arn, {})

    def _code_dir(self, logical_id: str, code: dict[str, Any]) -> Path:
        """The function's code directory: the local one its S3 location stands for, or, for
        inline code (``ZipFile``, SAM's ``InlineCode``), a directory holding it as
        ``index.py`` with the ``cfnresponse`` module CloudFormation puts beside it."""
        if "ZipFile" not in code:
            return self.template.local_path_for_code(code.get("S3Bucket"), code.get("S3Key"))
        if logical_id not in self._inline_dirs:
            directory = Path(tempfile.mkdtemp(prefix=f"aigw-inline-{logical_id}-"))
            (directory / "index.py").write_text(str(code["ZipFile"]))
            module = Path(__file__).with_name("cfnresponse.py")
            shutil.copyfile(module, directory / "cfnresponse.py")
            self._inline_dirs[logical_id] = directory
        return self._inline_dirs[logical_id]

    def remove_inline_code(self) -> None:
        """Delete the directories inline code was written to (when the runtime stops)."""
        for directory in self._inline_dirs.values():
            shutil.rmtree(directory, ignore_errors=True)
        self._inline_dirs.clear()

    def _create_lambda_function(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("FunctionName"))
        runtime = str(props.get("Runtime", ""))
        why_not = _why_not_runnable(runtime, props)
        interpreter = None
        dead_letter = (props.get("DeadLetterConfig") or {}).get("TargetArn") or None
        # In moto too (kept by events/sources.py): GetFunctionConfiguration shows it.
        dead_letter_config = {"DeadLetterConfig": {"TargetArn": dead_letter}} if dead_letter else {}
        if dead_letter is not None:
            try:
                self.destinations.check(dead_letter, logical_id, "dead-letter queue")
            except ValueError as error:
                raise DeploymentError(str(error)) from None
        if why_not is None:
            code_dir = self._code_dir(logical_id, props.get("Code", {}))
            needs = _needs_newer_python(runtime, code_dir)
            if needs is not None:
                interpreter = find_interpreter(python_version(runtime) or (3, 0))
                if interpreter is None:
                    why_not = (
                        f"runtime {runtime}: {needs}, and no {runtime} is installed (looked on "
                        "PATH and in pyenv's versions): install it to run this function"
                    )
                else:
                    self.report.notes.append(
                        (
                            logical_id,
                            f"runtime {runtime}: {needs}: runs on {interpreter}, in "
                            "worker processes of its own",
                        )
                    )
        if why_not is not None:
            # In moto all the same, so the Lambda API and the state machines reach it and
            # hear why it does not run.
            arn = self.client("lambda").create_function(
                FunctionName=name,
                Runtime=runtime or "python3.12",
                Role=props["Role"],
                Handler=props.get("Handler") or "none",
                Code={"ZipFile": _placeholder_code()},
                **dead_letter_config,
            )["FunctionArn"]
            self.bridge.register_unavailable(name, arn, why_not)
            resource = DeployedResource(logical_id, "AWS::Lambda::Function", name, {"Arn": arn})
            raise NotRunLocally(resource, why_not)
        code_dir = self._code_dir(logical_id, props.get("Code", {}))
        self.report.notes.extend((logical_id, note) for note in _settings_not_emulated(props))
        # As CloudFormation writes them: a YAML boolean reaches the handler as "false".
        variables = {
            key: cfn_text(value)
            for key, value in props.get("Environment", {}).get("Variables", {}).items()
        }
        layer_dirs = []
        for layer in props.get("Layers", []):
            if layer in self._layer_dirs:
                layer_dirs.append(self._layer_dirs[layer])
                continue
            # A published layer (Powertools, a team's shared layer) cannot be downloaded
            # offline; its packages are usually installed where the runtime runs.
            self.report.notes.append(
                (
                    logical_id,
                    f"layer {layer} is not in the template and cannot be fetched offline: "
                    "the function imports its packages from the environment aigw runs in",
                )
            )
        response = self.client("lambda").create_function(
            FunctionName=name,
            Runtime=props.get("Runtime", "python3.12"),
            Role=props["Role"],
            Handler=props["Handler"],
            Code={"ZipFile": _placeholder_code()},
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": variables},
            **dead_letter_config,
        )
        arn = response["FunctionArn"]
        reserved = props.get("ReservedConcurrentExecutions")
        reserved = int(reserved) if reserved is not None else None
        self.bridge.register(
            FunctionSpec(
                name=name,
                arn=arn,
                code_dir=code_dir,
                handler=props["Handler"],
                environment=variables,
                timeout=int(props.get("Timeout", 3)),
                memory_size=int(props.get("MemorySize", 128)),
                layer_dirs=layer_dirs,
                runtime=props.get("Runtime", "python3.12"),
                region=self.template.region,
                reserved_concurrency=reserved,
                interpreter=interpreter,
                dead_letter_target=dead_letter,
            )
        )
        if reserved is not None:
            self.client("lambda").put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=reserved
            )
        return DeployedResource(logical_id, "AWS::Lambda::Function", name, {"Arn": arn})

    def _create_lambda_eventsourcemapping(
        self, logical_id: str, props: dict[str, Any]
    ) -> DeployedResource:
        kwargs = {
            key: props[key]
            for key in ("EventSourceArn", "FunctionName", "BatchSize", "StartingPosition")
            if key in props
        }
        kwargs["Enabled"] = props.get("Enabled", True)
        if "FilterCriteria" in props:
            kwargs["FilterCriteria"] = props["FilterCriteria"]
        source = props["EventSourceArn"]
        is_stream = ":dynamodb:" in source or ":kinesis:" in source
        stream_only = {"BisectBatchOnFunctionError", "DestinationConfig"}
        if not is_stream and (given := sorted(stream_only & set(props))):
            raise DeploymentError(f"{logical_id}: {given} are run locally for streams only")
        try:
            filters = filter_patterns(props.get("FilterCriteria"))
        except FilterError as error:
            raise DeploymentError(f"{logical_id}: FilterCriteria: {error}") from None
        mapping = self.client("lambda").create_event_source_mapping(**kwargs)
        if ":sqs:" in source:
            self.event_sources.add_queue_mapping(
                QueueMapping(
                    uuid=mapping["UUID"],
                    function_arn=mapping["FunctionArn"],
                    queue_arn=source,
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                    filters=filters,
                )
            )
        if is_stream:
            function_arn = mapping["FunctionArn"]
            destination = (props.get("DestinationConfig") or {}).get("OnFailure", {})
            on_failure = None
            if ":kinesis:" in source:
                self.event_sources.add_kinesis_mapping(mapping["UUID"], source)
                if destination.get("Destination"):
                    self.report.notes.append(
                        (
                            logical_id,
                            "its OnFailure destination is not run for a Kinesis stream "
                            "locally: a batch that fails every retry is logged and dropped",
                        )
                    )
            else:
                on_failure = self._stream_failures(
                    logical_id, function_arn, source, destination.get("Destination")
                )

            def enabled(uuid_: str = mapping["UUID"]) -> bool:
                from moto.awslambda.models import lambda_backends

                backend = lambda_backends[self.template.account_id][self.template.region]
                return bool(backend.get_event_source_mapping(uuid_).enabled)

            self.event_sources.stream_mappings[(function_arn, source)] = StreamMapping(
                batch_size=int(props.get("BatchSize", 100)),
                maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                filters=filters,
                bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                report_batch_item_failures="ReportBatchItemFailures"
                in (props.get("FunctionResponseTypes") or []),
                on_failure=on_failure,
                enabled=enabled if ":kinesis:" in source else (lambda: True),
            )
        return DeployedResource(
            logical_id, "AWS::Lambda::EventSourceMapping", mapping["UUID"], {"Id": mapping["UUID"]}
        )

    def _stream_failures(
        self, logical_id: str, function_arn: str, stream_arn: str, destination: str | None
    ) -> FailureHandler | None:
        if destination is None:
            return None
        self._check_destination(logical_id, destination)
        shard_id = _stream_shard_id(stream_arn)

        def send(batch: Any, result: InvocationResult, attempts: int) -> None:
            record = stream_failure_record(
                function_arn, stream_arn, shard_id, batch, result, attempts
            )
            self.destinations.send(destination, record)

        return send

    def _check_destination(self, logical_id: str, destination: str) -> None:
        try:
            self.destinations.check(destination, logical_id)
        except ValueError as error:
            raise DeploymentError(str(error)) from None

    def _create_lambda_version(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        # What SAM's AutoPublishAlias generates (with an alias on it). Every version runs the
        # template's code: there is only one code here.
        published = self.client("lambda").publish_version(
            FunctionName=props["FunctionName"], Description=props.get("Description", "")
        )
        arn = published["FunctionArn"]
        return DeployedResource(
            logical_id,
            "AWS::Lambda::Version",
            arn,
            {"FunctionArn": arn, "Version": published["Version"]},
        )

    def _create_lambda_alias(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        alias = self.client("lambda").create_alias(
            FunctionName=props["FunctionName"],
            Name=props["Name"],
            FunctionVersion=props["FunctionVersion"],
            Description=props.get("Description", ""),
        )
        if props.get("RoutingConfig") or props.get("ProvisionedConcurrencyConfig"):
            self.report.notes.append(
                (
                    logical_id,
                    "its RoutingConfig and ProvisionedConcurrencyConfig are accepted but every "
                    "invocation runs the template's one code",
                )
            )
        arn = alias["AliasArn"]
        return DeployedResource(logical_id, "AWS::Lambda::Alias", arn, {"AliasArn": arn})

    def _create_lambda_eventinvokeconfig(
        self, logical_id: str, props: dict[str, Any]
    ) -> DeployedResource:
        destinations = props.get("DestinationConfig") or {}
        if "OnSuccess" in destinations:
            raise DeploymentError(f"{logical_id}: OnSuccess destinations are not run locally")
        if props.get("Qualifier", "$LATEST") != "$LATEST":
            raise DeploymentError(f"{logical_id}: only the $LATEST qualifier is run locally")
        function_arn = self.bridge.spec(props["FunctionName"]).arn
        destination = destinations.get("OnFailure", {}).get("Destination")
        on_failure = None
        if destination is not None:
            self._check_destination(logical_id, destination)

            def on_failure(event: Any, result: InvocationResult, attempts: int) -> None:
                record = async_failure_record(function_arn, event, result, attempts)
                self.destinations.send(destination, record)

        retries = int(props.get("MaximumRetryAttempts", 2))
        self.bridge.configure_async(function_arn, AsyncConfig(retries, on_failure))
        return DeployedResource(
            logical_id, "AWS::Lambda::EventInvokeConfig", f"{function_arn}:$LATEST", {}
        )

    # ------------------------------------------------------------------ DynamoDB
    def _create_dynamodb_table(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("TableName"))
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if kwargs["BillingMode"] == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = props.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if key in props:
                kwargs[key] = props[key]
        sse = props.get("SSESpecification")
        if sse:
            # CloudFormation says SSEEnabled/SSEType/KMSMasterKeyId; the API Enabled/...
            kwargs["SSESpecification"] = {
                key: value
                for key, value in (
                    ("Enabled", bool(sse.get("SSEEnabled"))),
                    ("SSEType", sse.get("SSEType")),
                    ("KMSMasterKeyId", sse.get("KMSMasterKeyId")),
                )
                if value is not None
            }
        stream = props.get("StreamSpecification")
        if stream:
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        dynamodb = self.client("dynamodb")
        table = dynamodb.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if pitr.get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return DeployedResource(logical_id, "AWS::DynamoDB::Table", name, attributes)

    # ------------------------------------------------------------------ Kinesis
    def _create_kinesis_stream(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("Name"))[:128]
        kinesis = self.client("kinesis")
        kwargs: dict[str, Any] = {"StreamName": name}
        if (props.get("StreamModeDetails") or {}).get("StreamMode") == "ON_DEMAND":
            kwargs["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
        else:
            kwargs["ShardCount"] = int(props.get("ShardCount", 1))
        kinesis.create_stream(**kwargs)
        if "RetentionPeriodHours" in props:
            hours = int(props["RetentionPeriodHours"])
            if hours > 24:
                kinesis.increase_stream_retention_period(
                    StreamName=name, RetentionPeriodHours=hours
                )
        encryption = props.get("StreamEncryption")
        if encryption:
            kinesis.start_stream_encryption(
                StreamName=name,
                EncryptionType=encryption["EncryptionType"],
                KeyId=encryption["KeyId"],
            )
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        # Ref is the stream's name, GetAtt Arn its ARN, as CloudFormation returns them.
        return DeployedResource(
            logical_id, "AWS::Kinesis::Stream", name, {"Arn": summary["StreamARN"]}
        )

    # ------------------------------------------------------------------ S3
    def _create_s3_bucket(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("BucketName"), lower=True)[:63]
        s3 = self.client("s3")
        if self.template.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(
                Bucket=name,
                CreateBucketConfiguration={"LocationConstraint": self.template.region},
            )
        if "CorsConfiguration" in props:
            rules = []
            for rule in props["CorsConfiguration"]["CorsRules"]:
                converted = {k: v for k, v in rule.items() if k not in ("MaxAge", "Id")}
                if "MaxAge" in rule:
                    converted["MaxAgeSeconds"] = int(rule["MaxAge"])
                if "Id" in rule:
                    converted["ID"] = rule["Id"]
                rules.append(converted)
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        if "LifecycleConfiguration" in props:
            rules = []
            for rule in props["LifecycleConfiguration"]["Rules"]:
                converted: dict[str, Any] = {
                    "ID": rule.get("Id", f"rule-{len(rules)}"),
                    "Status": rule.get("Status", "Enabled"),
                    "Filter": {"Prefix": rule.get("Prefix", "")},
                }
                if "ExpirationInDays" in rule:
                    converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
                rules.append(converted)
            s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": rules}
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
            )
        if "BucketEncryption" in props:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": rule[
                                "ServerSideEncryptionByDefault"
                            ],
                            **(
                                {"BucketKeyEnabled": rule["BucketKeyEnabled"]}
                                if "BucketKeyEnabled" in rule
                                else {}
                            ),
                        }
                        for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        if "NotificationConfiguration" in props:
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration=_notification_configuration(
                    props["NotificationConfiguration"]
                ),
                SkipDestinationValidation=True,
            )
        return DeployedResource(
            logical_id,
            "AWS::S3::Bucket",
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{self.template.region}.amazonaws.com",
            },
        )

    # ------------------------------------------------------------------ SNS / SQS
    def _create_sns_topic(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("TopicName"))
        attributes = {}
        if props.get("KmsMasterKeyId"):
            attributes["KmsMasterKeyId"] = str(props["KmsMasterKeyId"])
        if props.get("FifoTopic"):
            attributes["FifoTopic"] = "true"
        sns = self.client("sns")
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        for subscription in props.get("Subscription", []):
            sns.subscribe(
                TopicArn=arn,
                Protocol=subscription["Protocol"],
                Endpoint=subscription["Endpoint"],
            )
        return DeployedResource(
            logical_id, "AWS::SNS::Topic", arn, {"TopicArn": arn, "TopicName": name}
        )

    def _create_sns_subscription(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        attributes = {}
        for key in ("FilterPolicy", "RedrivePolicy"):
            if key in props:
                attributes[key] = json.dumps(props[key])
        for key in ("FilterPolicyScope", "RawMessageDelivery"):
            if key in props:
                attributes[key] = (
                    str(props[key]).lower() if key == "RawMessageDelivery" else (props[key])
                )
        arn = self.client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return DeployedResource(logical_id, "AWS::SNS::Subscription", arn, {"Arn": arn})

    def _create_sqs_queue(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("QueueName"))
        attributes = {
            key: json.dumps(value)
            if isinstance(value, dict)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
            for key, value in props.items()
            if key not in ("QueueName", "Tags")
        }
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self._arn("sqs", name)
        return DeployedResource(
            logical_id, "AWS::SQS::Queue", url, {"Arn": arn, "QueueName": name, "QueueUrl": url}
        )

    # ------------------------------------------------------------------ EventBridge / logs
    def _create_events_rule(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("Name"))[:64]
        kwargs: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            kwargs["EventPattern"] = json.dumps(props["EventPattern"])
        schedule = props.get("ScheduleExpression")
        if schedule:
            try:
                Schedules.check(schedule)
            except ScheduleError as error:
                raise DeploymentError(f"{logical_id}: {error}") from error
            kwargs["ScheduleExpression"] = schedule
        if "EventBusName" in props:
            kwargs["EventBusName"] = props["EventBusName"]
        events = self.client("events")
        arn = events.put_rule(**kwargs)["RuleArn"]
        if schedule:
            self._schedule_rule(name, arn, props.get("EventBusName"), schedule)
        targets = []
        for target in props.get("Targets", []):
            converted = {key: target[key] for key in ("Id", "Arn") if key in target}
            if "Input" in target:
                converted["Input"] = target["Input"]
            if "InputPath" in target:
                converted["InputPath"] = target["InputPath"]
            for passed in ("DeadLetterConfig", "RetryPolicy"):
                # Kept for inspection; an in-process target cannot be unreachable.
                if passed in target:
                    converted[passed] = target[passed]
            if "InputTransformer" in target:
                transformer = target["InputTransformer"]
                converted["InputTransformer"] = {
                    "InputPathsMap": transformer.get("InputPathsMap", {}),
                    "InputTemplate": transformer["InputTemplate"],
                }
            targets.append(converted)
        if targets:
            bus = {"EventBusName": props["EventBusName"]} if "EventBusName" in props else {}
            events.put_targets(Rule=name, Targets=targets, **bus)
        return DeployedResource(logical_id, "AWS::Events::Rule", name, {"Arn": arn})

    def _schedule_rule(self, name: str, arn: str, bus: str | None, expression: str) -> None:
        from moto.events.models import events_backends

        backend = events_backends[self.template.account_id][self.template.region]

        def rule() -> Any:
            return backend.describe_rule(name, bus)

        def fire() -> None:
            event = scheduled_event(arn, self.template.account_id, self.template.region)
            self.event_sources.fire_schedule(rule(), event)

        self.schedules.add(arn, expression, fire, lambda: rule().state == "ENABLED")

    def _create_events_eventbus(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = props["Name"]
        arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
        return DeployedResource(
            logical_id, "AWS::Events::EventBus", name, {"Arn": arn, "Name": name}
        )

    def _create_scheduler_schedulegroup(
        self, logical_id: str, props: dict[str, Any]
    ) -> DeployedResource:
        # Ref is the group's name; schedules a workflow or a handler creates go into it.
        name = self._name(logical_id, props.get("Name"))[:64]
        scheduler = self.client("scheduler")
        arn = scheduler.create_schedule_group(Name=name)["ScheduleGroupArn"]
        group = scheduler.get_schedule_group(Name=name)
        return DeployedResource(
            logical_id,
            "AWS::Scheduler::ScheduleGroup",
            name,
            {
                "Arn": arn,
                "CreationDate": group["CreationDate"].isoformat(),
                "LastModificationDate": group["LastModificationDate"].isoformat(),
                "State": group["State"],
            },
        )

    def _create_scheduler_schedule(
        self, logical_id: str, props: dict[str, Any]
    ) -> DeployedResource:
        name = self._name(logical_id, props.get("Name"))[:64]
        expression = props["ScheduleExpression"]
        try:
            Schedules.check(expression)
        except ScheduleError as error:
            raise DeploymentError(f"{logical_id}: {error}") from error
        target = props["Target"]
        state = {"enabled": props.get("State", "ENABLED") == "ENABLED"}
        group = props.get("GroupName", "default")
        arn = self._arn("scheduler", f"schedule/{group}/{name}")

        def fire() -> None:
            text = target.get("Input")
            payload: Any = {} if text is None else text
            if isinstance(text, str):
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = text
            self.event_sources.deliver(target["Arn"], payload, source=f"schedule {name}")

        self.schedules.add(arn, expression, fire, lambda: state["enabled"])
        return DeployedResource(logical_id, "AWS::Scheduler::Schedule", name, {"Arn": arn})

    def _create_pipes_pipe(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("Name"))[:64]
        arn = self._arn("pipes", f"pipe/{name}")
        resource = DeployedResource(logical_id, "AWS::Pipes::Pipe", name, {"Arn": arn})
        source = str(props["Source"])
        if ":sqs:" not in source:
            raise NotRunLocally(
                resource, f"source {source}: only pipes from SQS queues are run locally"
            )
        parameters = props.get("SourceParameters") or {}
        try:
            filters = filter_patterns(parameters.get("FilterCriteria"))
        except FilterError as error:
            raise DeploymentError(f"{logical_id}: FilterCriteria: {error}") from None
        target = props.get("TargetParameters") or {}
        machine = target.get("StepFunctionStateMachineParameters") or {}
        self.event_sources.add_pipe(
            PipeSpec(
                name=name,
                source=source,
                target=str(props["Target"]),
                batch_size=int((parameters.get("SqsQueueParameters") or {}).get("BatchSize", 10)),
                filters=filters,
                enrichment=props.get("Enrichment"),
                input_template=target.get("InputTemplate"),
                invocation_type=machine.get("InvocationType", "FIRE_AND_FORGET"),
            ),
            running=props.get("DesiredState", "RUNNING") == "RUNNING",
        )
        return resource

    def _create_logs_loggroup(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = props.get("LogGroupName") or f"/aws/{self.template.stack_name}/{logical_id}"
        self.client("logs").create_log_group(logGroupName=name)
        return DeployedResource(
            logical_id, "AWS::Logs::LogGroup", name, {"Arn": self._arn("logs", f"log-group:{name}")}
        )

    # ------------------------------------------------------------------ Step Functions
    def _create_stepfunctions_statemachine(
        self, logical_id: str, props: dict[str, Any]
    ) -> DeployedResource:
        name = self._name(logical_id, props.get("StateMachineName"))
        substitutions = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in props.get("DefinitionSubstitutions", {}).items()
        }
        if "DefinitionS3Location" in props:
            # A definition file: substituted as text, then read as JSON or else YAML, as
            # CloudFormation's handler does (so `Seconds: ${Wait}` is a number).
            location = props["DefinitionS3Location"]
            bucket, key = location.get("Bucket"), location.get("Key")
            try:
                path = self.template.local_path_for_code(bucket, key)
            except TemplateError:
                raise DeploymentError(
                    f"{logical_id}: its definition is in s3://{bucket}/{key}, which cannot be "
                    "read offline; give DefinitionUri the local file instead"
                ) from None
            text = substitute_definition(path.read_text(), substitutions)
            try:
                definition = json.dumps(parse_definition(text))
            except ValueError as error:
                raise DeploymentError(
                    f"{logical_id}: {path.name} with its substitutions is {error}"
                ) from None
        else:
            if "DefinitionString" in props:
                definition = props["DefinitionString"]
            elif "Definition" in props:
                definition = json.dumps(props["Definition"])
            else:
                raise DeploymentError(
                    f"{logical_id}: no Definition, DefinitionString or DefinitionS3Location"
                )
            definition = substitute_definition(definition, substitutions)
            try:
                json.loads(definition)
            except json.JSONDecodeError as error:
                raise DeploymentError(
                    f"{logical_id}: definition is not valid JSON: {error}"
                ) from error
        arn = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]
        return DeployedResource(
            logical_id, "AWS::StepFunctions::StateMachine", arn, {"Arn": arn, "Name": name}
        )

    # ------------------------------------------------------------------ CloudWatch
    def _create_cloudwatch_alarm(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = self._name(logical_id, props.get("AlarmName"))
        allowed = {
            "AlarmDescription",
            "Namespace",
            "MetricName",
            "Dimensions",
            "Statistic",
            "ExtendedStatistic",
            "Period",
            "EvaluationPeriods",
            "Threshold",
            "ComparisonOperator",
            "TreatMissingData",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "Metrics",
            "DatapointsToAlarm",
            "Unit",
        }
        kwargs = {key: value for key, value in props.items() if key in allowed}
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in kwargs:
                kwargs[key] = int(kwargs[key])
        if "Threshold" in kwargs:
            kwargs["Threshold"] = float(kwargs["Threshold"])
        self.client("cloudwatch").put_metric_alarm(AlarmName=name, **kwargs)
        arn = self._arn("cloudwatch", f"alarm:{name}")
        return DeployedResource(logical_id, "AWS::CloudWatch::Alarm", name, {"Arn": arn})

    def _create_cloudwatch_dashboard(
        self, logical_id: str, props: dict[str, Any]
    ) -> DeployedResource:
        name = self._name(logical_id, props.get("DashboardName"))
        body = props["DashboardBody"]
        try:
            json.loads(body)
        except json.JSONDecodeError as error:
            raise DeploymentError(f"{logical_id}: DashboardBody is not JSON: {error}") from error
        self.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=body)
        return DeployedResource(logical_id, "AWS::CloudWatch::Dashboard", name, {})

    # ------------------------------------------------------------------ KMS
    def _create_kms_alias(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        name = props["AliasName"]
        self.client("kms").create_alias(AliasName=name, TargetKeyId=props["TargetKeyId"])
        return DeployedResource(logical_id, "AWS::KMS::Alias", name, {})

    def _create_kms_key(self, logical_id: str, props: dict[str, Any]) -> DeployedResource:
        kwargs: dict[str, Any] = {"Description": props.get("Description", logical_id)}
        if "KeyPolicy" in props:
            kwargs["Policy"] = json.dumps(props["KeyPolicy"])
        kms = self.client("kms")
        metadata = kms.create_key(**kwargs)["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        return DeployedResource(
            logical_id,
            "AWS::KMS::Key",
            metadata["KeyId"],
            {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]},
        )


def _is_custom(rtype: str) -> bool:
    return rtype == _CUSTOM_RESOURCE or rtype.startswith("Custom::")


def _stream_shard_id(stream_arn: str) -> str:
    """The shard of a table's stream in moto (which has one; its DynamoDB Streams API is
    not served by the mock)."""
    from moto.dynamodb.models import dynamodb_backends

    _, _, service, region, account, resource = stream_arn.split(":", 5)
    if service != "dynamodb":
        raise DeploymentError(f"{stream_arn}: only DynamoDB streams are run locally")
    table = dynamodb_backends[account][region].get_table(resource.split("/")[1])
    if table.stream_shard is None:
        raise DeploymentError(f"{stream_arn}: the table has no stream")
    return str(table.stream_shard.id)
