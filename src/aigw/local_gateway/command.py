"""``aigw local``: the whole gateway on localhost, offline.

Deploys a template (template.yaml by default) into the offline runtime and serves its REST
APIs (emulated API Gateway) and its WebSocket API, prints the URLs and what was deployed
and what not (and why), then runs until Ctrl-C. For aigw's own template it also creates a
development tenant and prints its API key; any other SAM template is served as it is. The
AI services are answered by the default offline providers (``aigw.providers``) unless
``--providers none``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import secrets
import signal
import sys
import threading
import warnings
from contextlib import ExitStack
from pathlib import Path

from aigw.local.apis.api_definition import RestApiError
from aigw.local.apis.http_api import HttpApiError
from aigw.local.apis.service_integration import IntegrationError
from aigw.local.deploy.deployer import DeploymentError
from aigw.local.deploy.template import TemplateError
from aigw.local.runtime import DEFAULT_ADMISSION_LIMIT, LocalRuntime
from aigw.local.serve import LocalServer
from aigw.local.state import StateError, StateStore
from aigw.local_gateway.jobs import interrupt_unfinished_jobs
from aigw.providers import install_default_providers, simulated
from aigw.tenants import NewTenant, create_tenant

DEV_TENANT_FILE = "development-tenant.json"
#: The garbage collector's thresholds while serving (see where they are set).
COLLECTOR_THRESHOLDS = (50_000, 20, 10)


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise ValueError(f"--parameter wants NAME=VALUE, not {pair!r}")
        parameters[name] = value
    return parameters


def _development_tenant(
    runtime: LocalRuntime, api_key: str | None, state: StateStore | None
) -> NewTenant:
    """The tenant whose key the banner prints: with a state directory, the same one across
    restarts (its key is kept there, readable only by its owner), else a new one."""
    dynamodb, table = runtime.client("dynamodb"), runtime.physical_id("TenantsTable")
    saved = state.directory / DEV_TENANT_FILE if state is not None else None
    if saved is not None and saved.is_file():
        known = json.loads(saved.read_text())
        if api_key is None or api_key == known["api_key"]:
            item = dynamodb.get_item(TableName=table, Key={"tenant_id": {"S": known["tenant_id"]}})
            if "Item" in item:
                return NewTenant(known["tenant_id"], "development", "active", known["api_key"])
    tenant = create_tenant(
        dynamodb,
        table,
        "development",
        api_key=api_key or "aigw_dev_" + secrets.token_urlsafe(24),
    )
    if saved is not None:
        saved.write_text(json.dumps({"tenant_id": tenant.tenant_id, "api_key": tenant.api_key}))
        saved.chmod(0o600)
    return tenant


def is_gateway_template(runtime: LocalRuntime) -> bool:
    """Whether the template is aigw's own (its tenants and jobs tables): only then are the
    development tenant, its key and the gateway's banner lines added."""
    return {"TenantsTable", "JobsTable", "RestApi"} <= set(runtime.resources)


def add_arguments(local: argparse.ArgumentParser) -> None:
    """The options of ``aigw local``."""
    local.add_argument("--template", default="template.yaml")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=3000, help="REST API port (0: any free)")
    local.add_argument("--ws-port", type=int, default=3001, help="WebSocket port (0: any)")
    local.add_argument(
        "--aws-port",
        type=int,
        default=0,
        help="port of the local AWS endpoint (moto) for the AWS CLI, boto3 and the presigned "
        "upload and result URLs (default 0: any free port)",
    )
    local.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter, e.g. TenantThrottleRate=5 (repeatable)",
    )
    local.add_argument("--api-key", help="the development tenant's key (default: random)")
    local.add_argument(
        "--state-dir",
        help="keep tables and buckets (documents, jobs, results) in this directory across "
        "restarts (default: in memory only)",
    )
    local.add_argument("--log-level", default="WARNING")
    local.add_argument(
        "--providers",
        choices=["default", "simulated", "none"],
        default="default",
        help="what answers the AI services: 'default' the offline models, 'simulated' "
        "trivial answers after a fixed service time (for load tests of the gateway itself), "
        "'none' moto's canned answers",
    )
    local.add_argument(
        "--max-running-executions",
        type=int,
        default=DEFAULT_ADMISSION_LIMIT,
        metavar="N",
        help="executions (jobs) that run at once; later ones wait their turn, still QUEUED "
        f"(default {DEFAULT_ADMISSION_LIMIT})",
    )
    local.add_argument(
        "--simulated-service-ms",
        type=float,
        default=50.0,
        help="service time of each simulated AI call, in milliseconds (default 50)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``aigw local`` until SIGINT/SIGTERM; 0 on a clean stop."""
    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=args.log_level, format=log_format)
    # The runtime's loggers sit under "aigw", the template's Powertools service name. The
    # first function to run (the every-minute reconciler, say) sets that logger's level
    # from its environment and puts a filter on the root logger's handlers that drops
    # every "aigw.*" record, the runtime's --log-level DEBUG lines included. They get a
    # handler of their own, at the level asked for here.
    own_handler = logging.StreamHandler()
    own_handler.setFormatter(logging.Formatter(log_format))
    for name in ("aigw.local", "aigw.local_gateway"):
        own = logging.getLogger(name)
        own.setLevel(args.log_level)
        own.propagate = False
        own.addHandler(own_handler)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # The engine logs every failed state at ERROR with a repr of its whole parse tree;
        # a failing job is normal business, and its record carries the error.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        # The SAM translator warns that it has no remote feature-toggle config (offline).
        logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)
        # Functions that publish no metric on some path (a 404, a validation error).
        warnings.filterwarnings("ignore", message="No application metrics to publish")
    template = Path(args.template)
    if not template.is_file():
        print(f"aigw local: no template at {template}", file=sys.stderr)
        return 2
    try:
        parameters = _parameters(args.parameter)
    except ValueError as error:
        print(f"aigw local: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if args.max_running_executions < 1:
        print("aigw local: --max-running-executions must be at least 1", file=sys.stderr)
        return 2
    runtime = LocalRuntime(
        template, parameters=parameters, max_running_executions=args.max_running_executions
    )
    try:
        runtime.start()
    except (TemplateError, DeploymentError) as error:
        # The template's own mistake (YAML that does not parse, a reference to nothing, a
        # definition that does not read): said in one line, as sam validate would.
        print(f"aigw local: {error}", file=sys.stderr)
        return 2
    with ExitStack() as providers:
        providers.callback(runtime.stop)
        if args.providers == "default":
            # Model servers (SageMaker) stop with the gateway.
            providers.enter_context(install_default_providers(runtime.providers))
        elif args.providers == "simulated":
            simulated.install(runtime.providers, args.simulated_service_ms / 1000)
        try:
            server = LocalServer(
                runtime,
                host=args.host,
                port=args.port,
                ws_port=args.ws_port,
                aws_port=args.aws_port,
                state_dir=args.state_dir,
            )
        except (RestApiError, HttpApiError, IntegrationError) as error:
            # An API the runtime refuses to emulate (an integration it does not serve).
            print(f"aigw local: {error}", file=sys.stderr)
            return 2
        try:
            restored = server.restore_state()
        except StateError as error:
            print(f"aigw local: {error}", file=sys.stderr)
            return 2
        ours = is_gateway_template(runtime)
        interrupted = interrupt_unfinished_jobs(runtime) if restored is not None and ours else 0
        tenant = _development_tenant(runtime, args.api_key, server.state) if ours else None
        urls = server.start()
        # What exists now (moto, botocore's service models, the deployed template) lives as
        # long as the gateway. Frozen, it is left out of the collector's scans: otherwise
        # every full collection walks it again, a pause that showed as about a tenth of the
        # CPU of a busy gateway.
        gc.collect()
        gc.freeze()
        # What a job leaves in reference cycles is a few closures now (engine fixes in
        # aigw.local.engine.reference_cycles), so collecting young objects often only
        # promotes the work in flight: with Python's defaults (700, 10, 10) a full
        # collection ran every 3-4 s at 8 clients, pausing every thread 100-220 ms to free
        # next to nothing. Young generations this large let in-flight objects die young:
        # measured back to back over 600 jobs, no full collection under load (23 before),
        # collector time 2-2.3 s -> 0.5-0.6 s, the same memory growth.
        gc.set_threshold(*COLLECTOR_THRESHOLDS)
        try:
            for name, url in urls.items():
                print(f"{name}: {url}")
            for key, value in runtime.outputs.items():
                print(f"Output {key}: {value}")
            for line in server.describe():
                print(f"Deployed: {line}")
            if server.state is not None and restored is not None:
                print(
                    f"State: {server.state.directory} ({restored['items']} items, "
                    f"{restored['objects']} objects restored; "
                    f"{interrupted} unfinished jobs marked FAILED)"
                )
            if tenant is not None:
                rest_url, ws_url = urls["REST API"], urls["WebSocket"]
                print(f"Tenant: {tenant.tenant_id}")
                print(f"API key: {tenant.api_key}")
                print(f'Try: curl -s {rest_url}/pipelines -H "x-api-key: {tenant.api_key}"')
                print(
                    f"For the aigw CLI and SDK: export AIGW_URL={rest_url} "
                    f"AIGW_WS_URL={ws_url} AIGW_API_KEY={tenant.api_key}"
                )
            print("Ctrl-C stops the gateway." if ours else "Ctrl-C stops it.", flush=True)
            stop.wait()
        finally:
            server.stop()
    print("aigw local stopped.", flush=True)
    return 0
