"""Answer AWS operations from local Python ("providers") while callers stay unchanged.

A provider is a function from the operation's request parameters to its response, keyed by
the boto3 service name and the API operation name (``("comprehend", "DetectSentiment")``).
It is reached through botocore's ``before-call`` event, the mechanism botocore's own
``Stubber`` uses, so every client in the process sees it: the state machine engine's
``arn:aws:states:::aws-sdk:comprehend:detectSentiment`` tasks, handlers and tests alike.
Operations without a provider fall through to moto.

A provider raises :class:`ServiceError` to answer with an AWS error: one the operation's
botocore model lists, or a common error every AWS API can answer (``ThrottlingException``,
``ServiceUnavailable``; :mod:`aigw.local.aws_errors`). The caller gets what AWS sends: the status
code and message member of that error in the model (or of the Common Errors page), and the
client's own exception class for a modeled error (``client.exceptions.X``), a plain
``ClientError`` for a common one, so ``Retry``/``Catch`` paths see the real names. An error
the operation cannot answer is a bug in the provider: :class:`ProviderContractError`.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

from aigw.local.aws_errors import error_facts

Provider = Callable[[dict[str, Any]], Mapping[str, Any]]


class ServiceError(Exception):
    """An AWS service error, e.g. ``ServiceError("ThrottlingException", "Rate exceeded")``.

    Its HTTP status and shape come from the operation's model when it is answered.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ProviderContractError(LookupError):
    """A provider raised an error code the operation it answers can never answer on AWS."""


def _normalise_operation(operation: str) -> str:
    # Accept the ASL spelling (detectSentiment) as well as botocore's (DetectSentiment).
    return operation[:1].upper() + operation[1:]


class ProviderRegistry:
    """Providers keyed by (boto3 service name, operation name)."""

    def __init__(self) -> None:
        self._providers: dict[tuple[str, str], Provider] = {}
        self._lock = threading.Lock()

    def register(self, service: str, operation: str, provider: Provider) -> None:
        with self._lock:
            self._providers[(service, _normalise_operation(operation))] = provider

    def unregister(self, service: str, operation: str) -> None:
        with self._lock:
            self._providers.pop((service, _normalise_operation(operation)), None)

    def clear(self) -> None:
        with self._lock:
            self._providers.clear()

    def lookup(self, service: str, operation: str) -> Provider | None:
        return self._providers.get((service, operation))

    def registered(self) -> list[tuple[str, str]]:
        return sorted(self._providers)

    def clear_override(self, service: str, operation: str) -> None:
        """Stop answering ``operation`` (from inside a provider: the calls it makes next go
        to moto); the enclosing :meth:`override` still restores what was there before."""
        with self._lock:
            self._providers.pop((service, _normalise_operation(operation)), None)

    @contextmanager
    def override(self, service: str, operation: str, provider: Provider) -> Iterator[None]:
        """Use ``provider`` inside the block, then restore whatever was there before."""
        key = (service, _normalise_operation(operation))
        with self._lock:
            previous = self._providers.get(key)
            self._providers[key] = provider
        try:
            yield
        finally:
            with self._lock:
                if previous is None:
                    self._providers.pop(key, None)
                else:
                    self._providers[key] = previous


#: The process-wide registry: botocore handlers are process-wide too.
registry = ProviderRegistry()


def _metadata(status_code: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "HTTPStatusCode": status_code,
        "RequestId": str(uuid.uuid4()),
        "HTTPHeaders": headers or {},
        "RetryAttempts": 0,
    }


def _error_response(service: str, operation: str, error: ServiceError) -> dict[str, Any]:
    """The parsed response botocore makes of AWS's answer with this error."""
    try:
        facts = error_facts(service, operation, error.code)
    except LookupError as unknown:
        raise ProviderContractError(str(unknown)) from None
    parsed: dict[str, Any] = {
        "Error": {"Code": error.code, "Message": error.message},
        "ResponseMetadata": _metadata(facts.status, {"x-amzn-errortype": error.code}),
    }
    if facts.message_member:
        parsed[facts.message_member] = error.message
    return parsed


_PARAMS_KEY = "aigw_api_params"


def _remember_api_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    # before-call sees the serialized request; the provider wants the API parameters, which
    # only before-parameter-build sees. The request context carries them from one to the other.
    context[_PARAMS_KEY] = params


def _answer_from_provider(
    model: Any, context: dict[str, Any], **_: Any
) -> tuple[AWSResponse, dict[str, Any]] | None:
    service = model.service_model.service_name
    provider = registry.lookup(service, model.name)
    if provider is None:
        return None
    try:
        response = dict(provider(copy.deepcopy(context.get(_PARAMS_KEY, {}))))
    except ServiceError as error:
        parsed = _error_response(service, model.name, error)
        status = parsed["ResponseMetadata"]["HTTPStatusCode"]
        return AWSResponse(None, status, {}, None), parsed
    response["ResponseMetadata"] = _metadata(200)
    return AWSResponse(None, 200, {}, None), response


def install() -> None:
    """Make every boto3 client in the process consult the registry (idempotent)."""
    # Registered among botocore's built-in handlers so that every session and client created
    # from now on carries it, including the clients moto's Step Functions engine makes per
    # task; boto3's default session may predate this, so it gets the handler too.
    entries = [
        ("before-parameter-build", _remember_api_params),
        ("before-call", _answer_from_provider),
    ]
    session = boto3.DEFAULT_SESSION
    for event, handler in entries:
        if (event, handler) not in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.append((event, handler))
        if session is not None:
            session.events.unregister(event, handler)
            session.events.register(event, handler)


install()
