"""The bench's own launcher of the local gateway with simulated AI services.

A copy of ``aigw local``'s wiring (``aigw.local.command``): the template deployed on the
offline runtime, its REST API over HTTP and its WebSocket API, a development tenant, plus
the local AWS endpoint (so the load generator can add one tenant per client). The AI
operations are answered by :mod:`aigw.providers.simulated` after a fixed service time.
Until ``aigw local --providers simulated --simulated-service-ms N`` exists, the load
benchmark starts this script instead; it prints the same banner lines.

    python bench/gateway.py --simulated-service-ms 50 --port 0 --ws-port 0
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from aigw.local.http_server import LocalHttpServer
from aigw.local.rest_api import RestApi
from aigw.local.runtime import LocalRuntime
from aigw.local.websocket_server import LocalWebSocketServer
from aigw.providers import simulated
from aigw.tenants import create_tenant

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ws-port", type=int, default=0)
    parser.add_argument("--aws-port", type=int, default=0)
    parser.add_argument("--simulated-service-ms", type=float, default=50.0)
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parameters = dict(pair.split("=", 1) for pair in args.parameter)
    faulthandler.register(signal.SIGUSR1)  # a thread dump on demand, for diagnosing stalls
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with LocalRuntime(args.template, parameters=parameters) as runtime:
        simulated.install(runtime.providers, args.simulated_service_ms / 1000)
        tenant = create_tenant(
            runtime.client("dynamodb"),
            runtime.physical_id("TenantsTable"),
            "development",
            api_key="aigw_dev_" + secrets.token_urlsafe(24),
        )
        http = LocalHttpServer(RestApi.from_runtime(runtime), args.host, args.port)
        websocket = LocalWebSocketServer(runtime, args.host, args.ws_port)
        rest_url = http.start()
        try:
            ws_url = websocket.start()
            try:
                aws_url = runtime.serve_aws(host=args.host, port=args.aws_port)
                print(f"REST API: {rest_url}")
                print(f"WebSocket: {ws_url}")
                print(f"AWS endpoint: {aws_url}")
                print(f"Tenant: {tenant.tenant_id}")
                print(f"API key: {tenant.api_key}")
                print(f"PID: {os.getpid()}")
                print("Ctrl-C stops the gateway.", flush=True)
                stop.wait()
            finally:
                websocket.stop()
        finally:
            http.stop()
    print("aigw local stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
