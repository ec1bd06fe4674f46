"""A deployed template served on localhost: each of its REST APIs over HTTP, its WebSocket
API, the in-process AWS for other processes, and optionally its tables and buckets kept in
a state directory across restarts. ``aigw local`` is a layer over this class."""

from __future__ import annotations

from pathlib import Path

from aigw.local.apis.http_server import LocalHttpServer
from aigw.local.apis.websocket_server import LocalWebSocketServer
from aigw.local.runtime import LocalRuntime
from aigw.local.state import StateStore


def _protocol(properties: dict) -> str | None:
    """An API Gateway v2 API's protocol. ``ProtocolType`` is required unless the API is
    imported from an OpenAPI ``Body`` or ``BodyS3Location``, which only HTTP APIs can be (what
    SAM's ``AWS::Serverless::HttpApi`` with a ``DefinitionBody`` becomes)."""
    if "ProtocolType" in properties:
        return properties["ProtocolType"]
    return "HTTP" if "Body" in properties or "BodyS3Location" in properties else None


def _of_type(runtime: LocalRuntime, rtype: str, protocol: str | None = None) -> list[str]:
    assert runtime.template is not None
    return [
        logical_id
        for logical_id, resource in runtime.template.resources.items()
        if resource.type == rtype
        and (protocol is None or _protocol(resource.properties or {}) == protocol)
    ]


class LocalServer:
    """Serves ``runtime``'s template from :meth:`start` to :meth:`stop`. The first REST or HTTP API
    listens on ``port``, any other on a free port; the WebSocket API (if the template has
    one) on ``ws_port``; ports 0 pick free ones. With ``state_dir``, :meth:`restore_state`
    loads what a previous run saved and :meth:`start` keeps saving it."""

    def __init__(
        self,
        runtime: LocalRuntime,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_port: int = 0,
        aws_port: int = 0,
        state_dir: str | Path | None = None,
    ) -> None:
        self.runtime = runtime
        self.host, self.aws_port = host, aws_port
        self.state = StateStore(runtime, state_dir) if state_dir else None
        apis = [
            *_of_type(runtime, "AWS::ApiGateway::RestApi"),
            *_of_type(runtime, "AWS::ApiGatewayV2::Api", "HTTP"),
        ]
        self.http = {
            logical_id: LocalHttpServer(runtime.api(logical_id), host, port if i == 0 else 0)
            for i, logical_id in enumerate(apis)
        }
        websockets = _of_type(runtime, "AWS::ApiGatewayV2::Api", "WEBSOCKET")
        self._websocket_id = websockets[0] if len(websockets) == 1 else None
        self.websocket = (
            LocalWebSocketServer(runtime, host, ws_port, logical_id=websockets[0])
            if len(websockets) == 1
            else None
        )
        self.urls: dict[str, str] = {}

    def restore_state(self) -> dict[str, int] | None:
        """Load the state directory into the runtime (``StateError`` if it cannot be used);
        None without one."""
        return self.state.restore() if self.state is not None else None

    def start(self) -> dict[str, str]:
        """Serve; the URLs by name: ``REST API`` (``API <LogicalId>`` for each REST and
        HTTP API when the template has several), ``WebSocket``, ``AWS endpoint``."""
        urls: dict[str, str] = {}
        try:
            for logical_id, server in self.http.items():
                name = "REST API" if len(self.http) == 1 else f"API {logical_id}"
                urls[name] = server.start()
            if self.websocket is not None:
                urls["WebSocket"] = self.websocket.start()
            urls["AWS endpoint"] = self.runtime.serve_aws(host=self.host, port=self.aws_port)
        except BaseException:
            self.stop()
            raise
        # Presigned URLs the functions hand out must reach S3 from other processes, as they
        # do on AWS: the functions' S3 clients use the served endpoint.
        self.runtime.bridge.environment["AWS_ENDPOINT_URL_S3"] = urls["AWS endpoint"]
        # The stack's outputs name the served APIs (what a user can reach), not AWS's hosts.
        served = {
            self.runtime.physical_id(logical_id): server.base_url
            for logical_id, server in self.http.items()
        }
        if self.websocket is not None and self._websocket_id is not None:
            served[self.runtime.physical_id(self._websocket_id)] = self.websocket.url
        self.runtime.serve_api_urls(served)
        if self.state is not None:
            self.state.start()
        self.urls = urls
        return urls

    def stop(self) -> None:
        self.runtime.serve_api_urls({})
        try:
            if self.websocket is not None:
                self.websocket.stop()
        finally:
            for server in self.http.values():
                server.stop()
            if self.state is not None and self.urls:
                self.state.stop()

    def describe(self) -> list[str]:
        """What was deployed and what was not, and why, for a banner."""
        return self.runtime.report.describe()
