"""A :class:`~aigw.local.apis.rest_api.RestApi` served over HTTP on localhost.

The REST emulation answers :class:`Request` objects in-process; this puts werkzeug's
threaded server in front of it, so curl, ``requests`` and SDKs in other processes reach the
template's API exactly as they would reach API Gateway (``http://127.0.0.1:3000/v1/...``).

:meth:`LocalHttpServer.stop` leaves nothing behind: the listening port is released, idle
keep-alive connections are closed and every request thread is joined (a request still in
flight is answered first).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

from aigw.local.apis.rest_api import Request, RestApi

if TYPE_CHECKING:
    from aigw.local.apis.http_api import HttpApi

__all__ = ["LocalHttpServer"]


#: At most this many requests are served at once; more wait for a thread to be free.
REQUEST_THREADS = 256


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, with request threads that are kept for the next request
    and that :meth:`server_close` joins."""

    def __init__(self, host: str, port: int, app: Any) -> None:
        super().__init__(host, port, app)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        # werkzeug answers every request with "Connection: close", so each request is a
        # new connection, and socketserver starts a thread for each: the accept loop then
        # waits for the new thread to be scheduled (under load p50 6 ms, p90 15, up to
        # 58) before it accepts the next request. A thread left idle by a request serves
        # the next one instead; a new one starts only when every thread is busy.
        self._threads_pool = ThreadPoolExecutor(REQUEST_THREADS, f"aigw-http-{self.port}")

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        self._threads_pool.submit(self.process_request_thread, request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Close the port and join the request threads, after making them end: reading is
        shut on every open connection, so an idle keep-alive one ends at once while a
        request in flight still gets its answer."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # closed by the client meanwhile
                connection.shutdown(socket.SHUT_RD)
        super().server_close()
        self._threads_pool.shutdown(wait=True)


class LocalHttpServer:
    """Serves ``api`` on ``host:port`` (port 0 picks a free one) from :meth:`start` to
    :meth:`stop`."""

    def __init__(self, api: RestApi | HttpApi, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host, self.port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Listen and serve; returns the stage's URL, like the stack's ``RestApiUrl`` output
        (the server's root when the API has several stages)."""
        if self._server is not None:
            raise RuntimeError(f"already serving on {self.base_url}")
        self._server = _Server(self.host, self.port, self._wsgi)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=f"aigw-http-{self.port}"
        )
        self._thread.start()
        stages = list(self.api.definition.stages)
        if len(stages) == 1 and stages[0] != "$default":  # an HTTP API's $default is the root
            return f"{self.base_url}/{stages[0]}"
        return self.base_url

    def stop(self) -> None:
        """Stop listening, finish requests in flight, join every thread; idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()  # serve_forever() ends with server_close()
        self._server = self._thread = None

    def __enter__(self) -> LocalHttpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        # Not stored in its own environ (werkzeug's default): that is a reference cycle,
        # request, environ, headers and socket left for the garbage collector every request.
        incoming = WsgiRequest(environ, populate_request=False)
        answer = self.api.handle(
            Request(
                method=incoming.method,
                path=incoming.path,
                headers=list(incoming.headers.items()),
                query=environ.get("QUERY_STRING", ""),
                body=incoming.get_data(),
                source_ip=incoming.remote_addr or "127.0.0.1",
            )
        )
        response = WsgiResponse(answer.body, status=answer.status)
        response.headers.clear()  # the API's own headers, repeated ones included
        for name, value in answer.headers.items():
            response.headers.add(name, value)
        return response(environ, start_response)
