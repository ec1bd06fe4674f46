"""AWS clients and X-Ray tracing made when a handler first needs them, not at import.

A cold start imports the handler module before the first event. Building a boto3 client
there (its service model, endpoint rules) and importing the X-Ray SDK for Powertools'
Tracer cost as much as importing boto3 itself, on every cold start, whether or not the
invocation uses them. Both are made on first use instead, once per sandbox:

    dynamodb = LazyClient("dynamodb")          # boto3.client("dynamodb") on first call
    tracer = LazyTracer()

    @tracer.capture_lambda_handler             # X-Ray SDK imported, botocore patched,
    def handler(event, context): ...           # at the first invocation

X-Ray patches botocore's client class, so clients made before the patch are traced too.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import boto3

Handler = TypeVar("Handler", bound=Callable[..., Any])


class LazyClient:
    """``boto3.client(service, **options)``, made on first attribute access (thread-safe).

    Attributes are forwarded to the client, so it stands in wherever a client is expected
    (``client.exceptions.X``, ``client.get_item(...)``)."""

    def __init__(self, service: str, **options: Any) -> None:
        self._service = service
        self._options = options
        self._client: Any = None
        self._lock = threading.Lock()

    def _made(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = boto3.client(self._service, **self._options)
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)


class LazyTracer:
    """Powertools' ``Tracer``, made at the first traced invocation."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._tracer: Any = None
        self._lock = threading.Lock()

    def tracer(self) -> Any:
        if self._tracer is None:
            with self._lock:
                if self._tracer is None:
                    from aws_lambda_powertools import Tracer

                    self._tracer = Tracer(**self._options)
        return self._tracer

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        traced: Callable[..., Any] | None = None

        @functools.wraps(handler)
        def invoke(event: Any, context: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = self.tracer().capture_lambda_handler(handler)
            return traced(event, context)

        return invoke  # type: ignore[return-value]
