"""Who may use the gateway, and how fast that changes.

- A suspended tenant is refused within 60 s: REST once API Gateway's authorizer cache
  (30 s) has expired, and an open WebSocket at once (it gets nothing more and is closed).
- An address sending unknown keys is blocked after ten of them, valid keys included, and
  others are not; the answer is a 403 in the API's error shape with a Retry-After.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ROOT, Gateway
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from aigw.local.apis.rest_api import Request, Response, RestApi
from aigw.local.apis.websocket_server import LocalWebSocketServer
from aigw_common.access import TICKET_SECONDS, FailedKeyCounter, TicketStore

#: The issue's bound: a suspension takes effect within this many seconds.
SUSPENSION_BOUND = 60
TIMEOUT = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(gateway: Gateway, clock: Clock) -> RestApi:
    """The gateway's REST API with its own authorizer cache and a clock the test moves."""
    return RestApi.from_runtime(gateway.runtime, clock=clock)


@pytest.fixture(scope="module")
def ws_url(gateway: Gateway) -> Iterator[str]:
    with LocalWebSocketServer(gateway.runtime) as server:
        yield server.url


def _get(api: RestApi, key: str, address: str = "203.0.113.10") -> Response:
    return api.handle(
        Request("GET", "/v1/pipelines", headers={"x-api-key": key}, source_ip=address)
    )


def _address() -> str:
    """A source address no other test uses (the block is per address)."""
    value = uuid.uuid4().int
    return f"198.{value % 200 + 18}.{value // 200 % 250}.{value // 50_000 % 250 + 1}"


# ---------------------------------------------------------------------------- suspension


def test_the_authorizer_cache_outlives_no_suspension_by_more_than_60_seconds(
    api: RestApi,
) -> None:
    ttls = {
        op.authorizer.ttl
        for route in api.definition.routes
        for op in route.operations.values()
        if op.authorizer
    }

    assert ttls and max(ttls) <= SUSPENSION_BOUND


def test_given_a_suspended_tenant_then_rest_answers_403_once_the_cached_allow_expires(
    gateway: Gateway, api: RestApi, clock: Clock
) -> None:
    tenant = gateway.new_tenant("to-suspend-rest")
    assert _get(api, tenant.api_key).status == 200  # allowed, and cached

    gateway.set_status(tenant, "suspended")
    clock.now += SUSPENSION_BOUND

    answer = _get(api, tenant.api_key)
    assert answer.status == 403, answer.body
    error = answer.json()["error"]
    assert error["code"] == "Forbidden"
    assert "suspended" in error["message"]


def _receive(socket: ClientConnection) -> dict[str, Any]:
    return json.loads(socket.recv(timeout=TIMEOUT))


def _closed_after(socket: ClientConnection) -> list[dict[str, Any]]:
    """Every message until the server closes the connection (fails if it does not)."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + TIMEOUT
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            received.append(json.loads(socket.recv(timeout=remaining)))
        except ConnectionClosed:
            return received
        except TimeoutError:
            break
    raise AssertionError(f"the connection is still open; received {received}")


@pytest.fixture
def held_jobs(gateway: Gateway) -> Iterator[threading.Event]:
    """Text jobs wait in their first AI call until the event is set."""
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


def test_given_an_open_websocket_when_its_tenant_is_suspended_then_it_is_closed_unnotified(
    gateway: Gateway, ws_url: str, held_jobs: threading.Event
) -> None:
    tenant = gateway.new_tenant("to-suspend-ws")
    job_id = gateway.submit(
        "text-insights", {"text": "Held for a while. Thanks for reading."}, key=tenant.api_key
    )
    with connect(ws_url, additional_headers={"x-api-key": tenant.api_key}) as socket:
        socket.send(json.dumps({"action": "subscribe", "job_id": job_id}))
        assert _receive(socket)["status"] in ("QUEUED", "RUNNING")

        gateway.set_status(tenant, "suspended")
        held_jobs.set()  # the job goes on and ends; its events reach the notifier
        received = _closed_after(socket)

    assert all(message.get("status") not in ("SUCCEEDED", "FAILED") for message in received)


def test_given_a_suspended_tenant_when_its_open_websocket_subscribes_then_forbidden_and_closed(
    gateway: Gateway, ws_url: str
) -> None:
    tenant = gateway.new_tenant("suspended-subscriber")
    job_id = gateway.submit(
        "text-insights", {"text": "Done soon. Thanks for reading."}, key=tenant.api_key
    )
    with connect(ws_url, additional_headers={"x-api-key": tenant.api_key}) as socket:
        gateway.set_status(tenant, "suspended")
        socket.send(json.dumps({"action": "subscribe", "job_id": job_id}))
        received = _closed_after(socket)

    assert [m.get("code") for m in received] == ["Forbidden"], received


# ---------------------------------------------------------------------------- unknown keys

LIMIT = 10  # the authorizer's failed_key_limit


def test_given_ten_unknown_keys_from_an_address_then_it_is_blocked_even_with_a_valid_key(
    gateway: Gateway, api: RestApi
) -> None:
    address = _address()
    for attempt in range(LIMIT):
        answer = _get(api, f"aigw_guess-{attempt:02d}-{uuid.uuid4().hex}", address)
        assert answer.status == 401, (attempt, answer.body)

    blocked = _get(api, gateway.tenant.api_key, address)

    assert blocked.status == 403, blocked.body
    error = blocked.json()["error"]
    assert error["code"] == "Forbidden"
    assert "too many unknown API keys" in error["message"]
    wait = int(error["message"].rsplit("try again in ", 1)[1].split(" ")[0])
    assert 0 < wait <= int(blocked.headers["Retry-After"]) == 600


def test_given_a_blocked_address_then_other_addresses_are_served(
    gateway: Gateway, api: RestApi
) -> None:
    address = _address()
    for attempt in range(LIMIT):
        _get(api, f"aigw_guess-{attempt:02d}-{uuid.uuid4().hex}", address)

    assert _get(api, gateway.tenant.api_key, address).status == 403
    assert _get(api, gateway.tenant.api_key, _address()).status == 200


def test_given_nine_unknown_keys_then_the_address_is_not_blocked(
    gateway: Gateway, api: RestApi
) -> None:
    address = _address()
    for attempt in range(LIMIT - 1):
        _get(api, f"aigw_guess-{attempt:02d}-{uuid.uuid4().hex}", address)

    assert _get(api, gateway.tenant.api_key, address).status == 200


def test_given_a_blocked_address_then_its_websocket_handshake_is_refused(
    gateway: Gateway, ws_url: str
) -> None:
    # From an address of its own on the loopback network: the block is per address.
    value = uuid.uuid4().int
    source = {
        "source_address": (
            f"127.{value % 250 + 1}.{value // 250 % 250}.{value // 62500 % 250 + 1}",
            0,
        )
    }
    for attempt in range(LIMIT):
        guess = f"aigw_guess-{attempt:02d}-{uuid.uuid4().hex}"
        assert _refused(ws_url, additional_headers={"x-api-key": guess}, **source) == 401

    assert (
        _refused(ws_url, additional_headers={"x-api-key": gateway.tenant.api_key}, **source) == 403
    )


class _Table:
    """The Auth table's two operations the counter uses, in memory."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        found = [
            {"pk": key["pk"], "failures": {"N": str(self.items[key["pk"]["S"]])}}
            for key in request["Keys"]
            if key["pk"]["S"] in self.items
        ]
        return {"Responses": {table: found}}

    def update_item(self, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.items[Key["pk"]["S"]] = self.items.get(Key["pk"]["S"], 0) + 1
        return {"Attributes": {"failures": {"N": str(self.items[Key["pk"]["S"]])}}}


@pytest.mark.parametrize(
    ("failed_at", "checked_at", "blocked_for"),
    [
        ([100.0] * 10, 100.0, 500),  # ten in the current window: until the next one ends
        ([100.0] * 9, 100.0, 0),  # nine: not blocked
        ([290.0] * 5 + [310.0] * 5, 310.0, 290),  # straddling a window's end: together
        ([100.0] * 10, 599.0, 1),  # still counted as the previous window
        ([100.0] * 10, 600.0, 0),  # two windows later: free again
        ([290.0] * 5 + [310.0] * 5, 600.0, 0),  # the five of 310 alone do not block
    ],
)
def test_the_failure_window_blocks_and_frees_an_address(
    failed_at: list[float], checked_at: float, blocked_for: int
) -> None:
    counter = FailedKeyCounter(_Table(), "auth", limit=10, window=300)
    for moment in failed_at:
        counter.record("192.0.2.1", now=moment)

    assert counter.blocked_for("192.0.2.1", now=checked_at) == blocked_for
    assert counter.blocked_for("192.0.2.2", now=checked_at) == 0


# ---------------------------------------------------------------------------- WebSocket credentials


def _refused(url: str, **options: Any) -> int:
    """The status of a refused handshake (fails if it opens)."""
    with pytest.raises(InvalidStatus) as refused:
        connect(url, **options)
    return refused.value.response.status_code


def _ticket(gateway: Gateway, key: str = "default") -> str:
    answer = gateway.request("POST", "/ws-tickets", key=key)
    assert answer.status == 201, answer.body
    assert answer.json()["expires_at"].endswith("Z")
    return str(answer.json()["ticket"])


def test_given_a_ticket_then_it_opens_one_websocket_for_its_tenant(
    gateway: Gateway, ws_url: str
) -> None:
    job_id = gateway.submit("text-insights", {"text": "Followed with a ticket."})
    ticket = _ticket(gateway)

    with connect(f"{ws_url}?ticket={ticket}") as socket:
        socket.send(json.dumps({"action": "subscribe", "job_id": job_id}))
        assert _receive(socket)["job_id"] == job_id

    assert _refused(f"{ws_url}?ticket={ticket}") == 401  # used up


def test_a_ticket_is_stored_only_as_its_hash(gateway: Gateway) -> None:
    ticket = _ticket(gateway)

    items = gateway.runtime.client("dynamodb").scan(
        TableName=gateway.runtime.physical_id("AuthTable")
    )["Items"]
    assert not any(ticket in json.dumps(item) for item in items)
    assert any(item["pk"]["S"].startswith("ticket#") for item in items)


def test_given_an_expired_ticket_then_the_handshake_is_refused(
    gateway: Gateway, ws_url: str
) -> None:
    store = TicketStore(
        gateway.runtime.client("dynamodb"), gateway.runtime.physical_id("AuthTable")
    )
    stale = store.issue(gateway.tenant.tenant_id, now=time.time() - TICKET_SECONDS - 1)

    assert _refused(f"{ws_url}?ticket={stale.ticket}") == 401


def test_given_a_ticket_of_a_tenant_suspended_since_then_403(gateway: Gateway, ws_url: str) -> None:
    tenant = gateway.new_tenant("suspended-after-ticket")
    ticket = _ticket(gateway, key=tenant.api_key)
    gateway.set_status(tenant, "suspended")

    assert _refused(f"{ws_url}?ticket={ticket}") == 403


def test_given_the_key_in_the_websocket_url_then_the_handshake_is_refused(
    gateway: Gateway, ws_url: str
) -> None:
    """?api_key= put the long-lived key in URLs, which logs keep: it is not accepted."""
    assert _refused(f"{ws_url}?api_key={gateway.tenant.api_key}") == 401


def test_given_a_ticket_on_a_rest_request_then_401(gateway: Gateway) -> None:
    ticket = _ticket(gateway)

    answer = gateway.request("GET", "/pipelines", key=None, query={"ticket": ticket})

    assert answer.status == 401


# ---------------------------------------------------------------------------- AWS's models


def test_the_connections_api_operations_we_call_answer_gone_for_a_closed_connection() -> None:
    """The notifier and the WebSocket function post to and close connections, catching
    GoneException: both operations model it, with the HTTP methods the IAM statements name."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("apigatewaymanagementapi")
    for operation, method in (("PostToConnection", "POST"), ("DeleteConnection", "DELETE")):
        described = model.operation_model(operation)
        assert described.http["method"] == method
        assert "GoneException" in {error.name for error in described.error_shapes}


def test_websocket_authorizers_have_no_result_cache_to_outlive_a_suspension() -> None:
    """API Gateway caches authorizer results for REST and HTTP APIs only: the WebSocket
    authorizer runs at every $connect (botocore's model says so; the template sets none)."""
    import botocore.session
    from samtranslator.yaml_helper import yaml_parse

    model = botocore.session.get_session().get_service_model("apigatewayv2")
    ttl = model.shape_for("CreateAuthorizerRequest").members["AuthorizerResultTtlInSeconds"]
    assert "Supported only for HTTP API" in ttl.documentation

    template = yaml_parse((ROOT / "template.yaml").read_text())
    assert (
        "AuthorizerResultTtlInSeconds"
        not in template["Resources"]["WebSocketAuthorizer"]["Properties"]
    )
