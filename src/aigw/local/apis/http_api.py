"""HTTP APIs (API Gateway v2, ``ProtocolType: HTTP``) emulated from the template.

Routes come from the API's OpenAPI ``Body`` (what SAM writes for ``AWS::Serverless::HttpApi``
and ``Events: HttpApi``) or from ``AWS::ApiGatewayV2::Route`` and ``Integration``
resources. A request is matched as API Gateway documents: the most specific route first
(static segments, then ``{param}``, then ``{proxy+}``), else ``$default``, else 404
``{"message":"Not Found"}``. The ``$default`` stage serves from the root; another stage
from ``/<stage>``.

Integrations: Lambda proxy with the 2.0 payload format (``version``, ``routeKey``,
``rawPath``, ``cookies``, lower-case ``headers``, ``requestContext.http``) or 1.0, whose
answer is read as the format says (2.0: a JSON value without ``statusCode`` is the 200
body); and the Step Functions first-class integrations (``IntegrationSubtype``
``StepFunctions-StartExecution``, ``-StartSyncExecution``, ``-StopExecution``) with
``RequestParameters`` taken from ``$request.body``, ``$request.header.x``, … A failing
function is 500 ``{"message":"Internal Server Error"}``. Not emulated: authorizers (JWT,
Lambda), CORS configuration, throttling, other integration subtypes (refused at start).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import Headers

from aigw.local.apis.rest_api import Request, Response
from aigw.local.lambdas.bridge import FunctionThrottledError, InvocationResult, RequestTooLargeError

if TYPE_CHECKING:
    from aigw.local.runtime import LocalRuntime

_LAMBDA_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$")
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch"}
_SUBTYPES = {
    "StepFunctions-StartExecution": "start_execution",
    "StepFunctions-StartSyncExecution": "start_sync_execution",
    "StepFunctions-StopExecution": "stop_execution",
}


class HttpApiError(ValueError):
    """The template's HTTP API cannot be served locally; the message says where."""


@dataclass
class _Integration:
    function_arn: str | None = None
    payload_version: str = "2.0"
    subtype: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class _Route:
    key: str  # "GET /items/{id}", "ANY /{proxy+}", "$default"
    method: str
    segments: list[str]
    integration: _Integration

    def match(self, method: str, parts: list[str]) -> dict[str, str] | None:
        if self.key == "$default" or self.method not in ("ANY", method):
            return None
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.endswith("+}"):
                if index >= len(parts):
                    return None
                params[segment[1:-2]] = "/".join(parts[index:])
                return params
            if index >= len(parts):
                return None
            if segment.startswith("{"):
                params[segment[1:-1]] = parts[index]
            elif segment != parts[index]:
                return None
        return params if len(parts) == len(self.segments) else None

    def specificity(self) -> tuple[int, ...]:
        ranks = [2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self.segments]
        return (*ranks, 0 if self.method != "ANY" else 1)


@dataclass
class HttpApiDefinition:
    api_id: str
    stages: list[str]
    routes: list[_Route]
    region: str
    account_id: str


def _integration(spec: dict[str, Any], where: str) -> _Integration:
    kind = str(spec.get("type") or spec.get("IntegrationType") or "").lower()
    subtype = spec.get("integrationSubtype") or spec.get("IntegrationSubtype")
    if subtype:
        if subtype not in _SUBTYPES:
            raise HttpApiError(f"{where}: integration subtype {subtype} is not served locally")
        parameters = spec.get("requestParameters") or spec.get("RequestParameters") or {}
        return _Integration(subtype=subtype, parameters=dict(parameters))
    if kind != "aws_proxy":
        raise HttpApiError(f"{where}: {kind or 'no'} integration is not served locally")
    uri = spec.get("uri") or spec.get("IntegrationUri")
    match = _LAMBDA_URI.search(uri) if isinstance(uri, str) else None
    arn = match.group("arn") if match else uri
    if not isinstance(arn, str) or ":function:" not in arn:
        raise HttpApiError(f"{where}: {uri!r} is not a Lambda function")
    version = str(spec.get("payloadFormatVersion") or spec.get("PayloadFormatVersion") or "2.0")
    return _Integration(function_arn=arn, payload_version=version)


def _route(key: str, integration: _Integration) -> _Route:
    if key == "$default":
        return _Route(key, "ANY", [], integration)
    method, _, path = key.partition(" ")
    return _Route(key, method.upper(), [s for s in path.split("/") if s], integration)


def definition_from_runtime(runtime: LocalRuntime, logical_id: str) -> HttpApiDefinition:
    assert runtime.template is not None
    template = runtime.template
    api_ref = runtime.physical_id(logical_id)
    properties = runtime.resolve(template.resources[logical_id].properties)
    routes: list[_Route] = []
    for path, item in ((properties.get("Body") or {}).get("paths") or {}).items():
        for method, spec in item.items():
            if method not in _METHODS and method != "x-amazon-apigateway-any-method":
                continue
            verb = "ANY" if method.startswith("x-") else method.upper()
            key = "$default" if path == "$default" else f"{verb} {path}"
            integration = spec.get("x-amazon-apigateway-integration") or {}
            routes.append(_route(key, _integration(integration, f"{logical_id} {key}")))
    of_api: dict[str, dict[str, dict[str, Any]]] = {}
    for lid, resource in template.resources.items():
        if resource.type.startswith("AWS::ApiGatewayV2::"):
            props = runtime.resolve(resource.properties)
            if props.get("ApiId") == api_ref:
                of_api.setdefault(resource.type, {})[str(runtime.physical_id(lid))] = props
    integrations = of_api.get("AWS::ApiGatewayV2::Integration", {})
    for props in of_api.get("AWS::ApiGatewayV2::Route", {}).values():
        target = str(props.get("Target", "")).removeprefix("integrations/")
        if target not in integrations:
            raise HttpApiError(f"{logical_id} {props['RouteKey']}: no integration {target!r}")
        where = f"{logical_id} {props['RouteKey']}"
        routes.append(_route(props["RouteKey"], _integration(integrations[target], where)))
    stages = [str(p.get("StageName")) for p in of_api.get("AWS::ApiGatewayV2::Stage", {}).values()]
    return HttpApiDefinition(
        api_ref, stages or ["$default"], routes, template.region, template.account_id
    )


class HttpApi:
    """One HTTP API answering requests (thread-safe)."""

    def __init__(
        self,
        definition: HttpApiDefinition,
        invoke: Callable[[str, Any], InvocationResult],
        call: Callable[[str, str, dict[str, Any]], Any],
    ) -> None:
        self.definition = definition
        self.invoke = invoke
        self.call = call

    @classmethod
    def from_runtime(cls, runtime: LocalRuntime, logical_id: str) -> HttpApi:
        def call(service: str, operation: str, parameters: dict[str, Any]) -> Any:
            return getattr(runtime.client(service), operation)(**parameters)

        return cls(definition_from_runtime(runtime, logical_id), runtime.bridge.invoke, call)

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        headers = Headers(request.headers or {})
        stage, path = self._stage_and_path(request.path)
        if stage is None:
            return self._answer(request_id, 404, {"message": "Not Found"})
        parts = [part for part in path.split("/") if part]
        method = request.method.upper()
        candidates = [
            (route, params)
            for route in self.definition.routes
            if (params := route.match(method, parts)) is not None
        ]
        if candidates:
            route, params = min(candidates, key=lambda found: found[0].specificity())
        else:
            default = [route for route in self.definition.routes if route.key == "$default"]
            if not default:
                return self._answer(request_id, 404, {"message": "Not Found"})
            route, params = default[0], {}
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        query = request.query if isinstance(request.query, str) else ""
        event = self._event(request, request_id, stage, path, route, params, headers, body, query)
        if route.integration.subtype is not None:
            return self._step_functions(request_id, route.integration, event, headers, body)
        assert route.integration.function_arn is not None
        try:
            result = self.invoke(route.integration.function_arn, event)
        except FunctionThrottledError:
            return self._answer(request_id, 429, {"message": "Too Many Requests"})
        except RequestTooLargeError:
            return self._answer(request_id, 413, {"message": "Request Entity Too Large"})
        if result.function_error:
            return self._answer(request_id, 500, {"message": "Internal Server Error"})
        return self._lambda_answer(request_id, route.integration.payload_version, result.json())

    def _stage_and_path(self, path: str) -> tuple[str | None, str]:
        if "$default" in self.definition.stages:
            return "$default", path
        first, _, rest = path.lstrip("/").partition("/")
        return (first, "/" + rest) if first in self.definition.stages else (None, path)

    def _event(
        self,
        request: Request,
        request_id: str,
        stage: str,
        path: str,
        route: _Route,
        params: dict[str, str],
        headers: Headers,
        body: str | None,
        query: str,
    ) -> dict[str, Any]:
        from urllib.parse import parse_qsl

        pairs = parse_qsl(query, keep_blank_values=True)
        grouped: dict[str, list[str]] = {}
        for name, value in pairs:
            grouped.setdefault(name, []).append(value)
        lower: dict[str, list[str]] = {}
        for name, value in headers.items():
            lower.setdefault(name.lower(), []).append(value)
        now = time.time()
        cookies = [c.strip() for c in ",".join(lower.pop("cookie", [])).split(";") if c.strip()]
        api = self.definition
        domain = headers.get("Host") or f"{api.api_id}.execute-api.{api.region}.amazonaws.com"
        return {
            "version": "2.0",
            "routeKey": route.key,
            "rawPath": path if stage == "$default" else f"/{stage}{path}",
            "rawQueryString": query,
            **({"cookies": cookies} if cookies else {}),
            "headers": {name: ",".join(values) for name, values in lower.items()},
            **(
                {"queryStringParameters": {k: ",".join(v) for k, v in grouped.items()}}
                if grouped
                else {}
            ),
            **({"pathParameters": params} if params else {}),
            "requestContext": {
                "accountId": api.account_id,
                "apiId": api.api_id,
                "domainName": domain,
                "domainPrefix": domain.split(".")[0],
                "http": {
                    "method": request.method.upper(),
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": request.source_ip,
                    "userAgent": headers.get("User-Agent", ""),
                },
                "requestId": request_id,
                "routeKey": route.key,
                "stage": stage,
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            **({"body": body} if body is not None else {}),
            "isBase64Encoded": False,
        }

    def _lambda_answer(self, request_id: str, version: str, answer: Any) -> Response:
        if version == "2.0" and not (isinstance(answer, dict) and "statusCode" in answer):
            # 2.0: a JSON value without statusCode is the body of a 200.
            return self._answer(request_id, 200, answer)
        if not isinstance(answer, dict):
            return self._answer(request_id, 500, {"message": "Internal Server Error"})
        headers = Headers()
        for name, value in (answer.get("headers") or {}).items():
            headers[name] = str(value)
        for cookie in answer.get("cookies") or []:
            headers.add("Set-Cookie", cookie)
        headers.setdefault("Content-Type", "application/json")
        headers["apigw-requestid"] = request_id
        body = answer.get("body")
        text = body if isinstance(body, str) else "" if body is None else json.dumps(body)
        return Response(int(answer.get("statusCode", 200)), headers, text, request_id)

    def _step_functions(
        self,
        request_id: str,
        integration: _Integration,
        event: dict[str, Any],
        headers: Headers,
        body: str | None,
    ) -> Response:
        parameters: dict[str, Any] = {}
        for name, expression in integration.parameters.items():
            parameters[name[:1].lower() + name[1:]] = _request_value(expression, event, body)
        operation = _SUBTYPES[str(integration.subtype)]
        try:
            answer = self.call("stepfunctions", operation, parameters)
        except Exception as error:  # the service's error, as API Gateway passes it on
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "Error")
            return self._answer(request_id, 400, {"message": f"{code}: {error}"})
        answer.pop("ResponseMetadata", None)
        return self._answer(request_id, 200, json.loads(json.dumps(answer, default=_epoch)))

    @staticmethod
    def _answer(request_id: str, status: int, body: Any) -> Response:
        headers = Headers({"Content-Type": "application/json", "apigw-requestid": request_id})
        return Response(status, headers, json.dumps(body), request_id)


def _epoch(value: Any) -> Any:
    return value.timestamp() if hasattr(value, "timestamp") else str(value)


def _request_value(expression: str, event: dict[str, Any], body: str | None) -> Any:
    """A request parameter mapping value: ``$request.body[.path]``, ``$request.header.x``,
    ``$request.querystring.x``, ``$request.path.x``, ``$context.x`` or a literal."""
    if expression == "$request.body":
        return body or "{}"
    if expression.startswith("$request.body."):
        value: Any = json.loads(body or "{}")
        for part in expression.removeprefix("$request.body.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value if isinstance(value, str) else json.dumps(value)
    sources = {
        "$request.header.": {k.lower(): v for k, v in event["headers"].items()},
        "$request.querystring.": event.get("queryStringParameters") or {},
        "$request.path.": event.get("pathParameters") or {},
        "$context.": event["requestContext"],
    }
    for prefix, values in sources.items():
        if expression.startswith(prefix):
            name = expression.removeprefix(prefix)
            return values.get(name.lower() if prefix.endswith("header.") else name)
    return expression
