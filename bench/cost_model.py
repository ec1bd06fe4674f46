"""Cost per job on AWS, from real executions in the offline runtime, ours vs the usual design.

For each workload (a 1,000-character text, the same with translation, a 2-page document, an
image, a prediction) the gateway's template is deployed on the offline runtime with the
simulated AI services (a fixed service time standing in for the services' latency), a job
is submitted through the emulated REST API (``POST /v1/jobs``, as a user would), and
everything it causes until the last notification is metered (:mod:`bench.meter`): the
Standard executions' state transitions from their histories, the Express executions'
billed duration, every Lambda invocation with its measured duration, DynamoDB request
units, SNS publishes, S3 requests and the AI services' units. The synchronous path
(``POST /v1/run/{pipeline}``) is metered the same way.

The usual design (:mod:`bench.baseline`) is generated from our ASL and run the same way in
the same process: one deployment per pipeline, the same jobs, the same meter and prices.
So is the previous design, ours with every job on the Standard job-runner (the template's
``ExpressJobPipelines`` empty), for the workloads that now run Express-first.
"""

from __future__ import annotations

import base64
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baseline import PIPELINE_MACHINES, baseline_template, count_states
from botocore.exceptions import ClientError
from meter import Call, Invocation, Meter, bench_calls
from prices import price
from samtranslator.yaml_helper import yaml_parse

from aigw.local.apis.rest_api import Request, RestApi
from aigw.local.engine.retention import on_express_finished
from aigw.local.runtime import LocalRuntime
from aigw.providers import simulated
from aigw.tenants import create_tenant

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
GENEROUS = {
    "TenantThrottleRate": "1000",
    "TenantThrottleBurst": "2000",
    "StageThrottleRate": "1000",
    "StageThrottleBurst": "2000",
}
EXPRESS_GB = 64 / 1024
LAMBDA_X86_GB_SECOND = 0.0000166667
GATEWAY = ("Step Functions", "Lambda", "DynamoDB", "SNS")
RUNNERS = ("JobRunnerStateMachine", "ExpressJobRunnerStateMachine")
#: The previous design: every job on the Standard job-runner.
STANDARD_RUNNER = {"ExpressJobPipelines": ""}
ALSO_PAID = ("API Gateway", "S3")
AI = ("Comprehend", "Translate", "Textract", "Rekognition", "SageMaker")
#: What metering and limits add to a job (issue 12): the Usage table's counters and
#: aggregates, the settle function that the Jobs stream invokes, the API's read of the
#: tenant's limits and, for a synchronous run, its run record in the Jobs table.
METERING_TABLE, TENANTS_TABLE, JOBS_TABLE = "UsageTable", "TenantsTable", "JobsTable"
SETTLE_FUNCTION, API_FUNCTION, JOB_EVENTS_FUNCTION = (
    "SettleFunction",
    "ApiFunction",
    "JobEventsFunction",
)


def _text(characters: int) -> str:
    sentence = (
        "Acme Corp shipped the order on time and the support team was great. "
        "Contact billing@example.com about the invoice. "
    )
    return (sentence * (characters // len(sentence) + 1))[:characters]


def _document(pages: int, characters_per_page: int) -> str:
    page = "\n".join(
        _text(characters_per_page)[i : i + 75] for i in range(0, characters_per_page, 75)
    )
    # The simulated Textract reads pages of text; the gateway wants a PDF's signature.
    return "%PDF-1.7\n" + "\f".join([page] * pages)


@dataclass(frozen=True)
class Workload:
    name: str
    pipeline: str
    description: str
    input: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    sync: bool = False


CHURN = {
    "tenure_months": 14,
    "monthly_charges": 70.5,
    "support_calls": 3,
    "plan": "pro",
    "paperless_billing": True,
}
DOCUMENT_PAGES, DOCUMENT_PAGE_CHARACTERS = 2, 1500
WORKLOADS = [
    Workload(
        "text-1k",
        "text-insights",
        "text-insights, 1,000-character English text",
        {"text": _text(1000)},
        sync=True,
    ),
    Workload(
        "text-1k-translate",
        "text-insights",
        "text-insights, 1,000 characters, translated to Spanish",
        {"text": _text(1000)},
        {"target_language": "es"},
    ),
    Workload(
        "document-2p",
        "document-insights",
        f"document-insights, {DOCUMENT_PAGES} pages of {DOCUMENT_PAGE_CHARACTERS:,} characters",
        {
            "document_base64": base64.b64encode(
                _document(DOCUMENT_PAGES, DOCUMENT_PAGE_CHARACTERS).encode()
            ).decode()
        },
    ),
    Workload(
        "image",
        "image-insights",
        "image-insights, one image (4 Rekognition calls)",
        {"image_base64": base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(2048)).decode()},
        sync=True,
    ),
    Workload(
        "predict",
        "predict",
        "predict, one SageMaker invocation",
        {"model": "churn", "features": CHURN},
        sync=True,
    ),
]


# --------------------------------------------------------------------------- measuring


@dataclass
class Execution:
    machine: str
    kind: str  # STANDARD | EXPRESS
    ms: float
    transitions: int
    failed_events: int
    lambda_tasks: int


@dataclass
class Measurement:
    design: str
    workload: str
    path: str  # job | sync
    status: str
    calls: list[Call]
    invocations: list[Invocation]
    executions: list[Execution]
    rest_requests: int
    wall_ms: float


class Deployment:
    """One template on the offline runtime with the simulated services and the meter."""

    def __init__(
        self,
        design: str,
        template: Path,
        meter: Meter,
        service_s: float,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.design, self.template, self.meter, self.service_s = design, template, meter, service_s
        self.parameters = GENEROUS | (parameters or {})

    def __enter__(self) -> Deployment:
        # A finished Express execution is not kept (as on AWS): its description and history
        # are caught as it ends, by execution ARN.
        self.finished: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        self._unlisten = on_express_finished(
            lambda described, history: self.finished.__setitem__(
                described["executionArn"], (described, history())
            )
        )
        self.runtime = LocalRuntime(self.template, parameters=self.parameters).start()
        simulated.install(self.runtime.providers, self.service_s)
        self.meter.attach(self.runtime)
        self.api = RestApi.from_runtime(self.runtime)
        with bench_calls():
            self.key = create_tenant(
                self.runtime.client("dynamodb"), self.runtime.physical_id("TenantsTable"), "bench"
            ).api_key
        self.machines = {
            logical_id: self.runtime.physical_id(logical_id)
            for logical_id, resource in self.runtime.template.resources.items()
            if resource.type == "AWS::StepFunctions::StateMachine"
        }
        self.kinds = {}
        with bench_calls():
            sfn = self.runtime.client("stepfunctions")
            for logical_id, arn in self.machines.items():
                self.kinds[logical_id] = sfn.describe_state_machine(stateMachineArn=arn)["type"]
        self.architectures = {
            logical_id: (resource.properties.get("Architectures") or ["x86_64"])[0]
            for logical_id, resource in self.runtime.template.resources.items()
            if resource.type == "AWS::Lambda::Function"
        }
        self.tables = {
            str(self.runtime.physical_id(logical_id)): logical_id
            for logical_id, resource in self.runtime.template.resources.items()
            if resource.type == "AWS::DynamoDB::Table"
        }
        return self

    def __exit__(self, *exc: object) -> None:
        self.meter.uninstall_bridge()
        self.runtime.stop()
        self._unlisten()

    def _executions(self) -> dict[str, set[str]]:
        sfn = self.runtime.client("stepfunctions")
        found: dict[str, set[str]] = {}
        for logical_id, arn in self.machines.items():
            arns = {e for e, (d, _) in list(self.finished.items()) if d["stateMachineArn"] == arn}
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                arns.update(e["executionArn"] for e in page["executions"])
            found[logical_id] = arns
        return found

    def _described(self, arn: str) -> dict[str, Any]:
        sfn = self.runtime.client("stepfunctions")
        return self._finished_or(arn, 0, lambda: dict(sfn.describe_execution(executionArn=arn)))

    def _history(self, arn: str) -> list[dict[str, Any]]:
        return self._finished_or(arn, 1, lambda: self.runtime.history(arn))

    def _finished_or(self, arn: str, part: int, ask: Callable[[], Any]) -> Any:
        if arn in self.finished:
            return self.finished[arn][part]
        try:
            return ask()
        except ClientError as error:
            # An Express execution that ended between the look and the call: it was
            # recorded (on_express_finished) just before it was dropped.
            code = error.response.get("Error", {}).get("Code")
            if code == "ExecutionDoesNotExist" and arn in self.finished:
                return self.finished[arn][part]
            raise

    def _request(self, method: str, path: str, body: Any) -> Any:
        headers = {"content-type": "application/json", "x-api-key": self.key}
        return self.api.handle(
            Request(method, "/v1" + path, headers=headers, body=json.dumps(body))
        )

    def measure(self, workload: Workload, path: str) -> Measurement:
        with bench_calls():
            before = self._executions()
        started = time.perf_counter()
        with self.meter.window() as (calls, invocations):
            if path == "job":
                body = {"pipeline": workload.pipeline, "input": workload.input}
                if workload.options:
                    body["options"] = workload.options
                answer = self._request("POST", "/jobs", body)
                if answer.status != 202:
                    raise RuntimeError(f"{workload.name}: POST /jobs answered {answer.status}")
            else:
                body = {"input": workload.input, "options": workload.options}
                answer = self._request("POST", f"/run/{workload.pipeline}", body)
            with bench_calls():
                status = self._settle(before, answer, path)
        wall = (time.perf_counter() - started) * 1000
        with bench_calls():
            executions = self._describe(before)
        return Measurement(
            self.design, workload.name, path, status, calls, invocations, executions, 1, wall
        )

    def _settle(self, before: dict[str, set[str]], answer: Any, path: str) -> str:
        """Wait until the job and everything it caused (events, notifications) are done."""
        status = "SUCCEEDED" if answer.status == 200 else f"HTTP {answer.status}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = self._executions()
            new = [arn for logical_id, arns in now.items() for arn in arns - before[logical_id]]
            described = [self._described(arn) for arn in new]
            if all(d["status"] != "RUNNING" for d in described) and (path == "sync" or new):
                if path == "job":
                    runners = {self.machines[r] for r in RUNNERS if r in self.machines}
                    runner = [d for d in described if d["stateMachineArn"] in runners]
                    status = runner[0]["status"] if runner else "NO RUNNER"
                self.runtime.drain(30)
                return status
            time.sleep(0.01)
        raise TimeoutError("the job did not settle in 60 s")

    def _describe(self, before: dict[str, set[str]]) -> list[Execution]:
        executions = []
        for logical_id, arns in self._executions().items():
            for arn in sorted(arns - before[logical_id]):
                described = self._described(arn)
                stop = described.get("stopDate") or described["startDate"]
                ms = (stop - described["startDate"]).total_seconds() * 1000
                events = self._history(arn)
                transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
                failed = sum(1 for e in events if e["type"].endswith("Failed"))
                lambda_tasks = sum(
                    1
                    for e in events
                    if e["type"] == "LambdaFunctionScheduled"
                    or (
                        e["type"] == "TaskScheduled"
                        and e["taskScheduledEventDetails"]["resourceType"] == "lambda"
                    )
                )
                executions.append(
                    Execution(
                        logical_id, self.kinds[logical_id], ms, transitions, failed, lambda_tasks
                    )
                )
        return executions


# --------------------------------------------------------------------------- pricing


@dataclass
class Priced:
    units: dict[str, float]
    dollars: dict[str, float]  # by category
    #: What metering and limits add (units and ``usd``), included in the above.
    metering: dict[str, float] = field(default_factory=dict)

    @property
    def gateway(self) -> float:
        return sum(self.dollars.get(category, 0.0) for category in GATEWAY)

    @property
    def also_paid(self) -> float:
        return sum(self.dollars.get(category, 0.0) for category in ALSO_PAID)

    @property
    def ai(self) -> float:
        return sum(self.dollars.get(category, 0.0) for category in AI)


_CATEGORY = {
    "dynamodb_wru": "DynamoDB",
    "dynamodb_rru": "DynamoDB",
    "sns_publish": "SNS",
    "s3_put": "S3",
    "s3_get": "S3",
    "apigw_ws_message": "API Gateway",
    "comprehend_unit": "Comprehend",
    "translate_character": "Translate",
    "textract_detect_page": "Textract",
    "textract_analyze_tables_forms_page": "Textract",
    "rekognition_image": "Rekognition",
    "sagemaker_data_gb": "SageMaker",
}


def price_measurement(
    m: Measurement, architectures: dict[str, str], tables: dict[str, str] | None = None
) -> Priced:
    units: dict[str, float] = {}
    metering = dict.fromkeys(
        ("usage_wru", "usage_rru", "tenant_rru", "run_record_wru", "settle_wru", "invocations"),
        0.0,
    )
    metering["usd"] = 0.0

    def add(key: str, value: float) -> None:
        units[key] = units.get(key, 0.0) + value

    dollars: dict[str, float] = {}

    def charge(category: str, value: float) -> None:
        dollars[category] = dollars.get(category, 0.0) + value

    for execution in m.executions:
        if execution.kind == "STANDARD":
            add("sfn_standard_transition", execution.transitions)
            charge("Step Functions", execution.transitions * price("sfn_standard_transition"))
        else:
            billed_s = math.ceil(max(execution.ms, 1) / 100) * 0.1
            add("sfn_express_request", 1)
            add("sfn_express_gb_second", billed_s * EXPRESS_GB)
            charge(
                "Step Functions",
                price("sfn_express_request")
                + billed_s * EXPRESS_GB * price("sfn_express_gb_second"),
            )
    for call in m.calls:
        if "express_sync_ms" in call.units:
            billed_s = math.ceil(max(call.units["express_sync_ms"], 1) / 100) * 0.1
            add("sfn_express_request", 1)
            add("sfn_express_gb_second", billed_s * EXPRESS_GB)
            charge(
                "Step Functions",
                price("sfn_express_request")
                + billed_s * EXPRESS_GB * price("sfn_express_gb_second"),
            )
    for invocation in m.invocations:
        gb_s = math.ceil(invocation.ms) / 1000 * invocation.memory_mb / 1024
        arm = architectures.get(invocation.function, "arm64") == "arm64"
        add("lambda_request", 1)
        add("lambda_gb_second", gb_s)
        gb_price = price("lambda_arm_gb_second") if arm else LAMBDA_X86_GB_SECOND
        charge("Lambda", price("lambda_request") + gb_s * gb_price)
        # Settlement; and a synchronous run's record is a stream event the job-events
        # function is invoked for (and skips).
        if invocation.function == SETTLE_FUNCTION or (
            m.path == "sync" and invocation.function == JOB_EVENTS_FUNCTION
        ):
            metering["invocations"] += 1
            metering["usd"] += price("lambda_request") + gb_s * gb_price
    for call in m.calls:
        for key, value in call.units.items():
            if key in _CATEGORY:
                add(key, value)
                charge(_CATEGORY[key], value * price(key))
        write = "dynamodb_wru" in call.units
        for physical, value in call.tables.items():
            table = (tables or {}).get(physical, physical)
            if table == METERING_TABLE:
                kind = "usage_wru" if write else "usage_rru"
            elif table == TENANTS_TABLE and call.caller == API_FUNCTION and not write:
                kind = "tenant_rru"
            elif table == JOBS_TABLE and call.caller == SETTLE_FUNCTION and write:
                kind = "settle_wru"  # an estimate written onto a job that ended without usage
            elif table == JOBS_TABLE and m.path == "sync" and call.caller == API_FUNCTION:
                kind = "run_record_wru" if write else "run_record_rru"
            else:
                continue
            metering[kind] = metering.get(kind, 0.0) + value
            metering["usd"] += value * price("dynamodb_wru" if write else "dynamodb_rru")
    add("apigw_rest_request", m.rest_requests)
    charge("API Gateway", m.rest_requests * price("apigw_rest_request"))
    return Priced(units, dollars, metering)


# --------------------------------------------------------------------------- running


@dataclass
class Result:
    design: str
    workload: str
    path: str
    runs: list[Measurement]
    priced: list[Priced]

    def median(self) -> tuple[Measurement, Priced]:
        order = sorted(range(len(self.priced)), key=lambda i: self.priced[i].gateway)
        index = order[len(order) // 2]
        return self.runs[index], self.priced[index]


def run_design(
    design: str,
    template: Path,
    workloads: list[Workload],
    meter: Meter,
    service_s: float,
    runs: int,
    paths: tuple[str, ...] = ("job", "sync"),
    parameters: dict[str, str] | None = None,
) -> list[Result]:
    results = []
    with Deployment(design, template, meter, service_s, parameters) as deployment:
        for workload in workloads:
            for path in paths:
                if path == "sync" and not workload.sync:
                    continue
                deployment.measure(workload, path)  # warm: imports, clients, authorizer cache
                measured = [deployment.measure(workload, path) for _ in range(runs)]
                for m in measured:
                    if m.status != "SUCCEEDED":
                        raise RuntimeError(f"{design} {workload.name} {path}: {m.status}")
                priced = [
                    price_measurement(m, deployment.architectures, deployment.tables)
                    for m in measured
                ]
                results.append(Result(design, workload.name, path, measured, priced))
    return results


def run(service_ms: float = 150.0, runs: int = 3, out_dir: Path | None = None) -> dict[str, Any]:
    """Measure ours and the usual design; returns the results and the generated baselines."""
    meter = Meter()
    meter.install_hooks()
    service_s = service_ms / 1000
    started = time.perf_counter()
    try:
        ours = run_design("aigw", TEMPLATE, WORKLOADS, meter, service_s, runs)
        express_first = [w for w in WORKLOADS if w.pipeline in _express_pipelines()]
        standard = run_design(
            "aigw-standard",
            TEMPLATE,
            express_first,
            meter,
            service_s,
            runs,
            paths=("job",),
            parameters=STANDARD_RUNNER,
        )
        baseline: list[Result] = []
        definitions: dict[str, dict[str, Any]] = {}
        with tempfile.TemporaryDirectory(prefix="aigw-baseline-") as tmp:
            for pipeline in PIPELINE_MACHINES:
                template, definition = baseline_template(pipeline, Path(tmp))
                definitions[pipeline] = definition
                workloads = [w for w in WORKLOADS if w.pipeline == pipeline]
                baseline += run_design(
                    "usual", template, workloads, meter, service_s, runs, paths=("job",)
                )
    finally:
        meter.uninstall_hooks()
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for pipeline, definition in definitions.items():
            (out_dir / f"baseline-{pipeline}.asl.json").write_text(
                json.dumps(definition, indent=2) + "\n"
            )
    return {
        "service_ms": service_ms,
        "runs": runs,
        "seconds": time.perf_counter() - started,
        "ours": ours,
        "standard": standard,
        "baseline": baseline,
        "baseline_states": {p: count_states(d) for p, d in definitions.items()},
        "workloads": WORKLOADS,
    }


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Per workload and path: units and dollars per 1,000 jobs (median run), both designs."""
    rows = []
    usual = {(r.workload, r.path): r for r in results["baseline"]}
    previous = {(r.workload, r.path): r for r in results.get("standard", [])}
    for result in results["ours"]:
        measurement, priced = result.median()
        row: dict[str, Any] = {
            "workload": result.workload,
            "path": result.path,
            "ours": _row(measurement, priced),
        }
        other = usual.get((result.workload, result.path))
        if other is not None:
            m2, p2 = other.median()
            row["usual"] = _row(m2, p2)
            row["ratio"] = priced.gateway / p2.gateway if p2.gateway else math.nan
        before = previous.get((result.workload, result.path))
        if before is not None:
            m3, p3 = before.median()
            row["standard"] = _row(m3, p3)
        rows.append(row)
    return {"rows": rows}


def _express_pipelines() -> list[str]:
    """The pipelines the template runs Express-first by default."""
    template = yaml_parse(TEMPLATE.read_text())
    return str(template["Parameters"]["ExpressJobPipelines"]["Default"]).split(",")


def _row(m: Measurement, p: Priced) -> dict[str, Any]:
    lambdas: dict[str, int] = {}
    for invocation in m.invocations:
        lambdas[invocation.function] = lambdas.get(invocation.function, 0) + 1
    runner = [e for e in m.executions if e.machine == "JobRunnerStateMachine"]
    return {
        "units": p.units,
        "dollars": p.dollars,
        "gateway_per_1000": p.gateway * 1000,
        "also_paid_per_1000": p.also_paid * 1000,
        "ai_per_1000": p.ai * 1000,
        "metering": p.metering,
        "metering_per_1000": p.metering.get("usd", 0.0) * 1000,
        "lambdas": lambdas,
        "lambda_ms": statistics.fmean([i.ms for i in m.invocations]) if m.invocations else 0.0,
        "executions": [
            {
                "machine": e.machine,
                "kind": e.kind,
                "ms": e.ms,
                "transitions": e.transitions,
                "lambda_tasks": e.lambda_tasks,
            }
            for e in m.executions
        ],
        "runner_transitions": runner[0].transitions if runner else None,
        "failed_events": sum(e.failed_events for e in m.executions),
        "calls": _call_counts(m.calls),
        "wall_ms": m.wall_ms,
    }


def _call_counts(calls: list[Call]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        key = f"{call.service}:{call.operation}"
        counts[key] = counts.get(key, 0) + 1
    return counts
