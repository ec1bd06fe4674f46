"""SageMaker Runtime ``InvokeEndpoint``, answered by local model servers.

Each endpoint name maps to a :class:`~aigw.providers.model_server.ModelServer` speaking the
SageMaker container contract (``GET /ping``, ``POST /invocations``). The provider makes a
real HTTP POST to it, as SageMaker does to a container, and answers with InvokeEndpoint's
output shape (``Body``, ``ContentType``, ``InvokedProductionVariant`` ``AllTraffic``).

- ``aigw-churn``: the churn model (:mod:`aigw.providers.churn`), trained on first use from
  the synthetic data the project ships, then cached on disk.
- A server starts lazily, on its endpoint's first invocation (no thread or port is used by
  a gateway that never predicts); a cached model is ready in milliseconds, the first-ever
  start trains it (about 2 s), which a task's ``TimeoutSeconds`` does not count.
  :meth:`LocalEndpoints.close` stops every started server.

Errors are the ones SageMaker gives: an unknown endpoint is a ``ValidationError``
("Endpoint X of account N not found."); a 4xx or 5xx from the model server is a
``ModelError`` (status 424) quoting the server's status and message; a server that cannot
be reached is ``ServiceUnavailable``.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aigw.local import outside_service_time
from aigw.local.services.providers import ServiceError
from aigw.providers import churn
from aigw.providers.model_server import MAX_PAYLOAD_BYTES, ModelServer

if TYPE_CHECKING:
    from aigw.local.services.providers import ProviderRegistry

Params = dict[str, Any]

#: moto's default account, which the local runtime's ARNs carry.
ACCOUNT_ID = "123456789012"
VARIANT = "AllTraffic"
#: SageMaker's limit on a model container's answer time for real-time endpoints.
INVOCATION_TIMEOUT_S = 60.0


def churn_server() -> ModelServer:
    return ModelServer(churn.load_model, name="aigw-churn", default_accept="application/json")


#: Endpoint name -> a factory for its model server.
ENDPOINTS: dict[str, Callable[[], ModelServer]] = {"aigw-churn": churn_server}


class LocalEndpoints:
    """The local SageMaker endpoints: starts servers on demand, stops them on close."""

    def __init__(self, endpoints: dict[str, Callable[[], ModelServer]] | None = None) -> None:
        self._factories = dict(ENDPOINTS if endpoints is None else endpoints)
        self._servers: dict[str, ModelServer] = {}
        self._lock = threading.Lock()
        self._closed = False

    def server(self, name: str) -> ModelServer:
        """The endpoint's running server (started now if needed); ValidationError if unknown."""
        with self._lock:
            if name not in self._factories:
                raise ServiceError(
                    "ValidationError", f"Endpoint {name} of account {ACCOUNT_ID} not found."
                )
            if self._closed:
                raise ServiceError("ServiceUnavailable", "the local endpoints are shut down")
            server = self._servers.get(name)
            if server is None:
                server = self._servers[name] = self._factories[name]()
                server.start()
            return server

    def invoke_endpoint(self, params: Params) -> Params:
        name: str = params["EndpointName"]
        body = params["Body"]
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = body.read()  # a file-like object, as boto3 allows
        if len(body) > MAX_PAYLOAD_BYTES:
            raise ServiceError(
                "ValidationError",
                f"Request payload size of {len(body)} bytes exceeds the maximum of "
                f"{MAX_PAYLOAD_BYTES} bytes.",
            )
        server = self.server(name)
        # On AWS an endpoint is InService, its model loaded, before it can be invoked: the
        # wait for a model still loading (training it, the first time) is not the call's time.
        with outside_service_time():
            server.wait_ready()
        status, content_type, answer = _post(
            server.url,
            body,
            params.get("ContentType", "application/octet-stream"),
            params.get("Accept", "*/*"),
        )
        if status >= 400:
            raise ServiceError("ModelError", _model_error(name, status, answer))
        return {"Body": answer, "ContentType": content_type, "InvokedProductionVariant": VARIANT}

    def close(self) -> None:
        with self._lock:
            self._closed = True
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.stop()

    def __enter__(self) -> LocalEndpoints:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _post(url: str, body: bytes, content_type: str, accept: str) -> tuple[int, str, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=INVOCATION_TIMEOUT_S
    )
    try:
        connection.request(
            "POST",
            "/invocations",
            body=body,
            headers={"Content-Type": content_type, "Accept": accept, "Connection": "close"},
        )
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    except OSError as error:
        raise ServiceError(
            "ServiceUnavailable", f"the local model server did not answer: {error}"
        ) from error
    finally:
        connection.close()


def _model_error(name: str, status: int, answer: bytes) -> str:
    """SageMaker's wording for a container's error answer."""
    try:
        message = json.loads(answer)["error"]
    except (ValueError, KeyError, TypeError):
        message = answer.decode("utf-8", "replace")
    kind = "client" if status < 500 else "server"
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    logs = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{name}"
    )
    return (
        f'Received {kind} error ({status}) from primary with message "{message}". '
        f"See {logs} in account {ACCOUNT_ID} for more information."
    )


def install(registry: ProviderRegistry) -> LocalEndpoints:
    """Register InvokeEndpoint; close the returned endpoints to stop their servers."""
    endpoints = LocalEndpoints()
    registry.register("sagemaker-runtime", "InvokeEndpoint", endpoints.invoke_endpoint)
    return endpoints
