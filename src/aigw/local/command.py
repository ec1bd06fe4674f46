"""``aigw local``: the whole gateway on localhost, offline.

Deploys template.yaml into the offline runtime and serves its REST API (emulated API
Gateway) and its WebSocket API, creates a development tenant and prints the URLs and the
API key, each on its own line, then runs until Ctrl-C. The AI services are answered by the
default offline providers (``aigw.providers``) unless ``--providers none``.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
import sys
import threading
from pathlib import Path

from aigw.local.http_server import LocalHttpServer
from aigw.local.rest_api import RestApi
from aigw.local.runtime import LocalRuntime
from aigw.local.websocket_server import LocalWebSocketServer
from aigw.providers import install_default_providers
from aigw.tenants import create_tenant


def add_arguments(local: argparse.ArgumentParser) -> None:
    """The options of ``aigw local``."""
    local.add_argument("--template", default="template.yaml")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=3000, help="REST API port (0: any free)")
    local.add_argument("--ws-port", type=int, default=3001, help="WebSocket port (0: any)")
    local.add_argument(
        "--aws-port", type=int, default=None, help="also expose the local AWS (moto) here"
    )
    local.add_argument("--api-key", help="the development tenant's key (default: random)")
    local.add_argument("--log-level", default="WARNING")
    local.add_argument(
        "--providers",
        choices=["default", "none"],
        default="default",
        help="offline AI models answering the AI services ('none': moto's canned answers)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``aigw local`` until SIGINT/SIGTERM; 0 on a clean stop."""
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    template = Path(args.template)
    if not template.is_file():
        print(f"aigw local: no template at {template}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with LocalRuntime(template) as runtime:
        if args.providers == "default":
            install_default_providers(runtime.providers)
        api_key = args.api_key or "aigw_dev_" + secrets.token_urlsafe(24)
        tenant = create_tenant(
            runtime.client("dynamodb"),
            runtime.physical_id("TenantsTable"),
            "development",
            api_key=api_key,
        )
        http = LocalHttpServer(RestApi.from_runtime(runtime), args.host, args.port)
        websocket = LocalWebSocketServer(runtime, args.host, args.ws_port)
        rest_url = http.start()
        try:
            ws_url = websocket.start()
            try:
                aws_url = (
                    runtime.serve_aws(host=args.host, port=args.aws_port)
                    if (args.aws_port is not None)
                    else None
                )
                print(f"REST API: {rest_url}")
                print(f"WebSocket: {ws_url}")
                if aws_url:
                    print(f"AWS endpoint: {aws_url}")
                print(f"Tenant: {tenant.tenant_id}")
                print(f"API key: {tenant.api_key}")
                print(f'Try: curl -s {rest_url}/pipelines -H "x-api-key: {tenant.api_key}"')
                print("Ctrl-C stops the gateway.", flush=True)
                stop.wait()
            finally:
                websocket.stop()
        finally:
            http.stop()
    print("aigw local stopped.", flush=True)
    return 0
