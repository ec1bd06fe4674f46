"""A REST API built from resources: ``AWS::ApiGateway::Resource``, ``Method`` and friends.

Many templates declare an ``AWS::ApiGateway::RestApi`` without an OpenAPI ``Body`` and build
it from resources instead: a tree of ``Resource`` (``ParentId`` + ``PathPart``, the root
being the API's ``RootResourceId``), a ``Method`` per verb with its ``Integration``,
``Authorizer``, ``RequestValidator``, ``Model`` and ``GatewayResponse`` resources, and a
``Deployment`` with a ``Stage``. :func:`openapi_document` writes what API Gateway would export
for such an API — the OpenAPI 3 document with the ``x-amazon-apigateway-*`` extensions — so
:class:`~aigw.local.apis.api_definition.ApiDefinition` serves it exactly as it serves an API
whose template has the document: the same routing, authorizers, validation, integrations
and gateway responses, and the same refusal, naming the method, of what is not served
locally.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from aigw.local.apis.api_definition import RestApiError

if TYPE_CHECKING:
    from aigw.local.runtime import LocalRuntime

_MODEL_URL = re.compile(r"^https://apigateway\.amazonaws\.com/restapis/[^/]+/models/(?P<name>.+)$")
_PARAMETER_LOCATIONS = {"querystring": "query", "header": "header", "path": "path"}
#: Integration properties and their names in x-amazon-apigateway-integration.
_INTEGRATION_KEYS = {
    "Uri": "uri",
    "IntegrationHttpMethod": "httpMethod",
    "RequestTemplates": "requestTemplates",
    "RequestParameters": "requestParameters",
    "PassthroughBehavior": "passthroughBehavior",
    "TimeoutInMillis": "timeoutInMillis",
    "Credentials": "credentials",
    "ContentHandling": "contentHandling",
    "CacheKeyParameters": "cacheKeyParameters",
    "CacheNamespace": "cacheNamespace",
}


def gateway_responses(runtime: LocalRuntime, api_ref: Any) -> dict[str, Any]:
    """The API's ``AWS::ApiGateway::GatewayResponse`` resources, as the document's
    ``x-amazon-apigateway-gateway-responses``."""
    responses = {}
    for props in _of_api(runtime, "AWS::ApiGateway::GatewayResponse", api_ref).values():
        entry: dict[str, Any] = {}
        if "StatusCode" in props:
            entry["statusCode"] = str(props["StatusCode"])
        if props.get("ResponseParameters"):
            entry["responseParameters"] = props["ResponseParameters"]
        if props.get("ResponseTemplates"):
            entry["responseTemplates"] = props["ResponseTemplates"]
        responses[props["ResponseType"]] = entry
    return responses


def openapi_document(runtime: LocalRuntime, logical_id: str) -> dict[str, Any]:
    """The OpenAPI 3 document of the REST API ``logical_id``, built from its resources."""
    api = runtime.resource(logical_id)
    api_ref, root = api.ref, api.attributes["RootResourceId"]
    assert runtime.template is not None
    props = runtime.resolve(runtime.template.resources[logical_id].properties)
    builder = _Builder(runtime, logical_id, api_ref, root)
    paths: dict[str, dict[str, Any]] = {}
    for method_id, method in sorted(_of_api(runtime, "AWS::ApiGateway::Method", api_ref).items()):
        path = builder.path_of(method_id, method.get("ResourceId"))
        verb = str(method.get("HttpMethod", "")).upper()
        key = "x-amazon-apigateway-any-method" if verb == "ANY" else verb.lower()
        if key in paths.get(path, {}):
            raise RestApiError(f"{method_id}: a second {verb} method on {path}")
        paths.setdefault(path, {})[key] = builder.operation(method_id, path, method)
    if not paths:
        raise RestApiError(
            f"{logical_id} has neither an OpenAPI Body nor AWS::ApiGateway::Method resources"
        )
    document: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": props.get("Name") or logical_id, "version": "1.0"},
        "paths": paths,
        "components": {"schemas": builder.schemas, "securitySchemes": builder.schemes},
    }
    if builder.validators:
        document["x-amazon-apigateway-request-validators"] = builder.validators
    if props.get("ApiKeySourceType"):
        document["x-amazon-apigateway-api-key-source"] = props["ApiKeySourceType"]
    return document


def _of_api(runtime: LocalRuntime, rtype: str, api_ref: Any) -> dict[str, dict[str, Any]]:
    """The resolved properties of the template's ``rtype`` resources that belong to the API."""
    assert runtime.template is not None
    found = {}
    for logical_id, resource in runtime.template.resources.items():
        if resource.type == rtype:
            props = runtime.resolve(resource.properties)
            if props.get("RestApiId") == api_ref:
                found[logical_id] = props
    return found


class _Builder:
    def __init__(self, runtime: LocalRuntime, api_id: str, api_ref: Any, root: str) -> None:
        self.runtime, self.api_id, self.root = runtime, api_id, root
        self.tree = {
            runtime.physical_id(lid): (lid, props)
            for lid, props in _of_api(runtime, "AWS::ApiGateway::Resource", api_ref).items()
        }
        self.authorizers = {
            runtime.physical_id(lid): (lid, props)
            for lid, props in _of_api(runtime, "AWS::ApiGateway::Authorizer", api_ref).items()
        }
        self.request_validators = {
            runtime.physical_id(lid): props
            for lid, props in _of_api(runtime, "AWS::ApiGateway::RequestValidator", api_ref).items()
        }
        self.models: dict[str, dict[str, Any]] = {}
        for lid, props in _of_api(runtime, "AWS::ApiGateway::Model", api_ref).items():
            self.models[props.get("Name") or lid] = props
        self.schemas: dict[str, Any] = {}
        self.schemes: dict[str, Any] = {}
        self.validators: dict[str, Any] = {}

    def path_of(self, where: str, resource_id: Any, seen: tuple[Any, ...] = ()) -> str:
        if resource_id == self.root:
            return "/"
        if resource_id not in self.tree:
            raise RestApiError(
                f"{where}: {resource_id!r} is neither {self.api_id}'s RootResourceId nor one "
                f"of its AWS::ApiGateway::Resource"
            )
        if resource_id in seen:
            raise RestApiError(f"{where}: the resources' ParentId form a cycle")
        logical_id, props = self.tree[resource_id]
        parent = self.path_of(logical_id, props.get("ParentId"), (*seen, resource_id))
        return f"{parent.rstrip('/')}/{props['PathPart']}"

    def operation(self, where: str, path: str, method: dict[str, Any]) -> dict[str, Any]:
        integration = method.get("Integration") or {}
        if not integration.get("Type"):
            raise RestApiError(f"{where}: {path} has no Integration")
        extension: dict[str, Any] = {"type": str(integration["Type"]).lower()}
        for key, name in _INTEGRATION_KEYS.items():
            if key in integration:
                extension[name] = integration[key]
        responses = {}
        for response in integration.get("IntegrationResponses") or []:
            entry: dict[str, Any] = {"statusCode": str(response.get("StatusCode", "200"))}
            for key, name in (
                ("ResponseTemplates", "responseTemplates"),
                ("ResponseParameters", "responseParameters"),
            ):
                if response.get(key):
                    entry[name] = response[key]
            pattern = response.get("SelectionPattern")
            if pattern:
                entry["selectionPattern"] = pattern
            responses[pattern or "default"] = entry
        if responses:
            extension["responses"] = responses
        operation: dict[str, Any] = {
            "x-amazon-apigateway-integration": extension,
            "responses": {
                str(response.get("StatusCode")): {"description": ""}
                for response in method.get("MethodResponses") or []
            }
            or {"200": {"description": ""}},
        }
        parameters = [
            {
                "in": _PARAMETER_LOCATIONS[location],
                "name": name,
                "required": required in (True, "true"),
                "schema": {"type": "string"},
            }
            for expression, required in (method.get("RequestParameters") or {}).items()
            for location, name in [_parameter(where, expression)]
        ]
        if parameters:
            operation["parameters"] = parameters
        models = method.get("RequestModels") or {}
        if models:
            operation["requestBody"] = {
                "content": {
                    media: {"schema": {"$ref": f"#/components/schemas/{self._model(where, name)}"}}
                    for media, name in models.items()
                }
            }
        validator_id = method.get("RequestValidatorId")
        if validator_id is not None:
            operation["x-amazon-apigateway-request-validator"] = self._validator(
                where, validator_id
            )
        security = self._security(where, method)
        if security:
            operation["security"] = security
        return operation

    def _model(self, where: str, name: str) -> str:
        model = self.models.get(name)
        if model is None:
            raise RestApiError(f"{where}: RequestModels names {name!r}, which is no model")
        if name not in self.schemas:
            schema = model.get("Schema") or {}
            if isinstance(schema, str):
                try:
                    schema = json.loads(schema)
                except ValueError as error:
                    raise RestApiError(f"model {name}: Schema is not JSON: {error}") from None
            self.schemas[name] = {}  # placeholder against cycles
            self.schemas[name] = self._local_refs(where, schema)
        return name

    def _local_refs(self, where: str, node: Any) -> Any:
        """Model references by URL (``https://apigateway.amazonaws.com/restapis/…/models/X``)
        as references to the document's schemas."""
        if isinstance(node, list):
            return [self._local_refs(where, item) for item in node]
        if not isinstance(node, dict):
            return node
        converted = {key: self._local_refs(where, value) for key, value in node.items()}
        reference = node.get("$ref")
        if isinstance(reference, str) and (match := _MODEL_URL.match(reference)):
            converted["$ref"] = f"#/components/schemas/{self._model(where, match['name'])}"
        return converted

    def _validator(self, where: str, validator_id: Any) -> str:
        props = self.request_validators.get(validator_id)
        if props is None:
            raise RestApiError(f"{where}: RequestValidatorId {validator_id!r} is no validator")
        name = props.get("Name") or str(validator_id)
        self.validators[name] = {
            "validateRequestBody": props.get("ValidateRequestBody") in (True, "true"),
            "validateRequestParameters": props.get("ValidateRequestParameters") in (True, "true"),
        }
        return name

    def _security(self, where: str, method: dict[str, Any]) -> list[dict[str, list[str]]]:
        security = []
        kind = str(method.get("AuthorizationType") or "NONE").upper()
        if kind in ("CUSTOM", "COGNITO_USER_POOLS"):
            found = self.authorizers.get(method.get("AuthorizerId"))
            if found is None:
                raise RestApiError(f"{where}: AuthorizerId names no AWS::ApiGateway::Authorizer")
            logical_id, props = found
            name = props.get("Name") or logical_id
            config: dict[str, Any] = {"type": str(props.get("Type", "")).lower()}
            for key, field in (
                ("AuthorizerUri", "authorizerUri"),
                ("IdentitySource", "identitySource"),
                ("AuthorizerResultTtlInSeconds", "authorizerResultTtlInSeconds"),
                ("IdentityValidationExpression", "identityValidationExpression"),
                ("ProviderARNs", "providerARNs"),
            ):
                if key in props:
                    config[field] = props[key]
            self.schemes[name] = {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "custom"
                if kind == "CUSTOM"
                else "cognito_user_pools",
                "x-amazon-apigateway-authorizer": config,
            }
            security.append({name: []})
        elif kind == "AWS_IAM":
            self.schemes["sigv4"] = {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "awsSigv4",
            }
            security.append({"sigv4": []})
        elif kind != "NONE":
            raise RestApiError(f"{where}: AuthorizationType {kind!r} is not one API Gateway has")
        if method.get("ApiKeyRequired") in (True, "true"):
            self.schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
            security.append({"api_key": []})
        return security


def _parameter(where: str, expression: str) -> tuple[str, str]:
    """``method.request.querystring.page`` -> ("querystring", "page")."""
    prefix, _, rest = expression.partition("method.request.")
    location, _, name = rest.partition(".")
    if prefix or location not in _PARAMETER_LOCATIONS or not name:
        raise RestApiError(f"{where}: request parameter {expression!r} is not method.request.…")
    return location, name
