"""An API Gateway REST API (v1, Lambda proxy) served in-process, without an HTTP server.

``RestApi.from_runtime(runtime)`` serves the template's API (see
:mod:`aigw.local.apis.api_definition` for what is read from the template) and
:meth:`RestApi.handle` answers one request the way API Gateway does, in its order:

1. payload limit (10 MB, 413), then routing under ``/<stage>`` by the document's paths
   (``{param}``, ``{proxy+}``, ``x-amazon-apigateway-any-method``; no route is a 403
   "Missing Authentication Token");
2. the Lambda REQUEST authorizer, its result cached by identity source values for
   ``authorizerResultTtlInSeconds`` and its policy evaluated against the method ARN;
3. the API key (``usageIdentifierKey`` with key source ``AUTHORIZER``) and throttling: token
   buckets per usage plan key and per method from the stage's ``MethodSettings``;
4. request validation (required parameters, body against the JSON Schema model);
5. the ``aws_proxy`` Lambda integration (REST proxy event v1.0 in, proxy answer out; a
   function error or malformed answer is a 502) or a ``mock`` one (CORS preflight).

Whatever API Gateway answers by itself goes through the document's gateway responses
(:mod:`aigw.local.apis.gateway_responses`). Every response carries ``x-amzn-RequestId``.

Not emulated: API key resources (every ``usageIdentifierKey`` counts as a key of the stage's
usage plan), quotas, per-method usage plan throttles, binary media types, TOKEN and Cognito
authorizers, other integration types. An integration timeout is detected once the function
returns, not by cutting it off.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers

from aigw.local.apis.api_definition import (
    ApiDefinition,
    Authorizer,
    Operation,
    RestApiError,
    Route,
    StageConfig,
)
from aigw.local.apis.gateway_responses import (
    GatewayError,
    GatewayResponses,
    parameter_value,
    render_template,
)
from aigw.local.apis.service_integration import ServiceCall, call_action, pick_response, render
from aigw.local.lambdas.bridge import InvocationResult, RequestTooLargeError, UnknownFunctionError

if TYPE_CHECKING:
    from aigw.local.runtime import LocalRuntime

__all__ = ["AuthorizerCall", "Request", "Response", "RestApi", "RestApiError"]

LOG = logging.getLogger("aigw.local.api")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_PROXY_ANSWER_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}

Invoke = Callable[[str, Any], InvocationResult]


@dataclass
class Request:
    """One HTTP request as it reaches API Gateway; ``path`` starts with the stage."""

    method: str
    path: str
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None
    #: A mapping (a list value for a repeated parameter) or the raw query string.
    query: Mapping[str, str | Sequence[str]] | str | None = None
    body: bytes | str | None = None
    source_ip: str = "127.0.0.1"


@dataclass
class Response:
    status: int
    headers: Headers
    body: str
    request_id: str
    #: The gateway response type when API Gateway answered by itself (``"THROTTLED"``, …).
    gateway_error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


#: How many authorizations a RestApi remembers in ``authorizer_calls``.
AUTHORIZER_CALLS_KEPT = 1000


@dataclass(frozen=True)
class AuthorizerCall:
    """One authorization: ``cached`` when the authorizer's cached result answered it."""

    authorizer: str
    identity: tuple[str, ...]
    cached: bool
    outcome: str  # Allow, Deny, Unauthorized or Failure


@dataclass
class _Exchange:
    """One request on its way through the API, and what each step learned about it."""

    request_id: str
    method: str
    path: str
    headers: Headers
    query: list[tuple[str, str]]
    body: str | None
    size: int
    source_ip: str
    time: float
    stage: StageConfig | None = None
    stage_path: str = ""
    route: Route | None = None
    path_parameters: dict[str, str] = field(default_factory=dict)
    principal_id: str | None = None
    authorizer_context: dict[str, str] = field(default_factory=dict)
    usage_key: str | None = None
    api_key: str | None = None

    def lookup(self, expression: str) -> str | None:
        """A request value by its API Gateway name (``method.request.header.X``, …)."""
        sources: dict[str, Callable[[str], str | None]] = {
            "method.request.header.": self.headers.get,
            "method.request.querystring.": dict(self.query).get,
            "method.request.path.": self.path_parameters.get,
            "stageVariables.": (self.stage.variables if self.stage else {}).get,
        }
        for prefix, get in sources.items():
            if expression.startswith(prefix):
                return get(expression.removeprefix(prefix))
        return None

    def identity_value(self, source: str) -> str | None:
        """An authorizer identity source's value: a request value, or ``context.X`` (a
        REQUEST authorizer may key its cache on, say, ``context.identity.sourceIp``)."""
        if not source.startswith("context."):
            return self.lookup(source)
        context = {
            "identity.sourceIp": self.source_ip,
            "identity.userAgent": self.headers.get("User-Agent"),
            "httpMethod": self.method,
            "stage": self.stage.name if self.stage else None,
            "resourcePath": self.route.resource if self.route else None,
        }
        return context.get(source.removeprefix("context."))


class _TokenBucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.updated = rate, burst, burst, now

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now


class RestApi:
    """One deployed REST API answering requests; thread-safe, for a threaded HTTP server."""

    def __init__(
        self,
        definition: ApiDefinition,
        invoke: Invoke,
        *,
        clock: Callable[[], float] = time.monotonic,
        call: ServiceCall | None = None,
    ) -> None:
        self.definition = definition
        self.invoke = invoke
        #: AWS service actions of `aws` integrations: (boto3 service, method, parameters).
        self.call = call
        #: Seconds for throttling and the authorizer cache; tests pass a clock they move.
        self.clock = clock
        self.gateway_responses = GatewayResponses(definition.gateway_responses)
        #: The latest authorizations (at most ``AUTHORIZER_CALLS_KEPT``), in order:
        #: authorizer calls and cache hits are visible here.
        self.authorizer_calls: list[AuthorizerCall] = []
        self._auth_cache: dict[tuple[str, tuple[str, ...]], tuple[Any, float]] = {}
        self._buckets: dict[tuple[str, ...], _TokenBucket] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_runtime(
        cls,
        runtime: LocalRuntime,
        logical_id: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> RestApi:
        """The runtime template's REST API (the only one, or ``logical_id``)."""
        definition = ApiDefinition.from_runtime(runtime, logical_id)

        def call(service: str, operation: str, parameters: dict[str, Any]) -> Any:
            return getattr(runtime.client(service), operation)(**parameters)

        return cls(definition, runtime.bridge.invoke, clock=clock, call=call)

    # ------------------------------------------------------------------ requests
    def handle(self, request: Request) -> Response:
        """Answer one request as API Gateway would."""
        body = request.body.encode() if isinstance(request.body, str) else request.body or b""
        exchange = _Exchange(
            request_id=str(uuid.uuid4()),
            method=request.method.upper(),
            path=request.path,
            headers=Headers(request.headers or {}),
            query=_query_pairs(request.query),
            body=body.decode("utf-8", errors="replace") if body else None,
            size=len(body),
            source_ip=request.source_ip,
            time=time.time(),
        )
        try:
            if exchange.size > MAX_PAYLOAD_BYTES:
                raise GatewayError("REQUEST_TOO_LARGE")
            operation = self._match(exchange)
            if operation.authorizer is not None:
                self._authorize(exchange, operation.authorizer)
            self._throttle(exchange, operation)
            self._validate(exchange, operation)
            if operation.service_action is not None:
                return self._service(exchange, operation)
            if operation.function_arn is None:
                return self._mock(exchange, operation.integration)
            return self._proxy(exchange, operation)
        except GatewayError as error:
            rendered = self.gateway_responses.render(
                error, self._variables(exchange), exchange.lookup
            )
            headers = Headers(rendered.headers)
            headers["x-amzn-ErrorType"] = error.error_type
            return self._response(
                exchange, rendered.status, headers, rendered.body, error.response_type
            )

    def _match(self, exchange: _Exchange) -> Operation:
        stage_name, *parts = [part for part in exchange.path.split("/") if part] or [""]
        exchange.stage = self.definition.stages.get(stage_name)
        if exchange.stage is None:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        exchange.stage_path = "/" + "/".join(parts)
        candidates = [
            (route.specificity(), index, route, params)
            for index, route in enumerate(self.definition.routes)
            if (params := route.match(parts)) is not None
        ]
        if not candidates:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        # The most specific resource answers, or nothing does: no falling back to another.
        _, _, route, params = min(candidates, key=lambda candidate: candidate[:2])
        operation = route.operations.get(exchange.method) or route.operations.get("ANY")
        if operation is None:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        exchange.route, exchange.path_parameters = route, params
        return operation

    def _authorize(self, exchange: _Exchange, authorizer: Authorizer) -> None:
        identity = tuple(
            exchange.identity_value(source) or "" for source in authorizer.identity_sources
        )
        if not all(identity):
            raise GatewayError("UNAUTHORIZED")
        method_arn = self._method_arn(exchange)
        cache_key, now = (authorizer.name, identity), self.clock()
        with self._lock:
            entry = self._auth_cache.get(cache_key)
        if entry is not None and entry[1] <= now:
            entry = None
        cached, outcome = entry is not None, "Failure"
        try:
            output = entry[0] if entry is not None else self._call(authorizer, exchange, method_arn)
            try:
                effect, principal_id, context = _evaluate(output, method_arn)
            except (KeyError, TypeError, AttributeError, ValueError) as error:
                LOG.warning("authorizer %s answered %r: %r", authorizer.name, output, error)
                raise GatewayError("AUTHORIZER_FAILURE") from None
            if not cached and authorizer.ttl > 0:
                with self._lock:
                    self._auth_cache[cache_key] = (output, now + authorizer.ttl)
            outcome = effect or "Deny"
        except GatewayError as error:
            outcome = "Unauthorized" if error.response_type == "UNAUTHORIZED" else "Failure"
            raise
        finally:
            with self._lock:
                self.authorizer_calls.append(
                    AuthorizerCall(authorizer.name, identity, cached, outcome)
                )
                # A long-running gateway authorizes every request: keep only the latest.
                del self.authorizer_calls[:-AUTHORIZER_CALLS_KEPT]
        # A Deny's context too reaches the gateway response ($context.authorizer.reason).
        exchange.principal_id, exchange.authorizer_context = principal_id, context
        if effect != "Allow":
            message = "User is not authorized to access this resource"
            raise GatewayError(
                "ACCESS_DENIED", message + (" with an explicit deny" if effect else "")
            )
        exchange.usage_key = output.get("usageIdentifierKey")

    def _call(self, authorizer: Authorizer, exchange: _Exchange, method_arn: str) -> Any:
        """The authorizer's answer; its "Unauthorized" error is a 401, any other a 500."""
        event = {"type": "REQUEST", "methodArn": method_arn, **self._event(exchange)}
        try:
            result = self.invoke(authorizer.function_arn, event)
        except UnknownFunctionError:
            LOG.error("authorizer %s: no function %s", authorizer.name, authorizer.function_arn)
            raise GatewayError("AUTHORIZER_FAILURE") from None
        answer = result.json()
        if not result.function_error:
            return answer
        if answer.get("errorMessage") == "Unauthorized":
            raise GatewayError("UNAUTHORIZED")
        LOG.warning("authorizer %s failed: %s", authorizer.name, answer.get("errorMessage"))
        raise GatewayError("AUTHORIZER_FAILURE")

    def _throttle(self, exchange: _Exchange, operation: Operation) -> None:
        stage, route = exchange.stage, exchange.route
        assert stage is not None and route is not None
        limits: list[tuple[tuple[str, ...], tuple[float, float]]] = []
        method_limit = stage.method_throttle(route.resource, exchange.method)
        if method_limit:
            limits.append((("method", stage.name, exchange.method, route.resource), method_limit))
        if operation.api_key_required:
            key = (
                exchange.usage_key
                if self.definition.api_key_source == "AUTHORIZER"
                else exchange.headers.get("x-api-key")
            )
            if not key or stage.usage_plan is None:
                raise GatewayError("INVALID_API_KEY")
            exchange.api_key = key
            if stage.usage_plan.throttle:
                limits.append(
                    (("key", stage.usage_plan.logical_id, key), stage.usage_plan.throttle)
                )
        now = self.clock()
        with self._lock:
            buckets = []
            for bucket_key, (rate, burst) in limits:
                bucket = self._buckets.setdefault(bucket_key, _TokenBucket(rate, burst, now))
                bucket.refill(now)
                buckets.append(bucket)
            if any(bucket.tokens < 1 for bucket in buckets):
                raise GatewayError("THROTTLED")
            for bucket in buckets:
                bucket.tokens -= 1

    def _validate(self, exchange: _Exchange, operation: Operation) -> None:
        if operation.validate_parameters:
            missing = [
                name
                for name, expression in operation.required_parameters
                if not exchange.lookup(expression)
            ]
            if missing:
                message = f"Missing required request parameters: [{', '.join(missing)}]"
                raise GatewayError("BAD_REQUEST_PARAMETERS", message, validation_error=message)
        content_type = exchange.headers.get("Content-Type") or "application/json"
        validator = operation.body_schemas.get(content_type.split(";")[0].strip().lower())
        if not operation.validate_body or validator is None:
            return
        if exchange.body is None:
            if operation.body_required:
                raise GatewayError("BAD_REQUEST_BODY", validation_error="[request body is empty]")
            return
        try:
            instance = read_json(exchange.body)
        except ValueError as error:
            raise GatewayError(
                "BAD_REQUEST_BODY", validation_error=f"[request body is not JSON: {error}]"
            ) from None
        errors = sorted(
            validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]
        )
        if errors:
            described = [
                _short(e) if not e.absolute_path else f"{_short_path(e)}: {_short(e)}"
                for e in errors[:10]
            ]
            raise GatewayError("BAD_REQUEST_BODY", validation_error=f"[{', '.join(described)}]")

    # ------------------------------------------------------------------ integrations
    def _proxy(self, exchange: _Exchange, operation: Operation) -> Response:
        assert operation.function_arn is not None
        event = {**self._event(exchange), "body": exchange.body, "isBase64Encoded": False}
        context = event["requestContext"]
        context["identity"]["apiKey"] = exchange.api_key
        if exchange.principal_id is not None:
            context["authorizer"] = {"principalId": exchange.principal_id}
            context["authorizer"].update(exchange.authorizer_context)
        started = time.perf_counter()
        try:
            result = self.invoke(operation.function_arn, event)
        except UnknownFunctionError:
            LOG.error("no function %s in the template", operation.function_arn)
            raise GatewayError("API_CONFIGURATION_ERROR") from None
        except RequestTooLargeError as error:
            # Lambda refused the event (body and request context) before the function ran;
            # API Gateway answers with its own REQUEST_TOO_LARGE, as for a body over 10 MB.
            LOG.warning("%s refused %d bytes: %s", operation.function_arn, error.size, error)
            raise GatewayError("REQUEST_TOO_LARGE") from None
        timeout_ms = int(operation.integration.get("timeoutInMillis", 29000))
        if (time.perf_counter() - started) * 1000 > timeout_ms:
            raise GatewayError("INTEGRATION_TIMEOUT")
        answer = result.json()
        if result.function_error:
            LOG.warning(
                "%s failed: %s: %s",
                operation.function_arn,
                answer.get("errorType"),
                answer.get("errorMessage"),
            )
            raise GatewayError("DEFAULT_5XX", status=502)
        try:
            status, headers, body = _proxy_answer(answer)
        except (ValueError, TypeError, AttributeError) as error:
            LOG.warning(
                "malformed Lambda proxy response from %s: %s", operation.function_arn, error
            )
            raise GatewayError("DEFAULT_5XX", status=502) from None
        return self._response(exchange, status, headers, body)

    def _service(self, exchange: _Exchange, operation: Operation) -> Response:
        assert operation.service_action is not None
        if self.call is None:
            raise GatewayError("API_CONFIGURATION_ERROR")
        integration = operation.integration
        assert exchange.stage is not None
        stage_variables = exchange.stage.variables
        variables = self._variables(exchange)
        content_type = (exchange.headers.get("Content-Type") or "application/json").split(";")[0]
        templates = integration.get("requestTemplates") or {}
        template = templates.get(content_type.strip().lower(), templates.get("application/json"))
        parameters = {
            "path": exchange.path_parameters,
            "querystring": dict(exchange.query),
            "header": dict(exchange.headers.items()),
        }
        body = exchange.body or ""
        if template is not None:  # without one, the body passes through (WHEN_NO_MATCH)
            body = render(template, body, parameters, variables, stage_variables)
        status, answer = call_action(operation.service_action, body, self.call)
        chosen = pick_response(integration.get("responses") or {}, status)
        headers = Headers()
        for name, expression in (chosen.get("responseParameters") or {}).items():
            value = parameter_value(expression, exchange.lookup)
            if name.startswith("method.response.header.") and value is not None:
                headers.add(name.removeprefix("method.response.header."), value)
        response_template = (chosen.get("responseTemplates") or {}).get("application/json")
        if response_template:
            answer = render(response_template, answer, {}, variables, stage_variables)
        headers.setdefault("Content-Type", "application/json")
        return self._response(exchange, int(chosen.get("statusCode", 200)), headers, answer)

    def _mock(self, exchange: _Exchange, integration: dict[str, Any]) -> Response:
        template = (integration.get("requestTemplates") or {}).get("application/json")
        try:
            status = str(json.loads(template).get("statusCode", 200)) if template else "200"
        except (ValueError, AttributeError):
            status = "200"
        responses = integration.get("responses") or {}
        chosen = next(
            (spec for pattern, spec in responses.items() if re.fullmatch(pattern, status)),
            responses.get("default") or {},
        )
        headers = Headers()
        for name, expression in (chosen.get("responseParameters") or {}).items():
            value = parameter_value(expression, exchange.lookup)
            if name.startswith("method.response.header.") and value is not None:
                headers.add(name.removeprefix("method.response.header."), value)
        template = (chosen.get("responseTemplates") or {}).get("application/json", "")
        headers.setdefault("Content-Type", "application/json")
        body = render_template(template, self._variables(exchange))
        return self._response(exchange, int(chosen.get("statusCode", status)), headers, body)

    # ------------------------------------------------------------------ shapes
    def _method_arn(self, exchange: _Exchange) -> str:
        assert exchange.stage is not None
        api = self.definition
        return (
            f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/"
            f"{exchange.stage.name}/{exchange.method}/{exchange.stage_path[1:]}"
        )

    def _event(self, exchange: _Exchange) -> dict[str, Any]:
        """The parts the REQUEST authorizer event and the Lambda proxy event share."""
        assert exchange.stage is not None and exchange.route is not None
        multi_headers: dict[str, list[str]] = {}
        for name, value in exchange.headers.items():
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in exchange.query:
            multi_query.setdefault(name, []).append(value)
        api, request_time = self.definition, time.gmtime(exchange.time)
        return {
            "resource": exchange.route.resource,
            "path": exchange.stage_path,
            "httpMethod": exchange.method,
            "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": dict(exchange.query) or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": exchange.path_parameters or None,
            "stageVariables": exchange.stage.variables or None,
            "requestContext": {
                "accountId": api.account_id,
                "apiId": api.api_id,
                "stage": exchange.stage.name,
                "requestId": exchange.request_id,
                "extendedRequestId": exchange.request_id,
                "resourcePath": exchange.route.resource,
                "httpMethod": exchange.method,
                "path": f"/{exchange.stage.name}{exchange.stage_path}",
                "protocol": "HTTP/1.1",
                "domainName": exchange.headers.get("Host")
                or f"{api.api_id}.execute-api.{api.region}.amazonaws.com",
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", request_time),
                "requestTimeEpoch": int(exchange.time * 1000),
                "identity": {
                    "sourceIp": exchange.source_ip,
                    "userAgent": exchange.headers.get("User-Agent"),
                },
            },
        }

    def _variables(self, exchange: _Exchange) -> dict[str, str]:
        """``$context`` values for gateway response and mock templates."""
        variables = {
            "requestId": exchange.request_id,
            "extendedRequestId": exchange.request_id,
            "apiId": self.definition.api_id,
            "accountId": self.definition.account_id,
            "httpMethod": exchange.method,
            "path": exchange.path,
            "stage": exchange.stage.name if exchange.stage else "",
            "resourcePath": exchange.route.resource if exchange.route else "",
            "identity.sourceIp": exchange.source_ip,
        }
        if exchange.principal_id is not None:
            variables["authorizer.principalId"] = exchange.principal_id
            for key, value in exchange.authorizer_context.items():
                variables[f"authorizer.{key}"] = value
        return variables

    @staticmethod
    def _response(
        exchange: _Exchange,
        status: int,
        headers: Headers,
        body: str,
        gateway_error: str | None = None,
    ) -> Response:
        headers["x-amzn-RequestId"] = exchange.request_id
        return Response(status, headers, body, exchange.request_id, gateway_error)


#: What API Gateway's JSON parser refuses, assumed from Jackson's default read constraints
#: (API Gateway documents none): deeper nesting, and longer number tokens.
MAX_JSON_DEPTH = 1000
MAX_JSON_NUMBER_CHARACTERS = 1000


def read_json(text: str) -> Any:
    """A JSON body as API Gateway's validator reads it; ValueError when it does not.

    Strict JSON: ``NaN`` and ``Infinity`` are not values. Python's parser would accept them,
    and deep nesting would exhaust its stack (RecursionError) rather than fail cleanly.
    """

    def number(token: str) -> Any:
        if len(token) > MAX_JSON_NUMBER_CHARACTERS:
            raise ValueError(f"a number has more than {MAX_JSON_NUMBER_CHARACTERS} characters")
        return float(token) if any(c in token for c in ".eE") else int(token)

    def constant(token: str) -> Any:
        raise ValueError(f"{token} is not a JSON value")

    try:
        return json.loads(text, parse_int=number, parse_float=number, parse_constant=constant)
    except RecursionError:
        raise ValueError(f"nesting deeper than {MAX_JSON_DEPTH} levels") from None


def _short(error: Any, limit: int = 40) -> str:
    """A validation message quoting at most ``limit`` characters of the value it is about."""
    shown, message = repr(error.instance), str(error.message)
    if message.startswith(shown) and len(shown) > limit:
        message = f"{shown[:limit]}… ({len(shown)} characters)" + message[len(shown) :]
    return message if len(message) <= 200 else message[:200] + "…"


def _short_path(error: Any) -> str:
    path = str(error.json_path)
    return path if len(path) <= 80 else path[:80] + "…"


def _query_pairs(query: Mapping[str, str | Sequence[str]] | str | None) -> list[tuple[str, str]]:
    if isinstance(query, str):
        return parse_qsl(query, keep_blank_values=True)
    pairs: list[tuple[str, str]] = []
    for name, value in (query or {}).items():
        pairs += [(name, item) for item in ([value] if isinstance(value, str) else value)]
    return pairs


def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def _policy_effect(policy: dict[str, Any], method_arn: str) -> str | None:
    """Deny, Allow or None (no statement matches) for ``method_arn``, as IAM evaluates it."""
    statements = policy["Statement"]
    effects = set()
    for statement in [statements] if isinstance(statements, dict) else statements:
        actions, resources = statement.get("Action", []), statement.get("Resource", [])
        if any(
            _wildcard(action, ignore_case=True).fullmatch("execute-api:Invoke")
            for action in ([actions] if isinstance(actions, str) else actions)
        ) and any(
            _wildcard(resource).fullmatch(method_arn)
            for resource in ([resources] if isinstance(resources, str) else resources)
        ):
            effects.add(statement["Effect"])
    return "Deny" if "Deny" in effects else "Allow" if "Allow" in effects else None


def _evaluate(output: Any, method_arn: str) -> tuple[str | None, str, dict[str, str]]:
    """The policy's effect on ``method_arn``, the principal and the context as strings."""
    context = {}
    for key, value in (output.get("context") or {}).items():
        if isinstance(value, dict | list):
            raise ValueError(f"context value {key!r} is not a string, number or boolean")
        context[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return _policy_effect(output["policyDocument"], method_arn), str(output["principalId"]), context


def _proxy_answer(answer: Any) -> tuple[int, Headers, str]:
    """Status, headers and body of a Lambda proxy answer; ValueError when it is malformed."""
    if not isinstance(answer, dict) or not answer.keys() <= _PROXY_ANSWER_KEYS:
        raise ValueError(f"not a proxy response: {answer!r:.200}")
    status = answer.get("statusCode")
    if isinstance(status, bool) or not str(status).isdigit():
        raise ValueError(f"statusCode {status!r}")
    body = answer.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"body must be a string, not {type(body).__name__}")
    headers = Headers()
    multi = answer.get("multiValueHeaders") or {}
    for name, values in multi.items():
        for value in values:
            headers.add(name, str(value))
    for name, value in (answer.get("headers") or {}).items():
        if name not in multi:
            headers.add(name, str(value))
    headers.setdefault("Content-Type", "application/json")
    return int(status), headers, body or ""
