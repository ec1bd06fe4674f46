"""A local model server with the SageMaker inference container contract.

SageMaker runs a model as an HTTP server in a container and talks to it on two routes
(https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html):

- ``GET /ping``: 200 once the model is loaded and ready, else an error status;
- ``POST /invocations``: the request's ``Content-Type`` body in, an answer in the
  ``Accept`` type out; a 4xx with a message when the input is malformed (SageMaker passes
  it on to the caller as a ``ModelError``).

This server speaks that contract on a free 127.0.0.1 port, in a background thread:

- ``text/csv``: one row of encoded features per line (no header), as the predict pipeline's
  processing function sends them;
- ``application/json``: ``{"instances": [[...], ...]}``, a list of rows, or one row;
- answers: ``application/json`` ``{"predictions": [[p_label1, p_label2, ...], ...]}``, or
  ``text/csv`` with one line of label probabilities per row. ``Accept`` ``*/*`` or none
  gives the server's default type.

The model loads in the background when the server starts; ``/ping`` says 503 until it is
ready, and invocations wait for it. ``stop()`` closes the socket and joins the threads.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import numpy as np

logger = logging.getLogger(__name__)

#: SageMaker real-time inference's payload limit.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
CONTENT_TYPES = ("text/csv", "application/json")
#: How long an invocation waits for the model to finish loading.
LOAD_TIMEOUT_S = 120.0


class Model(Protocol):
    feature_names: tuple[str, ...]
    labels: tuple[str, ...]

    def validate(self, rows: list[list[float]]) -> np.ndarray: ...

    def predict_proba(self, rows: np.ndarray) -> np.ndarray: ...


class BadInput(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ModelServer:
    """``ModelServer(loader).start()`` -> its URL; ``stop()`` when done."""

    def __init__(
        self,
        loader: Callable[[], Model],
        *,
        name: str = "model",
        default_accept: str = "application/json",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.name = name
        self.default_accept = default_accept
        self._loader = loader
        self._address = (host, port)
        self._model: Model | None = None
        self._load_error: BaseException | None = None
        self._loaded = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the model server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        self._server = _Server(self._address, _Handler, self)
        self._threads = [
            threading.Thread(target=self._load, name=f"{self.name}-load", daemon=True),
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"{self.name}-server",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        for thread in self._threads:
            thread.join(timeout=LOAD_TIMEOUT_S)
        self._threads = []

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = LOAD_TIMEOUT_S) -> bool:
        return self._loaded.wait(timeout) and self._model is not None

    def _load(self) -> None:
        try:
            self._model = self._loader()
        except BaseException as error:  # reported by /ping and every invocation
            logger.exception("the %s model failed to load", self.name)
            self._load_error = error
        finally:
            self._loaded.set()

    # ------------------------------------------------------------------ the contract
    def ping(self) -> tuple[HTTPStatus, str]:
        if self._model is not None:
            return HTTPStatus.OK, ""
        if self._load_error is not None:
            return HTTPStatus.INTERNAL_SERVER_ERROR, f"the model failed to load: {self._load_error}"
        return HTTPStatus.SERVICE_UNAVAILABLE, "the model is loading"

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[str, bytes]:
        """(answer content type, answer body); BadInput for a request the model refuses."""
        answer_type = self._answer_type(accept)
        kind = content_type.split(";")[0].strip().lower()
        if kind not in CONTENT_TYPES:
            raise BadInput(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Type {content_type or '(none)'!r} is not supported; "
                f"send one of {', '.join(CONTENT_TYPES)}",
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(HTTPStatus.BAD_REQUEST, "the body is not UTF-8 text") from None
        rows = _csv_rows(text) if kind == "text/csv" else _json_rows(text)
        if not self.wait_ready(LOAD_TIMEOUT_S):
            raise BadInput(HTTPStatus.SERVICE_UNAVAILABLE, self.ping()[1])
        model = self._model
        assert model is not None
        try:
            matrix = model.validate(rows)
        except ValueError as error:
            raise BadInput(HTTPStatus.BAD_REQUEST, str(error)) from None
        scores = [[round(float(p), 6) for p in row] for row in model.predict_proba(matrix)]
        if answer_type == "text/csv":
            lines = (",".join(repr(p) for p in row) for row in scores)
            return answer_type, ("\n".join(lines) + "\n").encode()
        return answer_type, json.dumps({"predictions": scores}).encode()

    def _answer_type(self, accept: str) -> str:
        wanted = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
        for kind in wanted or ["*/*"]:
            if kind in CONTENT_TYPES:
                return kind
            if kind in ("*/*", "application/*", "text/*"):
                return self.default_accept
        raise BadInput(
            HTTPStatus.NOT_ACCEPTABLE,
            f"Accept {accept!r} is not supported; the model answers {', '.join(CONTENT_TYPES)}",
        )


def _number(cell: Any, where: str) -> float:
    if isinstance(cell, bool) or not isinstance(cell, int | float | str):
        raise BadInput(HTTPStatus.BAD_REQUEST, f"{where}: {cell!r} is not a number")
    try:
        return float(cell)
    except ValueError:
        raise BadInput(HTTPStatus.BAD_REQUEST, f"{where}: {cell!r} is not a number") from None


def _csv_rows(text: str) -> list[list[float]]:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise BadInput(HTTPStatus.BAD_REQUEST, "the CSV body has no rows")
    return [
        [_number(cell.strip(), f"CSV row {line}") for cell in row]
        for line, row in enumerate(rows, start=1)
    ]


def _json_rows(text: str) -> list[list[float]]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise BadInput(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {error}") from None
    if isinstance(document, dict):
        if "instances" not in document:
            raise BadInput(HTTPStatus.BAD_REQUEST, 'a JSON object must have "instances"')
        document = document["instances"]
    if isinstance(document, list) and document and not isinstance(document[0], list):
        document = [document]  # one row
    if not isinstance(document, list) or not document:
        raise BadInput(HTTPStatus.BAD_REQUEST, "expected a list of rows (lists of numbers)")
    rows: list[list[float]] = []
    for number, row in enumerate(document, start=1):
        if not isinstance(row, list):
            raise BadInput(HTTPStatus.BAD_REQUEST, f"instance {number} is not a list of numbers")
        rows.append([_number(cell, f"instance {number}") for cell in row])
    return rows


class _Server(ThreadingHTTPServer):
    # server_close() joins the request threads: a stopped server leaves none behind.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type, model_server: ModelServer):
        super().__init__(address, handler)
        self.model_server = model_server


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    #: A client that stops sending mid-request is dropped after this long.
    timeout = 30

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/ping":
            self._reply(HTTPStatus.NOT_FOUND, "text/plain", b"only GET /ping and POST /invocations")
            return
        status, message = self.server.model_server.ping()
        self._reply(status, "text/plain", message.encode())

    def do_POST(self) -> None:
        if self.path.split("?")[0] != "/invocations":
            self._reply(HTTPStatus.NOT_FOUND, "text/plain", b"only GET /ping and POST /invocations")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_PAYLOAD_BYTES:
            self._error(
                BadInput(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"the body must have a Content-Length of at most {MAX_PAYLOAD_BYTES} bytes",
                )
            )
            return
        body = self.rfile.read(length)
        try:
            answer_type, answer = self.server.model_server.invoke(
                body,
                self.headers.get("Content-Type", ""),
                self.headers.get("Accept", ""),
            )
        except BadInput as error:
            self._error(error)
            return
        self._reply(HTTPStatus.OK, answer_type, answer)

    def _error(self, error: BadInput) -> None:
        self._reply(error.status, "application/json", json.dumps({"error": error.message}).encode())

    def _reply(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        # One request a connection: no idle keep-alive connection holds a thread, so stop()
        # returns at once.
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)
