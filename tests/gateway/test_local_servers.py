"""The gateway on localhost ports: its REST API over HTTP and its WebSocket API, reached by
ordinary clients (``requests``, ``websockets``) as they would reach API Gateway."""

from __future__ import annotations

import gc
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import requests
from conftest import Gateway
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request as WsgiRequest

from aigw.local.apis.http_server import LocalHttpServer
from aigw.local.apis.rest_api import Request, Response
from aigw.local.apis.websocket_server import LocalWebSocketServer
from aigw.local.services.providers import ServiceError

# Every wait returns as soon as its answer comes; the bound is for a loaded 2-core machine.
TIMEOUT = 30.0
#: What the servers' threads are called (serve loops) or run (request and socket handlers).
SERVER_THREADS = ("aigw-", "process_request_thread", "sock_handler", "recv_events", "keepalive")


@dataclass
class Servers:
    api_url: str  # http://127.0.0.1:<port>/v1
    ws_url: str  # ws://127.0.0.1:<port>


@pytest.fixture(scope="module")
def servers(gateway: Gateway) -> Iterator[Servers]:
    http = LocalHttpServer(gateway.api)
    websocket = LocalWebSocketServer(gateway.runtime)
    try:
        yield Servers(http.start(), websocket.start())
    finally:
        websocket.stop()
        http.stop()


@pytest.fixture
def held_language_detection(gateway: Gateway) -> Iterator[threading.Event]:
    """Text jobs wait in their first AI call until the event is set: a client can subscribe
    while the job is still running."""
    release = threading.Event()
    detect = gateway.fakes.detect_dominant_language

    def held(params: dict[str, Any]) -> Any:
        release.wait(TIMEOUT)
        return detect(params)

    with gateway.runtime.providers.override("comprehend", "DetectDominantLanguage", held):
        try:
            yield release
        finally:
            release.set()


def _receive(connection: ClientConnection) -> dict[str, Any]:
    return json.loads(connection.recv(timeout=TIMEOUT))


def _connection_ids(gateway: Gateway) -> set[str]:
    """The connections the $connect route recorded in the Connections table."""
    items = gateway.runtime.client("dynamodb").scan(
        TableName=gateway.runtime.physical_id("ConnectionsTable")
    )["Items"]
    return {item["pk"]["S"].removeprefix("conn#") for item in items if item["sk"]["S"] == "meta"}


# ---------------------------------------------------------------------------- HTTP


def test_given_a_key_when_listing_pipelines_over_http_then_200(
    gateway: Gateway, servers: Servers
) -> None:
    answer = requests.get(
        f"{servers.api_url}/pipelines",
        headers={"x-api-key": gateway.tenant.api_key},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200
    assert {p["name"] for p in answer.json()["pipelines"]} >= {"text-insights", "predict"}
    assert answer.headers["x-amzn-RequestId"]


def test_given_no_key_over_http_then_401_in_the_error_shape(servers: Servers) -> None:
    answer = requests.get(f"{servers.api_url}/pipelines", timeout=TIMEOUT)

    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == "Unauthorized"
    assert error["request_id"] == answer.headers["x-amzn-RequestId"]


def test_given_a_query_string_over_http_then_the_api_sees_it(
    gateway: Gateway, servers: Servers
) -> None:
    headers = {"x-api-key": gateway.tenant.api_key}

    listed = requests.get(
        f"{servers.api_url}/jobs", params={"limit": "0"}, headers=headers, timeout=TIMEOUT
    )

    assert listed.status_code == 400  # validated: limit is at least 1
    assert "limit" in listed.text


class _EchoApi:
    """Stands in for a RestApi: answers with what reached it, and repeated headers."""

    definition = SimpleNamespace(stages={"v1": None})

    def handle(self, request: Request) -> Response:
        seen = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.body.decode() if isinstance(request.body, bytes) else request.body,
            "source_ip": request.source_ip,
            "tags": [value for name, value in request.headers or [] if name.lower() == "x-tag"],
        }
        headers = Headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        headers["Content-Type"] = "application/json"
        return Response(207, headers, json.dumps(seen), "request-1")


def test_given_a_request_over_http_then_the_api_sees_all_of_it_and_answers_all_headers() -> None:
    with LocalHttpServer(_EchoApi()) as server:  # type: ignore[arg-type]
        answer = requests.patch(
            f"{server.base_url}/v1/things/a%20b?x=1&x=2",
            data=b"payload",
            headers={"X-Tag": "one"},
            timeout=TIMEOUT,
        )

    assert answer.status_code == 207
    assert answer.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert answer.json() == {
        "method": "PATCH",
        "path": "/v1/things/a b",
        "query": "x=1&x=2",
        "body": "payload",
        "source_ip": "127.0.0.1",
        "tags": ["one"],
    }


def test_given_requests_over_http_then_they_leave_no_request_for_the_garbage_collector() -> None:
    """werkzeug's request, by default stored in its own environ, would be a reference cycle
    (with the environ, headers and socket) left for the collector after every request."""

    def call(server: LocalHttpServer, body: bytes) -> dict[str, Any]:
        with urllib.request.urlopen(
            urllib.request.Request(f"{server.base_url}/v1/things?x=1", data=body, method="POST"),
            timeout=TIMEOUT,
        ) as answer:
            assert answer.status == 207
            return json.loads(answer.read())

    with LocalHttpServer(_EchoApi()) as server:  # type: ignore[arg-type]
        call(server, b"warm-up")
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            seen = [call(server, f"payload {n}".encode()) for n in range(3)]
            server.stop()  # joins the request threads: every request is done with
            gc.collect()
            garbage = list(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()

    # Exactly werkzeug's: moto's subclass is another fix's (in-process AWS calls).
    assert [item for item in garbage if type(item) is WsgiRequest] == []
    assert [(s["path"], s["query"], s["body"]) for s in seen] == [
        ("/v1/things", "x=1", f"payload {n}") for n in range(3)
    ]


class _MeetingApi(_EchoApi):
    """Answers only once ``parties`` requests are being served at the same time."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=TIMEOUT)

    def handle(self, request: Request) -> Response:
        self.barrier.wait()
        return super().handle(request)


def test_given_requests_at_once_then_each_is_served_without_waiting_for_the_others() -> None:
    api = _MeetingApi(parties=3)
    with LocalHttpServer(api) as server:  # type: ignore[arg-type]
        url = f"{server.base_url}/v1/together"
        with ThreadPoolExecutor(3) as clients:
            answers = list(clients.map(lambda _: requests.get(url, timeout=TIMEOUT), range(3)))

    assert [answer.status_code for answer in answers] == [207, 207, 207]
    assert not api.barrier.broken


def test_given_requests_one_after_another_then_the_server_starts_no_thread_for_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """werkzeug closes every connection after its answer: a thread per request would start
    (and be waited for by the accept loop) on every request."""
    with LocalHttpServer(_EchoApi()) as server:  # type: ignore[arg-type]
        url = f"{server.base_url}/v1/things"
        assert requests.get(url, timeout=TIMEOUT).status_code == 207  # the first thread
        started: list[threading.Thread] = []
        original = threading.Thread.start
        monkeypatch.setattr(
            threading.Thread, "start", lambda thread: (started.append(thread), original(thread))[1]
        )
        answers = [requests.get(url, timeout=TIMEOUT).status_code for _ in range(10)]
        monkeypatch.undo()

    assert answers == [207] * 10
    # A thread frees itself just after its answer is sent, so the next request may find it
    # still busy: then one more starts, and two take turns (werkzeug's way started 10).
    assert len(started) <= 3


# ---------------------------------------------------------------------------- WebSocket


def test_given_a_job_submitted_over_http_then_a_websocket_subscriber_follows_it(
    gateway: Gateway, servers: Servers, held_language_detection: threading.Event
) -> None:
    headers = {"x-api-key": gateway.tenant.api_key}
    submitted = requests.post(
        f"{servers.api_url}/jobs",
        json={
            "pipeline": "text-insights",
            "input": {"text": "A great result. Thanks for reading."},
        },
        headers=headers,
        timeout=TIMEOUT,
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]

    with connect(
        servers.ws_url, additional_headers={"x-api-key": gateway.tenant.api_key}
    ) as websocket:
        websocket.send(json.dumps({"action": "subscribe", "job_id": job_id}))
        messages = [_receive(websocket)]  # the current status, at once
        held_language_detection.set()
        while messages[-1]["status"] != "SUCCEEDED":
            messages.append(_receive(websocket))

    statuses = [message["status"] for message in messages]
    assert statuses[0] in ("QUEUED", "RUNNING")
    # A change made before the subscription may still be on its way (stream, topic), as on
    # AWS, so QUEUED can follow the current status; RUNNING and SUCCEEDED are always there.
    assert "RUNNING" in statuses and statuses[-1] == "SUCCEEDED"
    assert all(m["type"] == "job.status" and m["job_id"] == job_id for m in messages)
    job = requests.get(f"{servers.api_url}/jobs/{job_id}", headers=headers, timeout=TIMEOUT).json()
    assert job["status"] == "SUCCEEDED"


def test_given_an_unknown_action_then_the_default_route_answers(
    gateway: Gateway, servers: Servers
) -> None:
    with connect(
        servers.ws_url, additional_headers={"x-api-key": gateway.tenant.api_key}
    ) as websocket:
        websocket.send(json.dumps({"action": "dance"}))

        assert _receive(websocket) == {
            "type": "error",
            "code": "InvalidInput",
            "message": "unknown action; use subscribe or unsubscribe (got $default)",
        }


def test_given_a_failing_route_function_then_api_gateways_error_reaches_the_client(
    gateway: Gateway, servers: Servers
) -> None:
    def unavailable(params: dict[str, Any]) -> Any:
        raise ServiceError("InternalServerError", "the table is down")

    with (
        connect(
            servers.ws_url, additional_headers={"x-api-key": gateway.tenant.api_key}
        ) as websocket,
        gateway.runtime.providers.override("dynamodb", "GetItem", unavailable),
    ):
        websocket.send(json.dumps({"action": "subscribe", "job_id": "01HWZ06SCY7F9H1K3M5P7R9T1V"}))
        # The function's DynamoDB client backs off (full jitter) before it gives up.
        answer = json.loads(websocket.recv(timeout=30))

    assert answer["message"] == "Internal server error"
    assert answer.keys() == {"message", "connectionId", "requestId"}


@pytest.mark.parametrize("query", ["", "?api_key=aigw_not-a-key"])
def test_given_no_or_a_wrong_key_then_the_handshake_is_refused_with_401(
    servers: Servers, query: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(servers.ws_url + query, open_timeout=TIMEOUT)

    assert refused.value.response.status_code == 401


def test_given_a_pending_tenant_then_the_handshake_is_refused_with_403(
    gateway: Gateway, servers: Servers
) -> None:
    pending = gateway.new_tenant("waiting-ws", status="pending")

    with pytest.raises(InvalidStatus) as refused:
        connect(
            servers.ws_url, additional_headers={"x-api-key": pending.api_key}, open_timeout=TIMEOUT
        )

    assert refused.value.response.status_code == 403


def test_given_a_live_connection_then_the_connections_api_reaches_it_until_it_is_gone(
    gateway: Gateway, servers: Servers
) -> None:
    # The functions' side of the WebSocket API: their boto3 client, as in notifier/app.py.
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://example.execute-api.test/v1",
        region_name=gateway.runtime.region,
    )
    before = _connection_ids(gateway)
    with connect(
        servers.ws_url, additional_headers={"x-api-key": gateway.tenant.api_key}
    ) as websocket:
        (connection_id,) = _connection_ids(gateway) - before

        management.post_to_connection(ConnectionId=connection_id, Data=b'{"hello": 1}')
        assert _receive(websocket) == {"hello": 1}
        described = management.get_connection(ConnectionId=connection_id)
        assert described["Identity"]["SourceIp"] == "127.0.0.1"

        management.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            websocket.recv(timeout=TIMEOUT)

    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId=connection_id, Data=b"{}")
    deadline = time.monotonic() + TIMEOUT
    while connection_id in _connection_ids(gateway) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connection_id not in _connection_ids(gateway)  # $disconnect ran


# ---------------------------------------------------------------------------- stopping


def _listenable(port: int) -> bool:
    """Whether a server could listen on ``port`` again (with SO_REUSEADDR, as servers do:
    the closed connections' TIME_WAIT does not hold the port, a listener would)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def test_given_open_clients_when_the_servers_stop_then_ports_threads_and_providers_are_freed(
    gateway: Gateway,
) -> None:
    registry = gateway.runtime.providers
    post_before = registry.lookup("apigatewaymanagementapi", "PostToConnection")
    threads_before = set(threading.enumerate())
    http = LocalHttpServer(gateway.api)
    websocket_server = LocalWebSocketServer(gateway.runtime)
    api_url, ws_url = http.start(), websocket_server.start()
    before = _connection_ids(gateway)

    with (
        requests.Session() as session,  # its keep-alive connection stays open
        connect(ws_url, additional_headers={"x-api-key": gateway.tenant.api_key}) as client,
    ):
        assert session.get(f"{api_url}/pipelines", timeout=TIMEOUT).status_code == 401
        (connection_id,) = _connection_ids(gateway) - before

        websocket_server.stop()
        http.stop()

        with pytest.raises(ConnectionClosed):
            client.recv(timeout=TIMEOUT)
    assert connection_id not in _connection_ids(gateway)  # stop() ran $disconnect
    assert _listenable(http.port) and _listenable(websocket_server.port)
    left = [
        thread.name
        for thread in set(threading.enumerate()) - threads_before
        if any(mark in thread.name for mark in SERVER_THREADS)
    ]
    assert left == []
    assert registry.lookup("apigatewaymanagementapi", "PostToConnection") == post_before


def test_given_clients_that_left_then_their_connections_leave_nothing_for_the_collector(
    gateway: Gateway,
) -> None:
    """A connection and its API Gateway record pointed at each other: each connection that
    closed (its socket buffers and compression state, about 40 KiB) waited for a full
    collection, which `aigw local` makes rare."""
    server = LocalWebSocketServer(gateway.runtime)
    url = server.start()
    try:
        with connect(url, additional_headers={"x-api-key": gateway.tenant.api_key}):
            pass  # warm-up
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(3):
                with connect(url, additional_headers={"x-api-key": gateway.tenant.api_key}) as ws:
                    ws.send(json.dumps({"action": "ping"}))
                    ws.recv(timeout=TIMEOUT)
            server.stop()  # joins the connections' handlers: $disconnect has run for each
            gc.collect()
            garbage = list(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    finally:
        server.stop()

    # The stopped server's own objects may be there: what each connection made must not.
    per_connection = ("_Connection", "_Client", "ServerProtocol", "PerMessageDeflate", "Frame")
    assert [type(item).__name__ for item in garbage if type(item).__name__ in per_connection] == []
