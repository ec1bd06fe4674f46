"""The answers API Gateway gives by itself (gateway responses), rendered as a REST API does.

Every failure the emulated API Gateway detects (no route, authorizer said no, throttled,
invalid body, …) is raised as :class:`GatewayError` with its gateway response type and then
rendered from the OpenAPI document's ``x-amazon-apigateway-gateway-responses``: the type's own
entry, else ``DEFAULT_4XX`` / ``DEFAULT_5XX`` (keeping the type's status code unless that entry
sets one), else API Gateway's built-in ``{"message": ...}``. Headers come from
``responseParameters`` and the body from the ``application/json`` template with its
``$context`` variables substituted, so a template written for AWS gives the same body here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: The template API Gateway uses when a response defines none.
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'

_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z]\w*(?:\.[A-Za-z]\w*)*)")


@dataclass(frozen=True)
class _Builtin:
    status: int
    message: str | None
    error_type: str


#: API Gateway's own status, message and ``x-amzn-ErrorType`` for each response type we raise.
#: A failing authorizer really answers ``{"message": null}``: define that response's template.
BUILTIN: dict[str, _Builtin] = {
    "ACCESS_DENIED": _Builtin(
        403, "User is not authorized to access this resource", "AccessDeniedException"
    ),
    "API_CONFIGURATION_ERROR": _Builtin(
        500, "Internal server error", "InternalServerErrorException"
    ),
    "AUTHORIZER_FAILURE": _Builtin(500, None, "AuthorizerConfigurationException"),
    "BAD_REQUEST_BODY": _Builtin(400, "Invalid request body", "BadRequestException"),
    "BAD_REQUEST_PARAMETERS": _Builtin(
        400, "Missing required request parameters", "BadRequestException"
    ),
    "DEFAULT_5XX": _Builtin(500, "Internal server error", "InternalServerErrorException"),
    "INTEGRATION_TIMEOUT": _Builtin(
        504, "Endpoint request timed out", "InternalServerErrorException"
    ),
    "INVALID_API_KEY": _Builtin(403, "Forbidden", "ForbiddenException"),
    "MISSING_AUTHENTICATION_TOKEN": _Builtin(
        403, "Missing Authentication Token", "MissingAuthenticationTokenException"
    ),
    "REQUEST_TOO_LARGE": _Builtin(413, "Request Too Long", "RequestEntityTooLargeException"),
    "THROTTLED": _Builtin(429, "Too Many Requests", "TooManyRequestsException"),
    "UNAUTHORIZED": _Builtin(401, "Unauthorized", "UnauthorizedException"),
}


class GatewayError(Exception):
    """API Gateway answers the request itself, with the gateway response ``response_type``."""

    def __init__(
        self,
        response_type: str,
        message: str | None = None,
        *,
        status: int | None = None,
        validation_error: str = "",
    ) -> None:
        builtin = BUILTIN[response_type]
        self.response_type = response_type
        self.message = message if message is not None else builtin.message
        self.status = status or builtin.status
        self.error_type = builtin.error_type
        self.validation_error = validation_error
        super().__init__(f"{response_type}: {self.message}")


@dataclass
class RenderedResponse:
    status: int
    headers: list[tuple[str, str]]
    body: str


def parameter_value(expression: str, lookup: Callable[[str], str | None]) -> str | None:
    """A mapping expression's value: ``'static'`` text, or a request value such as
    ``method.request.header.Origin`` found by ``lookup``."""
    if len(expression) >= 2 and expression[0] == expression[-1] == "'":
        return expression[1:-1]
    return lookup(expression)


def render_template(template: str, variables: Mapping[str, str]) -> str:
    """Substitute ``$context.*`` references; an unknown one renders empty, as in API Gateway."""
    return _CONTEXT_VARIABLE.sub(lambda match: variables.get(match.group(1), ""), template)


class GatewayResponses:
    """The document's gateway responses, with API Gateway's fallbacks."""

    def __init__(self, definitions: Mapping[str, Any] | None) -> None:
        self.definitions = dict(definitions or {})

    def render(
        self,
        error: GatewayError,
        variables: Mapping[str, str],
        lookup: Callable[[str], str | None],
    ) -> RenderedResponse:
        """The response for ``error``; ``variables`` are the request's ``$context`` values."""
        fallback = "DEFAULT_5XX" if error.status >= 500 else "DEFAULT_4XX"
        spec = self.definitions.get(error.response_type) or self.definitions.get(fallback) or {}
        status = int(spec.get("statusCode") or error.status)
        headers = [
            (name.removeprefix("gatewayresponse.header."), value)
            for name, expression in (spec.get("responseParameters") or {}).items()
            if name.startswith("gatewayresponse.header.")
            and (value := parameter_value(expression, lookup)) is not None
        ]
        templates = spec.get("responseTemplates") or {"application/json": DEFAULT_TEMPLATE}
        content_type = (
            "application/json" if "application/json" in templates else next(iter(templates))
        )
        template = templates[content_type]
        error_variables = {
            **variables,
            "error.message": error.message or "",
            "error.messageString": json.dumps(error.message),
            "error.responseType": error.response_type,
            # Already JSON-escaped, to sit between quotes in a template, as on AWS.
            "error.validationErrorString": json.dumps(error.validation_error)[1:-1],
        }
        headers.append(("Content-Type", content_type))
        return RenderedResponse(status, headers, render_template(template, error_variables))
