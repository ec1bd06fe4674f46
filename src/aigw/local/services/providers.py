"""Answer AWS operations from local Python ("providers") while callers stay unchanged.

A provider is a function from the operation's request parameters to its response, keyed by
the boto3 service name and the API operation name (``("comprehend", "DetectSentiment")``).
It is reached through botocore's ``before-call`` event, the mechanism botocore's own
``Stubber`` uses, so every client in the process sees it: the state machine engine's
``arn:aws:states:::aws-sdk:comprehend:detectSentiment`` tasks, handlers and tests alike.
Operations without a provider fall through to moto.

A provider raises :class:`ServiceError` to answer with a modeled AWS error; the caller then
gets the same ``ClientError`` subclass it would get from AWS (``client.exceptions.X``), so
``Retry``/``Catch`` paths can be exercised.
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

Provider = Callable[[dict[str, Any]], Mapping[str, Any]]


class ServiceError(Exception):
    """A modeled AWS service error, e.g. ``ServiceError("ThrottlingException", "slow down")``."""

    def __init__(self, code: str, message: str, *, status_code: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status_code = status_code


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


def _metadata(status_code: int) -> dict[str, Any]:
    return {
        "HTTPStatusCode": status_code,
        "RequestId": str(uuid.uuid4()),
        "HTTPHeaders": {},
        "RetryAttempts": 0,
    }


_PARAMS_KEY = "aigw_api_params"


def _remember_api_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    # before-call sees the serialized request; the provider wants the API parameters, which
    # only before-parameter-build sees. The request context carries them from one to the other.
    context[_PARAMS_KEY] = params


def _answer_from_provider(
    model: Any, context: dict[str, Any], **_: Any
) -> tuple[AWSResponse, dict[str, Any]] | None:
    provider = registry.lookup(model.service_model.service_name, model.name)
    if provider is None:
        return None
    try:
        response = dict(provider(copy.deepcopy(context.get(_PARAMS_KEY, {}))))
    except ServiceError as error:
        parsed = {
            "Error": {"Code": error.code, "Message": error.message},
            "Message": error.message,
            "ResponseMetadata": _metadata(error.status_code),
        }
        return AWSResponse(None, error.status_code, {}, None), parsed
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
