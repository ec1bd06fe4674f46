"""API Gateway's AWS service integrations (``type: aws``) and their mapping templates.

An ``aws`` integration whose ``uri`` is ``arn:aws:apigateway:<region>:<service>:action/<Action>``
renders the request template of the request's content type (Velocity, as API Gateway does:
``$input``, ``$util``, ``$context``, ``$stageVariables``), calls the action with the
rendered JSON as its parameters, picks the integration response whose status pattern
matches the service's HTTP status (else ``default``), and renders its response template
over the service's answer (the answer as is without one). This is what SAM's
``Events: Api`` on a state machine generates (StartExecution), and what hand-written APIs
use to reach Step Functions, DynamoDB or EventBridge without a function.

Velocity comes from airspeed (LocalStack's fork for AWS templates); the ``$util`` and
``$input`` functions follow the API Gateway mapping template reference.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import airspeed
from botocore import xform_name
from botocore.exceptions import ClientError
from jsonpath_ng.ext import parse as parse_json_path

_ACTION_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]*:(?P<service>[^:]+):action/(?P<action>\w+)$")
_JSON_PROTOCOLS = {"json", "rest-json"}

ServiceCall = Callable[[str, str, dict[str, Any]], dict[str, Any]]


class IntegrationError(ValueError):
    """An integration that cannot be served locally; the message says which and why."""


@dataclass(frozen=True)
class ServiceAction:
    service: str  # the boto3 service name
    action: str  # the API operation name, e.g. StartExecution


def service_action(uri: Any, where: str) -> ServiceAction:
    """The service and action an ``aws`` integration's ``uri`` names."""
    import botocore.session

    match = _ACTION_URI.match(uri) if isinstance(uri, str) else None
    if match is None and isinstance(uri, str) and "${" in uri:
        # A template mistake public samples make: the URI is not in an Fn::Sub, so nothing
        # substituted it (API Gateway refuses such a URI too).
        raise IntegrationError(
            f"{where}: {uri!r} still holds a ${{...}} placeholder; write it as !Sub (Fn::Sub) "
            "so that CloudFormation substitutes it"
        )
    if match is None:
        raise IntegrationError(
            f"{where}: {uri!r} is not an AWS service action URI (arn:aws:apigateway:"
            "<region>:<service>:action/<Action>); path-style URIs are not served locally"
        )
    service = {"states": "stepfunctions"}.get(match.group("service"), match.group("service"))
    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception as error:
        raise IntegrationError(f"{where}: unknown service {service!r}") from error
    if model.protocol not in _JSON_PROTOCOLS:
        raise IntegrationError(
            f"{where}: {service} speaks {model.protocol}; only JSON services' actions are "
            "served locally"
        )
    if match.group("action") not in model.operation_names:
        raise IntegrationError(f"{where}: {service} has no action {match.group('action')}")
    return ServiceAction(service, match.group("action"))


# ---------------------------------------------------------------------- Velocity
def escape_javascript(text: Any) -> str:
    """``$util.escapeJavaScript``: JavaScript string escapes (single quotes included, as
    API Gateway's reference warns)."""
    replacements = {
        "\\": "\\\\",
        '"': '\\"',
        "'": "\\'",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\b": "\\b",
        "\f": "\\f",
    }
    return "".join(replacements.get(char, char) for char in str(text))


class _Util:
    """``$util``: method names are the template's (camelCase)."""

    def escapeJavaScript(self, text: Any) -> str:
        return escape_javascript(text)

    def parseJson(self, text: str) -> Any:
        return json.loads(text)

    def toJson(self, value: Any) -> str:
        return json.dumps(value)

    def base64Encode(self, text: str) -> str:
        return base64.b64encode(str(text).encode()).decode()

    def base64Decode(self, text: str) -> str:
        return base64.b64decode(str(text)).decode()

    def urlEncode(self, text: str) -> str:
        return urllib.parse.quote_plus(str(text))

    def urlDecode(self, text: str) -> str:
        return urllib.parse.unquote_plus(str(text))


class _Input:
    """``$input``: the request (or, in a response template, the integration's answer)."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]) -> None:
        self.body = body
        self._params = params

    def _value(self, path: str) -> Any:
        try:
            document = json.loads(self.body) if self.body else {}
        except ValueError:
            return None
        if path in ("$", ""):
            return document
        found = [match.value for match in parse_json_path(path).find(document)]
        return found[0] if found else None

    def json(self, path: str = "$") -> str:
        return json.dumps(self._value(path))

    def path(self, path: str = "$") -> Any:
        return self._value(path)

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return {kind: dict(values) for kind, values in self._params.items()}
        for kind in ("path", "querystring", "header"):
            if name in self._params.get(kind, {}):
                return self._params[kind][name]
        return ""


def _nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"identity.sourceIp": x}`` as ``{"identity": {"sourceIp": x}}`` for Velocity."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


def render(
    template: str,
    body: str,
    params: Mapping[str, Mapping[str, str]],
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str],
) -> str:
    """A mapping template rendered as API Gateway renders it."""
    namespace = {
        "input": _Input(body, params),
        "util": _Util(),
        "context": _nested(context),
        "stageVariables": dict(stage_variables),
    }
    return airspeed.Template(template).merge(namespace)


# ---------------------------------------------------------------------- the call
def _aws_json(value: Any) -> Any:
    """A botocore answer as the service's JSON protocol writes it (epoch-second dates)."""
    if isinstance(value, dict):
        return {key: _aws_json(item) for key, item in value.items() if key != "ResponseMetadata"}
    if isinstance(value, list):
        return [_aws_json(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def call_action(action: ServiceAction, body: str, call: ServiceCall) -> tuple[int, str]:
    """Call the action with the rendered request; (HTTP status, JSON body) as the service
    answers, errors included (``{"__type", "message"}``)."""
    try:
        parameters = json.loads(body) if body.strip() else {}
    except ValueError:
        return 400, json.dumps(
            {"__type": "SerializationException", "message": "the mapped request is not JSON"}
        )
    try:
        answer = call(action.service, xform_name(action.action), parameters)
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
        details = error.response.get("Error", {})
        return status, json.dumps(
            {"__type": details.get("Code"), "message": details.get("Message", str(error))}
        )
    except (TypeError, ValueError) as error:  # parameter validation in botocore
        return 400, json.dumps({"__type": "ValidationException", "message": str(error)})
    return 200, json.dumps(_aws_json(answer))


def pick_response(responses: Mapping[str, Any], status: int) -> dict[str, Any]:
    """The integration response for a service status: the first whose status pattern
    matches it, else ``default``. In OpenAPI the pattern is the response's key (a status
    code or a regular expression); a ``selectionPattern`` member, if given, is used instead."""
    for key, spec in responses.items():
        if key == "default":
            continue
        pattern = (spec or {}).get("selectionPattern") or key
        try:
            if re.fullmatch(pattern, str(status)):
                return spec
        except re.error:
            continue
    return dict(responses.get("default") or {"statusCode": "200"})
