"""A WebSocket route function run by a newer Python (a worker process) reaches the live
connections through the @connections API, as on AWS.

Its client is given the API's own URL (``https://<domainName>/<stage>``), which only API
Gateway serves. In-process the call is answered before anything is sent; from a worker it
went to that URL and failed, so the client never heard back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.sync.client import connect

from aigw.local.lambdas.worker import find_interpreter
from aigw.local.runtime import LocalRuntime
from aigw.local.serve import LocalServer

TEMPLATE = Path(__file__).parent / "sockets_app" / "template.yaml"


def test_a_worker_route_function_answers_over_the_connections_api() -> None:
    if find_interpreter((3, 13)) is None:
        pytest.fail("python3.13 is needed (pyenv or PATH), as for the modern-python corpus app")
    with LocalRuntime(TEMPLATE) as runtime:
        server = LocalServer(runtime)
        urls = server.start()
        try:
            with connect(urls["WebSocket"], open_timeout=10) as client:
                client.send(json.dumps({"action": "echo", "text": "hello"}))
                first = json.loads(client.recv(timeout=60))
                second = json.loads(client.recv(timeout=30))
        finally:
            server.stop()

    assert first == {"echo": "hello"}
    # A connection that is not open is GoneException (410), as API Gateway answers.
    assert second == {"gone": 410}
