"""API keys never reach a log: traffic of every kind through `aigw local` at DEBUG level,
then every line it wrote (its own log, the functions' logs, the libraries' debug output)
and every line the SDK logged are searched for the key.

The key is printed once by design, in the banner on stdout, which is read before the log
starts; nothing after it may name the key again.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import aigw
from aigw.local.apis.websocket_server import LocalWebSocketServer
from aigw.local_gateway.process import LocalGatewayProcess

ROOT = Path(__file__).resolve().parents[2]


def test_given_traffic_at_debug_level_then_no_log_names_the_api_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = "aigw_dev_" + secrets.token_urlsafe(24)
    gateway = LocalGatewayProcess(
        "--template",
        str(ROOT / "template.yaml"),
        "--api-key",
        key,
        "--log-level",
        "DEBUG",
        "--providers",
        "simulated",
        "--simulated-service-ms",
        "1",
    )
    banner = gateway.start()
    try:
        assert banner["API key"] == key
        rest, ws = banner["REST API"], banner["WebSocket"]
        # Functions run first: their in-process Powertools loggers are named "aigw" (INFO,
        # from the template), the parent of the runtime's "aigw.local" loggers, whose DEBUG
        # lines must still be written. Then the key in a header, and in a URL by a client
        # that still does that, refused and not logged either.
        assert httpx.get(f"{rest}/pipelines", headers={"x-api-key": key}).status_code == 200
        with connect(ws, additional_headers={"x-api-key": key}) as socket:
            socket.send("not JSON")
            assert json.loads(socket.recv(timeout=30))["type"] == "error"
        with pytest.raises(InvalidStatus):
            connect(f"{ws}?api_key={key}")
        with (
            caplog.at_level(logging.DEBUG),
            # Named: in-process functions' Powertools loggers ("aigw") may have quietened it.
            caplog.at_level(logging.DEBUG, logger="aigw.client.websocket"),
            aigw.Client(rest, key, ws_url=ws) as client,
        ):
            client.pipelines()
            job = client.submit("text-insights", {"text": "Logged nowhere, not even once."})
            assert client.wait(job, timeout=60).status == "SUCCEEDED"  # over the WebSocket
            ticket = client.websocket_ticket()
        with connect(aigw.ticket_url(ws, ticket.ticket)) as socket:  # as a browser does
            socket.send(json.dumps({"action": "subscribe", "job_id": job.job_id}))
            assert json.loads(socket.recv(timeout=30))["status"] == "SUCCEEDED"
        assert httpx.get(f"{rest}/jobs", headers={"x-api-key": key + "x"}).status_code == 401
        answer = httpx.post(f"{rest}/jobs", headers={"x-api-key": key}, content=b"[")
        assert answer.status_code == 400
    finally:
        assert gateway.stop() == 0
    log = Path(gateway.log_path or "").read_text(errors="replace")
    gateway.close()

    # The first handshake was logged header by header, with the key masked.
    assert "< x-api-key: ***" in log
    assert key not in log, [line for line in log.splitlines() if key in line][:5]
    assert key not in caplog.text, [line for line in caplog.text.splitlines() if key in line][:5]
    assert "x-api-key: ***" in caplog.text  # the SDK's handshake was logged, masked


def test_the_local_websocket_servers_handshake_log_masks_keys_in_urls_and_headers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What the websockets library logs of a handshake at DEBUG, through the server's
    logger: a key in the URL (refused, but logged as sent) or in a header is masked."""
    assert LocalWebSocketServer  # the module that gives its server this logger, imported
    log = logging.getLogger("aigw.local.websocket.protocol")
    with caplog.at_level(logging.DEBUG, logger=log.name):
        log.debug(
            "< %s %s %s", "GET", "/v1?x=1&api_key=aigw_secret-in-url&ticket=wst_t", "HTTP/1.1"
        )
        log.debug("< %s: %s", "X-Api-Key", "aigw_secret-in-header")
        log.debug("< %s: %s", "Host", "example")

    assert "secret" not in caplog.text and "wst_t" not in caplog.text
    assert "GET /v1?x=1&api_key=***&ticket=*** HTTP/1.1" in caplog.text
    assert "X-Api-Key: ***" in caplog.text and "Host: example" in caplog.text
