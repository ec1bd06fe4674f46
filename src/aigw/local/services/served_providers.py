"""What a local provider answers in-process, answered the same through the served endpoint.

In-process, a provider answers from botocore's ``before-call`` event (:mod:`.providers`).
Another process reaches the runtime through the served AWS endpoint instead. That covers
the AWS CLI, boto3 elsewhere, and a function run by a newer Python in a worker process
(whose ``AWS_ENDPOINT_URL`` points there). The endpoint is moto's server, which knows
nothing of providers: it answered Comprehend with moto's canned ``NEUTRAL``, had no
Translate, and answered ``PostToConnection`` to any connection with 200.

:class:`ProviderAnswers` sits in front of moto's server. It reads which operation a request
is from the service's botocore model, the way the service's front end routes it. When a
provider answers that operation in-process, it answers it here too:

- the request is read by the operation's model (moto's protocol parsers: blobs decoded,
  URI labels and headers in their members);
- the provider's result is written back by the model (moto's protocol serializers);
- a :class:`~.providers.ServiceError` becomes the error AWS sends, with the same status,
  ``x-amzn-ErrorType`` and message member as in-process
  (:func:`~aigw.local.aws_errors.error_facts`).

Everything else goes to moto unchanged.

How the operation is recognised, from botocore's service models:

- ``json`` protocol: the ``X-Amz-Target`` header, ``<targetPrefix>.<Operation>``;
- ``rest-json``: the method and the path, matched against each operation's
  ``http.requestUri``. The URI may follow a base path of the endpoint URL (an @connections
  client's endpoint URL ends with the API's stage). Only services whose signing name the
  request's SigV4 credential scope names are considered (every candidate when unsigned).

Other protocols go to moto.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from moto.core.parse import PROTOCOL_PARSERS
from moto.core.serialize import get_serializer_class
from moto.core.utils import get_service_model
from werkzeug.wrappers import Request

from aigw.local.aws_errors import error_facts
from aigw.local.services.providers import (
    Provider,
    ProviderContractError,
    ProviderRegistry,
    ServiceError,
)

LOG = logging.getLogger("aigw.local.aws")

#: The protocols answered here, in botocore's order of preference
#: (``PRIORITY_ORDERED_SUPPORTED_PROTOCOLS``). A service offering none of them (or a request
#: in another protocol, such as Smithy RPC v2 CBOR, which some services also offer) goes to moto.
PROTOCOLS = ("json", "rest-json")
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class _RestRoute:
    operation: str
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]  # the URI's labels, one per group, in order


@functools.cache
def _protocol(service: str) -> str:
    """The protocol a request is read in: of those the model offers (``protocols``, else
    ``protocol``), the first answered here, in botocore's order of preference."""
    metadata = get_service_model(service).metadata
    offered = metadata.get("protocols") or [metadata.get("protocol")]
    return next((protocol for protocol in PROTOCOLS if protocol in offered), "")


@functools.cache
def _target_prefix(service: str) -> str:
    return str(get_service_model(service).metadata.get("targetPrefix", ""))


@functools.cache
def _signing_name(service: str) -> str:
    return str(get_service_model(service).signing_name)


def _route(operation: str, method: str, request_uri: str) -> _RestRoute:
    """``/@connections/{ConnectionId}`` as a regex over a whole path; ``{Key+}`` is greedy."""
    path = request_uri.split("?", 1)[0]
    parts: list[str] = []
    labels: list[str] = []
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{") and piece.endswith("}"):
            name = piece[1:-1]
            parts.append("(.+)" if name.endswith("+") else "([^/]+)")
            labels.append(name.rstrip("+"))
        else:
            parts.append(re.escape(piece))
    uri = "".join(parts).rstrip("/")
    # A base path of the endpoint URL may come first (an @connections client's ends with the
    # stage), unless the URI is the root: that would be every path.
    base = r"(?:/[^/]+)*?" if uri else ""
    return _RestRoute(operation, method, re.compile(base + uri + "/?"), tuple(labels))


@functools.cache
def _rest_routes(service: str) -> tuple[_RestRoute, ...]:
    model = get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        routes.append(_route(name, http.get("method", "POST"), http["requestUri"]))
    # The longest URI first: a literal segment wins over a label in its place.
    return tuple(sorted(routes, key=lambda route: -len(route.pattern.pattern)))


def _signed_service(headers: Any, query: Any) -> str | None:
    scope = _CREDENTIAL_SCOPE.search(headers.get("Authorization", ""))
    if scope:
        return scope.group(1)
    credential = query.get("X-Amz-Credential", "")
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else None


class ProviderAnswers:
    """WSGI middleware: operations ``registry`` answers are answered here, the rest by ``app``."""

    def __init__(self, app: WsgiApp, registry: ProviderRegistry) -> None:
        self.app = app
        self.registry = registry

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        # Not stored in its own environ (a cycle per request for the collector to find).
        request = Request(environ, populate_request=False)
        found = self._operation(request)
        if found is None:
            return self.app(environ, start_response)
        service, operation, labels, provider = found
        status, headers, body = self._answer(request, service, operation, labels, provider)
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [body]

    # ------------------------------------------------------------------ routing
    def _candidates(self) -> list[str]:
        services = {service for service, _ in self.registry.registered()}
        return sorted(s for s in services if _protocol(s) in PROTOCOLS)

    def _operation(self, request: Request) -> tuple[str, str, dict[str, str], Provider] | None:
        candidates = self._candidates()
        if not candidates:
            return None
        target = request.headers.get("X-Amz-Target")
        if target:
            prefix, _, operation = target.rpartition(".")
            for service in candidates:
                if _protocol(service) == "json" and _target_prefix(service) == prefix:
                    provider = self.registry.lookup(service, operation)
                    return (service, operation, {}, provider) if provider else None
            return None
        signed = _signed_service(request.headers, request.args)
        path = request.environ.get("RAW_URI") or request.environ.get("PATH_INFO", "")
        path = path.split("?", 1)[0]
        for service in candidates:
            if _protocol(service) != "rest-json":
                continue
            if signed is not None and signed != _signing_name(service):
                continue
            for route in _rest_routes(service):
                if route.method != request.method:
                    continue
                match = route.pattern.fullmatch(path)
                if match is None:
                    continue
                provider = self.registry.lookup(service, route.operation)
                if provider is None:
                    # The operation is recognised but moto answers it.
                    return None
                values = map(unquote, match.groups())
                labels = dict(zip(route.labels, values, strict=True))
                return service, route.operation, labels, provider
        return None

    # ------------------------------------------------------------------ answering
    def _answer(
        self,
        request: Request,
        service: str,
        operation: str,
        labels: dict[str, str],
        provider: Provider,
    ) -> tuple[int, dict[str, str], bytes]:
        operation_model = get_service_model(service).operation_model(operation)
        protocol = _protocol(service)
        request_id = str(uuid.uuid4())
        parser = PROTOCOL_PARSERS[protocol](operation_model)
        params = parser.parse(
            {
                "method": request.method,
                "values": request.args,
                "headers": request.headers,
                "body": request.get_data(),
                "url_path": request.path,
                "url_params": labels,
            }
        )
        try:
            result = dict(provider(copy.deepcopy(params)))
        except ServiceError as error:
            return self._error(service, operation, protocol, error, request_id)
        except Exception as failure:  # a provider's bug: the caller sees it, not a hang
            LOG.exception("the provider of %s %s failed", service, operation)
            return self._failure(protocol, "InternalFailure", str(failure), 500, request_id)
        answer = get_serializer_class(service, protocol)(operation_model).serialize(result)
        body = answer["body"]
        headers = {str(k): str(v) for k, v in answer["headers"].items()}
        headers["Content-Type"] = self._content_type(service, protocol, operation_model, result)
        headers["x-amzn-RequestId"] = request_id
        data = body if isinstance(body, bytes) else str(body).encode("utf-8")
        return int(answer["status_code"]), headers, data

    @staticmethod
    def _content_type(
        service: str, protocol: str, operation_model: Any, result: dict[str, Any]
    ) -> str:
        # An output member bound to the Content-Type header (InvokeEndpoint's ContentType)
        # is what the provider says; moto's serializer writes its own default over it.
        output = operation_model.output_shape
        for name, member in output.members.items() if output is not None else ():
            bound = member.serialization
            header = bound.get("name", name).lower() if bound.get("location") == "header" else ""
            if header == "content-type" and result.get(name) is not None:
                return str(result[name])
        if protocol == "json":
            version = get_service_model(service).metadata.get("jsonVersion", "1.0")
            return f"application/x-amz-json-{version}"
        return "application/json"

    def _error(
        self, service: str, operation: str, protocol: str, error: ServiceError, request_id: str
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            facts = error_facts(service, operation, error.code)
        except LookupError as unknown:
            LOG.error("%s", ProviderContractError(str(unknown)))
            return self._failure(protocol, "InternalFailure", str(unknown), 500, request_id)
        status, headers, body = self._failure(
            protocol, error.code, error.message, facts.status, request_id
        )
        if facts.message_member and facts.message_member != "message":
            document = json.loads(body)
            document[facts.message_member] = error.message
            body = json.dumps(document).encode("utf-8")
        return status, headers, body

    @staticmethod
    def _failure(
        protocol: str, code: str, message: str, status: int, request_id: str
    ) -> tuple[int, dict[str, str], bytes]:
        content_type = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        headers = {
            "Content-Type": content_type,
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id,
        }
        body = json.dumps({"__type": code, "message": message}).encode("utf-8")
        return status, headers, body
