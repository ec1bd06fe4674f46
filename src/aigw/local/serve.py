"""A deployed template served on localhost: its REST API over HTTP, its WebSocket API, the
in-process AWS for other processes, and optionally its tables and buckets kept in a state
directory across restarts. ``aigw local`` is a layer over this class."""

from __future__ import annotations

from pathlib import Path

from aigw.local.apis.http_server import LocalHttpServer
from aigw.local.apis.rest_api import RestApi
from aigw.local.apis.websocket_server import LocalWebSocketServer
from aigw.local.runtime import LocalRuntime
from aigw.local.state import StateStore


class LocalServer:
    """Serves ``runtime``'s template from :meth:`start` to :meth:`stop`; ports 0 pick free
    ones. With ``state_dir``, :meth:`restore_state` loads what a previous run saved and
    :meth:`start` keeps saving it."""

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
        self.http = LocalHttpServer(RestApi.from_runtime(runtime), host, port)
        self.websocket = LocalWebSocketServer(runtime, host, ws_port)
        self.urls: dict[str, str] = {}

    def restore_state(self) -> dict[str, int] | None:
        """Load the state directory into the runtime (``StateError`` if it cannot be used);
        None without one."""
        return self.state.restore() if self.state is not None else None

    def start(self) -> dict[str, str]:
        """Serve; the URLs by name (``REST API``, ``WebSocket``, ``AWS endpoint``)."""
        rest_url = self.http.start()
        try:
            ws_url = self.websocket.start()
            try:
                aws_url = self.runtime.serve_aws(host=self.host, port=self.aws_port)
            except BaseException:
                self.websocket.stop()
                raise
        except BaseException:
            self.http.stop()
            raise
        # Presigned URLs the functions hand out must reach S3 from other processes, as they
        # do on AWS: the functions' S3 clients use the served endpoint.
        self.runtime.bridge.environment["AWS_ENDPOINT_URL_S3"] = aws_url
        if self.state is not None:
            self.state.start()
        self.urls = {"REST API": rest_url, "WebSocket": ws_url, "AWS endpoint": aws_url}
        return self.urls

    def stop(self) -> None:
        try:
            self.websocket.stop()
        finally:
            self.http.stop()
            if self.state is not None:
                self.state.stop()
