"""What API Gateway builds from a template's REST API: resources, methods, stages, usage plans.

The SAM transform turns an ``AWS::Serverless::Api`` with ``DefinitionBody`` into an
``AWS::ApiGateway::RestApi`` whose ``Body`` is the OpenAPI document (intrinsics still inside),
an ``AWS::ApiGateway::Deployment`` and an ``AWS::ApiGateway::Stage`` (``StageName``,
``Variables``, ``MethodSettings``); usage plans are ``AWS::ApiGateway::UsagePlan`` resources
whose ``ApiStages`` name the API and stage. :meth:`ApiDefinition.from_runtime` reads exactly
those, resolved against the deployed stack, so the routes served locally are the template's.

Like an import into API Gateway, the document is checked up front: an integration, authorizer
or security scheme that cannot be served locally is an error naming the operation, not a
surprise at the first request. Document-level ``security`` is ignored, as API Gateway
ignores it (a warning says so): security belongs on each operation.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import SchemaError

from aigw.local.apis.service_integration import IntegrationError, ServiceAction, service_action

if TYPE_CHECKING:
    from aigw.local.runtime import LocalRuntime

LOG = logging.getLogger("aigw.local.api")

#: The account-level limits that apply where a stage or plan leaves one out.
ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT = 10000.0, 5000.0
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}
_ANY_METHOD = "x-amazon-apigateway-any-method"
_VALIDATOR = "x-amazon-apigateway-request-validator"
_LAMBDA_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$")
_IDENTITY_SOURCES = (
    "method.request.header.",
    "method.request.querystring.",
    "stageVariables.",
    "context.",
)
_PARAMETER_SOURCES = {"header": "header", "query": "querystring", "path": "path"}


class RestApiError(Exception):
    """The template's API cannot be served locally; the message says what and where."""


@dataclass
class UsagePlan:
    logical_id: str
    throttle: tuple[float, float] | None  # (rate, burst)


@dataclass
class StageConfig:
    name: str
    variables: dict[str, str] = field(default_factory=dict)
    method_settings: list[dict[str, Any]] = field(default_factory=list)
    usage_plan: UsagePlan | None = None

    def method_throttle(self, resource: str, method: str) -> tuple[float, float] | None:
        """(rate, burst) for one method: its own MethodSettings entry, else the ``/*`` one."""
        default = specific = None
        for setting in self.method_settings:
            path, verb = setting.get("ResourcePath", "/*"), setting.get("HttpMethod", "*")
            if path == "/*" and verb == "*":
                default = setting
            elif path[1:].replace("~1", "/") == resource and verb in (method, "*"):
                specific = setting
        setting = specific or default
        if not setting or not {"ThrottlingRateLimit", "ThrottlingBurstLimit"} & setting.keys():
            return None
        return (
            float(setting.get("ThrottlingRateLimit", ACCOUNT_RATE_LIMIT)),
            float(setting.get("ThrottlingBurstLimit", ACCOUNT_BURST_LIMIT)),
        )


@dataclass
class Authorizer:
    name: str
    function_arn: str
    identity_sources: list[str]  # method.request.header.x-api-key, …
    ttl: int


@dataclass
class Operation:
    integration: dict[str, Any]
    function_arn: str | None  # None for a mock integration
    authorizer: Authorizer | None
    api_key_required: bool
    validate_parameters: bool
    required_parameters: list[tuple[str, str]]  # (name, method.request.… expression)
    validate_body: bool
    body_required: bool
    body_schemas: dict[str, Draft4Validator]  # by media type
    service_action: ServiceAction | None = None  # an AWS service integration (type aws)


@dataclass
class Route:
    resource: str  # the OpenAPI path, "/jobs/{job_id}"
    segments: list[str]
    operations: dict[str, Operation]  # by upper-case method, or ANY

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The path parameters when ``parts`` (the path's segments) fit this resource."""
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if index >= len(parts):
                return None
            if segment.endswith("+}"):
                params[segment[1:-2]] = "/".join(parts[index:])
                return params
            if segment.startswith("{"):
                params[segment[1:-1]] = parts[index]
            elif segment != parts[index]:
                return None
        return params if len(parts) == len(self.segments) else None

    def specificity(self) -> tuple[int, ...]:
        """Lower is preferred: static segments beat ``{param}``, which beats ``{proxy+}``."""
        return tuple(
            2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments
        )


class ApiDefinition:
    """A REST API's OpenAPI document (resolved) and stages, checked and compiled."""

    def __init__(
        self,
        document: dict[str, Any],
        stages: list[StageConfig],
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        api_id: str = "local00000",
    ) -> None:
        # Swagger 2.0 is what the SAM transform writes for an implicit API (Events: Api).
        self.swagger = str(document.get("swagger", "")) == "2.0"
        if not (self.swagger or str(document.get("openapi", "")).startswith("3.")):
            raise RestApiError("only OpenAPI 3 and Swagger 2.0 definitions are served locally")
        self.document = document
        self.stages = {stage.name: stage for stage in stages}
        self.region, self.account_id, self.api_id = region, account_id, api_id
        self.api_key_source = str(
            document.get("x-amazon-apigateway-api-key-source", "HEADER")
        ).upper()
        self.gateway_responses: dict[str, Any] = (
            document.get("x-amazon-apigateway-gateway-responses") or {}
        )
        if document.get("security"):
            LOG.warning(
                "document-level security is ignored, as API Gateway ignores it: "
                "give each operation its own security"
            )
        # Swagger's #/definitions/X refs resolve against the root, as components do in 3.0.
        self._components = _json_schema(document.get("components") or {})
        self._definitions = _json_schema(document.get("definitions") or {})
        self._authorizers: dict[str, Authorizer] = {}
        self.routes = [self._route(path, item) for path, item in document["paths"].items()]

    @classmethod
    def from_runtime(cls, runtime: LocalRuntime, logical_id: str | None = None) -> ApiDefinition:
        """The runtime template's REST API (the only one, or ``logical_id``)."""
        template = runtime.template
        if template is None:
            raise RuntimeError("the runtime is not started")
        apis = _of_type(runtime, "AWS::ApiGateway::RestApi")
        if logical_id is None:
            if len(apis) != 1:
                raise RestApiError(f"the template has {len(apis)} REST APIs {apis}: name one")
            logical_id = apis[0]
        elif logical_id not in apis:
            raise RestApiError(f"{logical_id} is not an AWS::ApiGateway::RestApi: {apis}")
        from aigw.local.apis import rest_resources

        properties = template.resources[logical_id].properties
        if "Body" in properties:
            document = runtime.resolve(properties["Body"])
        else:  # built from AWS::ApiGateway::Resource and Method resources
            document = rest_resources.openapi_document(runtime, logical_id)
        # GatewayResponse resources override the document's, as a later deployment would.
        responses = rest_resources.gateway_responses(runtime, runtime.physical_id(logical_id))
        if responses:
            document["x-amazon-apigateway-gateway-responses"] = {
                **(document.get("x-amazon-apigateway-gateway-responses") or {}),
                **responses,
            }
        stages = _stage_configs(runtime, runtime.physical_id(logical_id))
        if not stages:
            raise RestApiError(
                f"{logical_id} has no AWS::ApiGateway::Stage nor a Deployment with a StageName"
            )
        return cls(
            document,
            stages,
            region=template.region,
            account_id=template.account_id,
            api_id=runtime.physical_id(logical_id),
        )

    def _route(self, path: str, item: dict[str, Any]) -> Route:
        shared = item.get("parameters") or []
        operations = {}
        for key, spec in item.items():
            if key in _METHODS or key == _ANY_METHOD:
                method = "ANY" if key == _ANY_METHOD else key.upper()
                operations[method] = self._operation(f"{method} {path}", spec, shared)
        return Route(path, [segment for segment in path.split("/") if segment], operations)

    def _operation(self, where: str, spec: dict[str, Any], shared: list[Any]) -> Operation:
        integration = spec.get("x-amazon-apigateway-integration")
        if not integration:
            raise RestApiError(f"{where}: no x-amazon-apigateway-integration")
        kind = str(integration.get("type", "")).lower()
        if kind not in ("aws_proxy", "mock", "aws"):
            raise RestApiError(f"{where}: {kind!r} integrations are not served locally")
        function_arn = _function_arn(integration.get("uri"), where) if kind == "aws_proxy" else None
        action = None
        if kind == "aws":
            try:
                action = service_action(integration.get("uri"), where)
            except IntegrationError as error:
                raise RestApiError(str(error)) from None
        parameters = {}
        for parameter in map(self._deref, [*shared, *(spec.get("parameters") or [])]):
            parameters[parameter["in"], parameter["name"]] = parameter  # the operation's wins
        validators = self.document.get("x-amazon-apigateway-request-validators") or {}
        validator_name = spec.get(_VALIDATOR, self.document.get(_VALIDATOR))
        if validator_name is not None and validator_name not in validators:
            raise RestApiError(f"{where}: no request validator named {validator_name!r}")
        validator = validators.get(validator_name) or {}
        body = self._deref(spec.get("requestBody") or {})
        if self.swagger:  # a body parameter instead of a requestBody
            body_keys = [key for key in parameters if key[0] == "body"]
            body_parameter = parameters.pop(body_keys[0]) if body_keys else None
            if body_parameter is not None:
                media = (
                    spec.get("consumes") or self.document.get("consumes") or ["application/json"]
                )
                body = {
                    "required": body_parameter.get("required", False),
                    "content": {m: {"schema": body_parameter.get("schema", {})} for m in media},
                }
        authorizer, api_key_required = self._security(where, spec.get("security") or [])
        return Operation(
            integration=integration,
            function_arn=function_arn,
            authorizer=authorizer,
            api_key_required=api_key_required,
            validate_parameters=bool(validator.get("validateRequestParameters")),
            required_parameters=[
                (name, f"method.request.{_PARAMETER_SOURCES[location]}.{name}")
                for (location, name), parameter in parameters.items()
                if parameter.get("required") and location in _PARAMETER_SOURCES
            ],
            validate_body=bool(validator.get("validateRequestBody")),
            body_required=bool(body.get("required")),
            body_schemas={
                media.lower(): self._schema_validator(where, content["schema"])
                for media, content in (body.get("content") or {}).items()
                if "schema" in content
            },
            service_action=action,
        )

    def _security(
        self, where: str, requirements: list[dict[str, Any]]
    ) -> tuple[Authorizer | None, bool]:
        schemes = (
            (self.document.get("components") or {}).get("securitySchemes")
            or self.document.get("securityDefinitions")
            or {}
        )
        authorizer, api_key_required = None, False
        for name in (name for requirement in requirements for name in requirement):
            scheme = schemes.get(name)
            if scheme is None:
                raise RestApiError(f"{where}: security scheme {name!r} is not defined")
            if "x-amazon-apigateway-authorizer" in scheme:
                authorizer = self._authorizer(where, name, scheme)
            elif scheme.get("type") == "apiKey" and "x-amazon-apigateway-authtype" not in scheme:
                api_key_required = True  # API Gateway's API key (and usage plan) requirement
            else:
                raise RestApiError(f"{where}: security scheme {name!r} is not served locally")
        return authorizer, api_key_required

    def _authorizer(self, where: str, name: str, scheme: dict[str, Any]) -> Authorizer:
        if name not in self._authorizers:
            config = scheme["x-amazon-apigateway-authorizer"]
            if str(config.get("type", "")).lower() != "request":
                raise RestApiError(f"{where}: authorizer {name} is not a REQUEST authorizer")
            sources = [s.strip() for s in config.get("identitySource", "").split(",") if s.strip()]
            if unknown := [s for s in sources if not s.startswith(_IDENTITY_SOURCES)]:
                raise RestApiError(f"{where}: authorizer {name}: identity sources {unknown}")
            self._authorizers[name] = Authorizer(
                name,
                _function_arn(config.get("authorizerUri"), f"authorizer {name}"),
                sources,
                int(config.get("authorizerResultTtlInSeconds", 300)),
            )
        return self._authorizers[name]

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _schema_validator(self, where: str, schema: dict[str, Any]) -> Draft4Validator:
        # The converted components ride along in the root, so "#/components/..." refs resolve.
        root = {
            **_json_schema(schema),
            "components": self._components,
            "definitions": self._definitions,
        }
        try:
            Draft4Validator.check_schema(root)
        except SchemaError as error:
            raise RestApiError(f"{where}: invalid request body schema: {error.message}") from None
        return Draft4Validator(root)


def _of_type(runtime: LocalRuntime, rtype: str) -> list[str]:
    assert runtime.template is not None
    return [lid for lid, res in runtime.template.resources.items() if res.type == rtype]


def _stage_configs(runtime: LocalRuntime, api_ref: Any) -> list[StageConfig]:
    """The API's stages, each with the usage plan whose ``ApiStages`` name it."""
    assert runtime.template is not None
    resources = runtime.template.resources
    plans = {
        lid: runtime.resolve(resources[lid].properties)
        for lid in _of_type(runtime, "AWS::ApiGateway::UsagePlan")
    }
    stages = []
    stage_props = [
        runtime.resolve(resources[stage_id].properties)
        for stage_id in _of_type(runtime, "AWS::ApiGateway::Stage")
    ]
    # A Deployment with a StageName creates that stage (StageDescription: its settings);
    # served when the API has no Stage resource, so the SAM transform's extra "Stage"
    # stage is not (docs/local-runtime.md, differences).
    has_stage = any(props.get("RestApiId") == api_ref for props in stage_props)
    for deployment_id in _of_type(runtime, "AWS::ApiGateway::Deployment"):
        props = runtime.resolve(resources[deployment_id].properties)
        if props.get("StageName") and props.get("RestApiId") == api_ref and not has_stage:
            described = props.get("StageDescription") or {}
            stage_props.append(
                {
                    "RestApiId": props.get("RestApiId"),
                    "StageName": props["StageName"],
                    "Variables": described.get("Variables"),
                    "MethodSettings": described.get("MethodSettings"),
                }
            )
    for props in stage_props:
        if props.get("RestApiId") != api_ref:
            continue
        names = (props["StageName"],)
        in_plans = [
            plan_id
            for plan_id, plan in plans.items()
            for api_stage in plan.get("ApiStages") or []
            if api_stage.get("ApiId") == api_ref and api_stage.get("Stage") in names
        ]
        if len(in_plans) > 1:
            raise RestApiError(
                f"stage {props['StageName']} is in several usage plans {in_plans}: without API "
                "key resources a key's plan is unknown locally, so one plan per stage is served"
            )
        usage_plan = None
        if in_plans:
            throttle = plans[in_plans[0]].get("Throttle")
            limits = None
            if throttle:
                limits = (
                    float(throttle.get("RateLimit", ACCOUNT_RATE_LIMIT)),
                    float(throttle.get("BurstLimit", ACCOUNT_BURST_LIMIT)),
                )
            usage_plan = UsagePlan(in_plans[0], limits)
        stages.append(
            StageConfig(
                props["StageName"],
                {key: str(value) for key, value in (props.get("Variables") or {}).items()},
                props.get("MethodSettings") or [],
                usage_plan,
            )
        )
    return stages


def _function_arn(uri: Any, where: str) -> str:
    match = _LAMBDA_URI.search(uri) if isinstance(uri, str) else None
    if match is None:
        raise RestApiError(f"{where}: {uri!r} is not a Lambda function invocation URI")
    return match.group("arn")


def _json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema draft 4 (API Gateway's models): ``nullable``."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _json_schema(value)
        for key, value in node.items()
        if not (key == "nullable" and isinstance(value, bool))
    }
    if node.get("nullable") is True:
        if "type" in converted:
            types = (
                converted["type"] if isinstance(converted["type"], list) else [converted["type"]]
            )
            converted["type"] = [*types, "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    return converted
