"""The API's routes: an API Gateway REST proxy event to the handler of its resource and
method, and the handler's answer to a proxy response with the CORS headers.

API Gateway has matched the request before it invokes the function: the event names the
resource (``resource``, as the OpenAPI document spells it, ``/jobs/{job_id}``) and the
method (``httpMethod``), with the path parameters it took from the URL (``pathParameters``).
A route is found by that pair, exactly. An event without a resource the API declares (a
hand-written test event) is matched by its ``path``, segment by segment.

Powertools' event handler did this with regular expressions over ``path``; its package
imports every resolver it has whichever one is asked for (AppSync's with asyncio, all the
event data classes): about a fifth of a cold start's import of boto3 (docs/benchmarks.md).
The answers are the same: JSON bodies, ``multiValueHeaders``, the CORS headers for an
allowed ``Origin`` on every answer (errors and unknown routes too), a preflight that
reaches the function answered with 204.

The request is handed to the handler, never kept in module or class state: concurrent
invocations in one process (``aigw local`` runs them on threads) each see their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aigw_common.errors import NotFound

#: The request headers a browser may send, as Powertools' CORSConfig allowed them.
_ALLOW_HEADERS = "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key"


class Request:
    """One proxy event, read as the handlers need it."""

    __slots__ = ("event",)

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event

    @property
    def method(self) -> str:
        return str(self.event.get("httpMethod") or "")

    @property
    def resource(self) -> str | None:
        return self.event.get("resource")

    @property
    def path(self) -> str:
        return str(self.event.get("path") or "")

    @property
    def path_parameters(self) -> dict[str, str]:
        return self.event.get("pathParameters") or {}

    @property
    def query(self) -> dict[str, str]:
        return self.event.get("queryStringParameters") or {}

    @property
    def body(self) -> str | None:
        return self.event.get("body")

    @property
    def context(self) -> dict[str, Any]:
        return self.event.get("requestContext") or {}

    @property
    def request_id(self) -> str | None:
        return self.context.get("requestId")

    @property
    def authorizer(self) -> dict[str, Any]:
        """What the Lambda authorizer returned as context (and its ``principalId``)."""
        return self.context.get("authorizer") or {}

    def header(self, name: str) -> str | None:
        """A header's value; names compare case-insensitively, as in HTTP."""
        wanted, found = name.lower(), None
        for key, value in (self.event.get("headers") or {}).items():
            if key.lower() == wanted:
                found = value
        return found

    def origin(self) -> str | None:
        """The ``Origin`` header (its first value when API Gateway sent several)."""
        wanted = "origin"
        for key, values in (self.event.get("multiValueHeaders") or {}).items():
            if key.lower() == wanted and values:
                return str(values[0] if isinstance(values, list) else values)
        if self.event.get("multiValueHeaders"):
            return None
        return self.header(wanted)


@dataclass
class Response:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status, json.dumps(body), {"Content-Type": "application/json", **(headers or {})}
    )


@dataclass(frozen=True)
class Cors:
    """The CORS headers of every answer: only the one allowed origin (or ``*``) is answered."""

    allow_origin: str
    #: Response headers a browser lets scripts read (it hides the others).
    expose_headers: tuple[str, ...] = ()

    def headers(self, request: Request) -> dict[str, str]:
        origin = request.origin()
        if origin is None:
            return {}  # not a browser's cross-origin call
        if self.allow_origin == "*":
            allowed = "*"
        elif origin == self.allow_origin:
            allowed = origin
        else:
            return {}
        headers = {
            "Access-Control-Allow-Origin": allowed,
            "Access-Control-Allow-Headers": _ALLOW_HEADERS,
        }
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        return headers


Handler = Callable[..., Response]
ErrorHandler = Callable[[Request, Exception], Response]


@dataclass(frozen=True)
class Route:
    method: str
    resource: str
    handler: Handler
    segments: tuple[str, ...]
    #: The names of the resource's ``{parameters}``, passed to the handler by keyword.
    parameters: tuple[str, ...]

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """The path parameters when a path's segments fit this resource."""
        if len(parts) != len(self.segments):
            return None
        found = {}
        for segment, part in zip(self.segments, parts, strict=True):
            if segment.startswith("{"):
                found[segment[1:-1]] = part
            elif segment != part:
                return None
        return found


class Router:
    """Routes declared next to their handlers (``@router.get("/jobs/{job_id}")``) and the
    error handlers that turn an exception into an answer (``@router.exception_handler``)."""

    def __init__(self, cors: Cors) -> None:
        self.cors = cors
        self._routes: dict[tuple[str, str], Route] = {}
        self._error_handlers: dict[type[Exception], ErrorHandler] = {}

    @property
    def routes(self) -> set[tuple[str, str]]:
        """(method, resource) of every route."""
        return set(self._routes)

    def route(self, method: str, resource: str) -> Callable[[Handler], Handler]:
        segments = tuple(part for part in resource.split("/") if part)
        parameters = tuple(s[1:-1] for s in segments if s.startswith("{") and s.endswith("}"))
        key = (method.upper(), "/" + "/".join(segments))
        if key in self._routes:
            raise ValueError(f"route {key[0]} {key[1]} declared twice")

        def register(handler: Handler) -> Handler:
            self._routes[key] = Route(key[0], key[1], handler, segments, parameters)
            return handler

        return register

    def get(self, resource: str) -> Callable[[Handler], Handler]:
        return self.route("GET", resource)

    def post(self, resource: str) -> Callable[[Handler], Handler]:
        return self.route("POST", resource)

    def put(self, resource: str) -> Callable[[Handler], Handler]:
        return self.route("PUT", resource)

    def delete(self, resource: str) -> Callable[[Handler], Handler]:
        return self.route("DELETE", resource)

    def exception_handler(self, kind: type[Exception]) -> Callable[[ErrorHandler], ErrorHandler]:
        """The answer to an exception of ``kind`` (or a subclass without its own handler)."""

        def register(handler: ErrorHandler) -> ErrorHandler:
            self._error_handlers[kind] = handler
            return handler

        return register

    def resolve(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The proxy response to ``event``. An exception no handler is declared for is
        raised (a function error, as Lambda reports it)."""
        request = Request(event)
        try:
            response = self._call(request)
        except Exception as error:
            handler = self._error_handler(error)
            if handler is None:
                raise
            response = handler(request, error)
        headers = {**response.headers, **self.cors.headers(request)}
        return {
            "statusCode": response.status,
            "body": response.body,
            "isBase64Encoded": False,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
        }

    def _call(self, request: Request) -> Response:
        method = request.method.upper()
        route = self._routes.get((method, request.resource or ""))
        parameters: dict[str, str] | None = None
        if route is not None:
            given = request.path_parameters
            if all(name in given for name in route.parameters):
                parameters = {name: given[name] for name in route.parameters}
        if parameters is None:
            route, parameters = self._match_path(method, request.path)
        if route is not None and parameters is not None:
            return route.handler(request, **parameters)
        if method == "OPTIONS":
            # A preflight API Gateway did not answer itself (a direct invocation).
            methods = sorted({"OPTIONS", *(declared for declared, _ in self._routes)})
            return Response(204, "", {"Access-Control-Allow-Methods": ",".join(methods)})
        raise NotFound(f"no route {request.method} {request.path}")

    def _match_path(self, method: str, path: str) -> tuple[Route | None, dict[str, str] | None]:
        parts = [part for part in path.split("/") if part]
        # Fixed segments first: /prompts before a /{name} of the same length.
        candidates = sorted(
            (route for route in self._routes.values() if route.method == method),
            key=lambda route: len(route.parameters),
        )
        for route in candidates:
            found = route.match(parts)
            if found is not None:
                return route, found
        return None, None

    def _error_handler(self, error: Exception) -> ErrorHandler | None:
        for kind in type(error).__mro__:
            handler = self._error_handlers.get(kind)
            if handler is not None:
                return handler
        return None
