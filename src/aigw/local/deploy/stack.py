"""The deployed template as a CloudFormation stack, for programs that find an app through
CloudFormation: the integration tests ``sam init`` writes call ``DescribeStacks`` for the
stack's ``Outputs`` (the API's URL) and ``ListStackResources`` for physical ids (a state
machine's ARN, a table's name), with the stack name from ``AWS_SAM_STACK_NAME``.

The runtime deploys through each service's API (``deploy/deployer.py``), not through moto's
CloudFormation, so moto knows no stack. After the deployment, :class:`DeployedStack` is put
in moto's CloudFormation backend: a moto ``Stack`` that describes what was deployed
(``CREATE_COMPLETE``, the parameters, each resource with the physical id ``Ref`` returns,
the outputs resolved by the runtime's own intrinsics) and never creates anything itself.
moto's CloudFormation responses then answer for it, in-process and on the served endpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack, cloudformation_backends
from moto.cloudformation.parsing import Export
from moto.core.utils import utcnow

from aigw.local.deploy.deployer import DeployedResource
from aigw.local.deploy.template import CfnTemplate, Lookup, TemplateError, cfn_text

#: The URL of an API as a template builds it (``https://${Api}.execute-api.${AWS::Region}.
#: ${AWS::URLSuffix}``, an HTTP or WebSocket API's ``ApiEndpoint``): scheme and host.
EXECUTE_API_URL = re.compile(
    r"(?:https|wss)://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com"
)


@dataclass(frozen=True)
class StackOutput:
    key: str
    value: str
    description: str | None = None
    export_name: str | None = None


def resolve_outputs(
    template: CfnTemplate, lookup: Lookup
) -> tuple[list[StackOutput], list[tuple[str, str]]]:
    """The template's ``Outputs`` resolved against the deployed resources, those whose
    ``Condition`` is false left out (as CloudFormation does); and, for each output that
    cannot be resolved locally, its key and why."""
    outputs: list[StackOutput] = []
    problems: list[tuple[str, str]] = []
    for key, spec in template.outputs.items():
        if not isinstance(spec, dict):
            problems.append((key, "not an output declaration"))
            continue
        condition = spec.get("Condition")
        if condition is not None and not template.conditions.get(condition, False):
            if condition not in template.conditions:
                problems.append((key, f"unknown condition {condition!r}"))
            continue
        try:
            value = template.resolve(spec.get("Value"), lookup)
            export = spec.get("Export")
            export_name = (
                template.resolve(export.get("Name"), lookup) if isinstance(export, dict) else None
            )
        except TemplateError as error:
            problems.append((key, str(error)))
            continue
        description = spec.get("Description")
        outputs.append(
            StackOutput(
                key,
                _output_text(value),
                None if description is None else cfn_text(description),
                None if export_name is None else cfn_text(export_name),
            )
        )
    return outputs, problems


def _output_text(value: Any) -> str:
    """An output's value as CloudFormation shows it: a list comma-delimited."""
    if isinstance(value, list):
        return ",".join(cfn_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return "" if value is None else cfn_text(value)


def served(value: str, api_urls: Mapping[str, str]) -> str:
    """``value`` with the scheme and host of each API served locally (by API id) replaced
    by where it is served: ``https://<id>.execute-api.<region>.amazonaws.com/Prod/hello/``
    becomes ``http://127.0.0.1:3000/Prod/hello/``. Other APIs' URLs are left as they are."""
    if not api_urls:
        return value
    return EXECUTE_API_URL.sub(lambda match: api_urls.get(match["api"], match[0]), value)


class _StackResource:
    """What moto's ListStackResources / DescribeStackResource(s) read from a resource."""

    def __init__(self, resource: DeployedResource) -> None:
        self.logical_resource_id = resource.logical_id
        self.physical_resource_id = cfn_text(resource.ref)
        self.cf_resource_type = resource.type


class DeployedStack(Stack):
    """The runtime's deployment, described as a CloudFormation stack in moto's backend."""

    def __init__(
        self,
        template: CfnTemplate,
        resources: Mapping[str, DeployedResource],
        outputs: list[StackOutput],
        *,
        template_body: str,
    ) -> None:
        # Not Stack.__init__: it builds moto's ResourceMap, which parses the template and
        # creates every resource through moto's CloudFormation. Here everything already
        # exists; these are the attributes moto's backend and responses read.
        self.stack_id = template.stack_id
        self.name = template.stack_name
        self.account_id = template.account_id
        self.region_name = template.region
        self.template = template_body  # GetTemplate answers the template as written
        self.template_dict: dict[str, Any] = {}
        self.description = template.description
        self.parameters = {
            name: (
                "****"
                if str(template.parameter_specs.get(name, {}).get("NoEcho")).lower() == "true"
                else _output_text(value)
            )
            for name, value in template.parameters.items()
        }
        self.notification_arns: list[str] = []
        self.role_arn = None
        self.tags: dict[str, str] = {}
        self.events = []
        self.timeout_in_minutes = None
        self.policy = ""
        self.cross_stack_resources: dict[str, Export] = {}
        self.enable_termination_protection = False
        self.custom_resources = {}
        self.creation_time = utcnow()
        self.disable_rollback = False
        self._resources = [_StackResource(resource) for resource in resources.values()]
        self._outputs = list(outputs)
        self._api_urls: dict[str, str] = {}
        self.status = "CREATE_IN_PROGRESS"
        self._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        self.status = "CREATE_COMPLETE"
        self._add_stack_event("CREATE_COMPLETE")

    # ------------------------------------------------------------------ what moto reads
    @property
    def stack_name(self) -> str:
        return self.name

    @property
    def stack_status(self) -> str:  # StackSummary's StackStatus (ListStacks)
        return self.status

    @property
    def parameter_list(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()]

    @property
    def stack_parameters(self) -> dict[str, Any]:  # type: ignore[override]
        return dict(self.parameters)

    @property
    def stack_resources(self) -> list[Any]:  # type: ignore[override]
        return list(self._resources)

    @property
    def template_description(self) -> str | None:
        return self.description

    @property
    def outputs(self) -> list[dict[str, Any]] | None:
        described = [
            {
                "OutputKey": output.key,
                "OutputValue": served(output.value, self._api_urls),
                "Description": output.description,
                "ExportName": output.export_name,
            }
            for output in self._outputs
        ]
        return described or None

    @property
    def exports(self) -> list[Export]:
        return [
            Export(self.stack_id, output.export_name, output.value)
            for output in self._outputs
            if output.export_name
        ]

    # ------------------------------------------------------------------ the runtime's
    def output_values(self) -> dict[str, str]:
        """OutputKey -> OutputValue, as DescribeStacks answers them."""
        return {o["OutputKey"]: o["OutputValue"] for o in self.outputs or []}

    def serve_api_urls(self, api_urls: Mapping[str, str]) -> None:
        """From now on, outputs name each API in ``api_urls`` (API id -> base URL) where it
        is served; an empty mapping goes back to the URLs the template builds."""
        self._api_urls = dict(api_urls)

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise ValidationError(
            self.name,
            message=f"Stack {self.name} is the local runtime's deployment of its template: "
            "change the template and restart the runtime instead",
        )

    def delete(self) -> None:
        # Only the record goes: the runtime keeps running what it deployed until it stops.
        self._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
        self._add_stack_event("DELETE_COMPLETE")
        self.status = "DELETE_COMPLETE"


def backend(account_id: str, region: str) -> CloudFormationBackend:
    return cloudformation_backends[account_id][region]


def record(stack: DeployedStack) -> None:
    """Put ``stack`` (and its exports, for ListExports) in moto's CloudFormation backend."""
    cloudformation = backend(stack.account_id, stack.region_name)
    cloudformation.stacks[stack.stack_id] = stack
    for export in stack.exports:
        cloudformation.exports[export.name] = export


def forget(stack: DeployedStack) -> None:
    """Take ``stack`` out of the backend again (reverses :func:`record`)."""
    cloudformation = backend(stack.account_id, stack.region_name)
    if cloudformation.stacks.get(stack.stack_id) is stack:
        del cloudformation.stacks[stack.stack_id]
    for export in stack.exports:
        existing = cloudformation.exports.get(export.name)
        if existing is not None and existing.exporting_stack_id == stack.stack_id:
            del cloudformation.exports[export.name]
