"""docs/benchmarks.md and its charts from one run's results, and the summary table."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import cost_model
import load as load_bench
import matplotlib.pyplot as plt
from prices import PRICES, PRICES_DATE

VERDICT = {True: "met", False: "**NOT met**"}
PLAIN = {True: "met", False: "NOT met"}
GATEWAY_CATEGORIES = ("Step Functions", "Lambda", "DynamoDB", "SNS")
#: The designs the cost tables compare: ours, ours before Express-first, the usual one.
DESIGNS = {"ours": "aigw", "standard": "aigw, Standard job-runner", "usual": "usual"}


def _money(value: float) -> str:
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.3f}"
    return f"${value:.4f}"


def _ms(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.0f} ms"


# --------------------------------------------------------------------------- targets


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(area: str, target: str, measured: str, met: bool | None) -> None:
        rows.append({"area": area, "target": target, "measured": measured, "met": met})

    runtime = results.get("runtime")
    if runtime:
        median = runtime["single"]["median_ms"]
        add(
            "offline runtime", "5-state execution median <= 60 ms", f"{median:.1f} ms", median <= 60
        )
        seconds = runtime["concurrent_seconds"]
        add(
            "offline runtime",
            f"{runtime['concurrent']} concurrent executions <= 2.5 s",
            f"{seconds:.2f} s",
            seconds <= 2.5,
        )
    cost = results.get("cost")
    if cost:
        summary = cost_model.summarize(cost)
        by_key = {(r["workload"], r["path"]): r for r in summary["rows"]}
        for workload, pipeline_machine in (
            ("text-1k", "TextInsightsStateMachine"),
            ("image", "ImageInsightsStateMachine"),
        ):
            row = by_key[(workload, "job")]["ours"]
            tasks = sum(
                e["lambda_tasks"] for e in row["executions"] if e["machine"] == pipeline_machine
            )
            add(
                "cost",
                f"{pipeline_machine.removesuffix('StateMachine')}: 0 Lambda invocations",
                f"{tasks} in the pipeline's workflow ({sum(row['lambdas'].values())} per job "
                "in all, gateway plumbing)",
                tasks == 0,
            )
        transitions = [
            r["ours"]["runner_transitions"]
            for r in summary["rows"]
            if r["path"] == "job" and r["ours"]["runner_transitions"] is not None
        ]
        add(
            "cost",
            "job-runner <= 5 state transitions per successful job",
            f"{max(transitions)} (the pipelines it runs)",
            max(transitions) <= 5,
        )
        text = by_key[("text-1k", "job")]
        standard_transitions = int(text["ours"]["units"].get("sfn_standard_transition", 0))
        add(
            "cost",
            "Express-first: a text job runs no Standard state transition",
            f"{standard_transitions}",
            standard_transitions == 0,
        )
        previous = (
            f"; Standard job-runner {_money(text['standard']['gateway_per_1000'])}"
            if "standard" in text
            else ""
        )
        add(
            "cost",
            "gateway overhead per 1,000 text jobs <= 10% of the usual design's",
            f"{text['ratio']:.1%} ({_money(text['ours']['gateway_per_1000'])} vs "
            f"{_money(text['usual']['gateway_per_1000'])}{previous})",
            text["ratio"] <= 0.10,
        )
        job_rows = [r for r in summary["rows"] if r["path"] == "job" and "usual" in r]
        ours_total = sum(r["ours"]["gateway_per_1000"] for r in job_rows)
        usual_total = sum(r["usual"]["gateway_per_1000"] for r in job_rows)
        ratio = ours_total / usual_total
        worst = max(job_rows, key=lambda r: r["ratio"])
        add(
            "cost",
            "gateway overhead <= 50% of the usual design's",
            f"{ratio:.0%} over all {len(job_rows)} workloads (worst: {worst['workload']} "
            f"{worst['ratio']:.0%})",
            ratio <= 0.5 and worst["ratio"] <= 0.5,
        )
        for workload, label in (
            ("text-1k", "1,000-character text job"),
            ("document-2p", "2-page document job"),
        ):
            row = by_key[(workload, "job")]["ours"]
            share = row["gateway_per_1000"] / row["ai_per_1000"]
            add("cost", f"overhead <= 5% of AI charges, {label}", f"{share:.1%}", share <= 0.05)
    load = results.get("load")
    if load:
        phases = {row["clients"]: row for row in load_bench.summary(load)}
        eight = phases.get(8)
        if eight:
            add(
                "local",
                "submit p99 <= 50 ms at 8 clients",
                _ms(eight["submit_p99"]),
                eight["submit_p99"] <= 50,
            )
        best = max(phases.values(), key=lambda row: row["jobs_per_s"])
        add(
            "local",
            ">= 20 text-insights jobs/s on 2 cores",
            f"{best['jobs_per_s']:.1f} jobs/s (best, at {best['clients']} clients)",
            best["jobs_per_s"] >= 20,
        )
        notify = [(c, row["notify_p95"]) for c, row in phases.items()]
        add(
            "local",
            "WebSocket notification <= 50 ms after the status write (p95, every level)",
            ", ".join(f"{_ms(v)} at {c}" for c, v in notify),
            all(v <= 50 for _, v in notify),
        )
        growth = load["rss_after_kib"] / load["rss_before_kib"] - 1
        add(
            "local",
            f"memory growth over {load['jobs']:,} jobs <= 10%",
            f"{load['rss_before_kib'] / 1024:.0f} -> {load['rss_after_kib'] / 1024:.0f} MiB "
            f"({growth:+.0%})",
            growth <= 0.10,
        )
        errors = sum(row["errors"] for row in phases.values()) + len(load["warmup_errors"])
        add("local", "errors = 0", str(errors), errors == 0)
    cold = results.get("cold")
    if cold:
        worst_cold = max(cold["rows"], key=lambda row: row["ratio"])
        add(
            "cold start",
            "every handler imports in <= 1.5x bare boto3",
            f"{worst_cold['ratio']:.1f}x worst ({worst_cold['function']}); "
            f"{sum(r['ratio'] <= 1.5 for r in cold['rows'])}/{len(cold['rows'])} within",
            all(row["ratio"] <= 1.5 for row in cold["rows"]),
        )
    total = results.get("total_seconds", 0.0)
    add("bench", "make bench < 10 minutes", f"{total / 60:.1f} min", total < 600)
    return rows


def summary_text(rows: list[dict[str, Any]]) -> str:
    widths = [12, 58, 52, 8]
    lines = [
        "| "
        + " | ".join(
            h.ljust(w)
            for h, w in zip(("area", "target", "measured", "result"), widths, strict=True)
        )
        + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for row in rows:
        cells = [row["area"], row["target"], row["measured"], PLAIN[bool(row["met"])]]
        lines.append(
            "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- charts


def _cost_chart(summary: dict[str, Any], path: Path) -> None:
    rows = [r for r in summary["rows"] if r["path"] == "job" and "usual" in r]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.38
    colors = {
        "Step Functions": "#4c72b0",
        "Lambda": "#dd8452",
        "DynamoDB": "#55a868",
        "SNS": "#c44e52",
    }
    for offset, design, label in (
        (-width / 2, "ours", "aigw"),
        (width / 2, "usual", "usual design"),
    ):
        bottom = [0.0] * len(rows)
        for category in GATEWAY_CATEGORIES:
            values = [r[design]["dollars"].get(category, 0.0) * 1000 for r in rows]
            ax.bar(
                [i + offset for i in range(len(rows))],
                values,
                width,
                bottom=bottom,
                color=colors[category],
                alpha=1.0 if design == "ours" else 0.55,
                edgecolor="black",
                linewidth=0.4,
                label=f"{category}" if design == "ours" else None,
            )
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        for i, total in enumerate(bottom):
            ax.text(i + offset, total, label, ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xticks(range(len(rows)), [r["workload"] for r in rows])
    ax.set_ylim(0, ax.get_ylim()[1] * 1.2)
    ax.set_ylabel("gateway overhead, $ per 1,000 jobs")
    ax.set_title("Gateway overhead per 1,000 jobs: aigw (solid) vs the usual design (light)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _load_chart(rows: list[dict[str, Any]], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    clients = [row["clients"] for row in rows]
    for key, label in (
        ("submit_p50", "submit p50"),
        ("submit_p99", "submit p99"),
        ("e2e_p50", "end-to-end p50"),
        ("e2e_p99", "end-to-end p99"),
        ("notify_p95", "notification p95"),
    ):
        left.plot(clients, [row[key] for row in rows], marker="o", label=label)
    left.axhline(50, color="grey", linestyle=":", linewidth=1)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xticks(clients, [str(c) for c in clients])
    left.set_xlabel("concurrent clients")
    left.set_ylabel("ms")
    left.set_title("Latency (dotted: 50 ms)")
    left.legend(fontsize=7)
    right.bar([str(c) for c in clients], [row["jobs_per_s"] for row in rows], color="#4c72b0")
    right.axhline(20, color="grey", linestyle=":", linewidth=1)
    right.set_xlabel("concurrent clients")
    right.set_ylabel("text-insights jobs/s")
    right.set_title("Throughput (dotted: target 20/s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _cold_chart(cold: dict[str, Any], path: Path) -> None:
    rows = sorted(cold["rows"], key=lambda row: row["import_ms"])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.barh([r["function"] for r in rows], [r["import_ms"] for r in rows], color="#dd8452")
    ax.axvline(cold["boto3_ms"], color="black", linewidth=1, label="bare import boto3")
    ax.axvline(1.5 * cold["boto3_ms"], color="grey", linestyle=":", label="target 1.5x boto3")
    ax.set_xlabel(f"handler import, ms (median of {cold['runs']} fresh processes)")
    ax.set_title("Cold start: handler module import time")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- markdown


def _cost_sections(cost: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    workloads = {w.name: w for w in cost["workloads"]}
    lines = [
        "## 1. Cost per job on AWS",
        "",
        f"Measured on the offline runtime with the simulated AI services answering after "
        f"{cost['service_ms']:.0f} ms (a stand-in for the services' real latency: it is what "
        "Express workflows and Lambda wrappers are billed for while they wait), "
        f"{cost['runs']} measured jobs per row after one warm-up (the median job by gateway "
        "cost is shown). Everything one job causes is counted, from `POST /v1/jobs` to the "
        "last WebSocket notifier run: Standard state transitions from the execution "
        "histories, Express executions (request + duration rounded up to 100 ms at 64 MB), "
        "every Lambda invocation at its template MemorySize and architecture (arm64) with "
        "its measured duration rounded up to 1 ms, DynamoDB request units from the real "
        "item sizes, SNS publishes, S3 requests and the AI services' units, all counted by "
        "a botocore hook and a wrapper around the Lambda bridge while the job ran "
        "(`bench/meter.py`). One REST API request per job (the submit). The authorizer's "
        "answer is cached (TTL 300 s), so a busy tenant pays no authorizer invocation per job.",
        "",
        "**Gateway overhead** = Step Functions + Lambda + DynamoDB + SNS (the target's "
        "definition). API Gateway and S3 requests are shown separately (the same for both "
        "designs). AI charges are the services' own prices for the units the job used.",
        "",
        "### Workloads",
        "",
        "| workload | what |",
        "|---|---|",
    ]
    for name, workload in workloads.items():
        lines.append(f"| `{name}` | {workload.description} |")
    lines += [
        "",
        "### Per 1,000 jobs",
        "",
        "| workload | path | design | Step Functions | Lambda | DynamoDB | SNS "
        "| **gateway overhead** "
        "| API Gateway + S3 | AI charges | overhead / AI | ours / usual |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        for design in DESIGNS:
            if design not in row:
                continue
            data = row[design]
            d = data["dollars"]
            # Below $0.001 per 1,000 jobs (predict: the endpoint's hours are not per job)
            # a share says nothing.
            share = (
                data["gateway_per_1000"] / data["ai_per_1000"]
                if data["ai_per_1000"] >= 0.001
                else math.nan
            )
            ratio = f"{row['ratio']:.0%}" if design == "ours" and "ratio" in row else ""
            lines.append(
                f"| `{row['workload']}` | {row['path']} | {DESIGNS[design]} | "
                + " | ".join(_money(d.get(c, 0.0) * 1000) for c in GATEWAY_CATEGORIES)
                + f" | **{_money(data['gateway_per_1000'])}** "
                f"| {_money(data['also_paid_per_1000'])} "
                f"| {_money(data['ai_per_1000'])} | "
                f"{'n/a' if math.isnan(share) else f'{share:.1%}'} | {ratio} |"
            )
    lines += [
        "",
        "`sync` is `POST /v1/run/{pipeline}` (an Express synchronous execution; the API "
        "Lambda waits for it and is billed for the wait). The usual design has no "
        "synchronous path, so it is compared on the job path only. *aigw, Standard "
        "job-runner* is the previous design, measured in the same run: the same template "
        "with `ExpressJobPipelines` empty, so the jobs that now run Express-first "
        "(express-job-runner, an asynchronous Express execution) run on the Standard "
        "job-runner as before.",
        "",
        "![gateway overhead per 1,000 jobs](benchmarks/cost.png)",
        "",
        "### What one job does (median run)",
        "",
        "| workload | path | design | Standard transitions | Express executions (billed ms) "
        "| Lambda invocations | DynamoDB WRU / RRU | SNS publishes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        for design in DESIGNS:
            if design not in row:
                continue
            data = row[design]
            units = data["units"]
            express = [e for e in data["executions"] if e["kind"] == "EXPRESS"]
            express_text = ", ".join(
                f"{e['machine'].removesuffix('StateMachine')} {math.ceil(e['ms'] / 100) * 100:.0f}"
                for e in express
            )
            if row["path"] == "sync":
                express_text = f"{int(units.get('sfn_express_request', 0))} sync"
            lambdas = ", ".join(
                f"{name.removesuffix('Function')} x{count}"
                for name, count in sorted(data["lambdas"].items())
            )
            lines.append(
                f"| `{row['workload']}` | {row['path']} | {DESIGNS[design]} "
                f"| {int(units.get('sfn_standard_transition', 0))} | {express_text or '-'} "
                f"| {lambdas} "
                f"| {units.get('dynamodb_wru', 0):g} / {units.get('dynamodb_rru', 0):g} "
                f"| {units.get('sns_publish', 0):g} |"
            )
    lines += [
        "",
        "### What metering and limits add (median run, included above)",
        "",
        "Per job: the admission's two conditional updates of the Usage table in the job's "
        "creating transaction (the concurrency slot, the month's count and reservation), the "
        "settlement (one transaction on the Usage table: the settled marker, the slot and "
        "the month released and charged, the day's aggregates; plus, for a job that ended "
        "without usage, its estimate written onto the job), the settle function the Jobs "
        "stream invokes (stream reads by Lambda are free), and the API's consistent read of "
        "the tenant's limits. A synchronous run also writes and ends its run record in the "
        "Jobs table, whose stream events invoke the job-events function too (it skips them).",
        "",
        "| workload | path | Usage table WRU / RRU | tenant read RRU | run record WRU "
        "| invocations (settle, job-events) | per 1,000 jobs | share of gateway overhead |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        data = row["ours"]
        metering = data["metering"]
        share = (
            data["metering_per_1000"] / data["gateway_per_1000"]
            if data["gateway_per_1000"]
            else math.nan
        )
        lines.append(
            f"| `{row['workload']}` | {row['path']} "
            f"| {metering['usage_wru']:g} / {metering['usage_rru']:g} "
            f"| {metering['tenant_rru']:g} | {metering['run_record_wru']:g} "
            f"| {metering['invocations']:g} | {_money(data['metering_per_1000'])} "
            f"| {'n/a' if math.isnan(share) else f'{share:.1%}'} |"
        )
    lines += [
        "",
        "### The usual design, generated",
        "",
        "`bench/baseline.py` generates it from our ASL in every run (nothing hand-maintained): "
        "job-runner with the pipeline's workflow inlined as one Standard workflow (each "
        "`startExecution.sync` becomes a one-branch Parallel holding the child's states, "
        "recursively), every `aws-sdk` AI task replaced by a task on a Lambda wrapper "
        "(`bench/baseline_wrapper`, one SDK call per invocation, 512 MB arm64 like our "
        "functions), and SNS publish states after MarkRunning, Finalize and MarkFailed that "
        "feed the same notifier (the table-stream publisher is switched off). The job's "
        "status writes, finalize and the document and predict Lambdas stay as they are. "
        "Each pipeline's generated definition is written to `docs/benchmarks/` for review:",
        "",
        "| pipeline | states in the generated workflow | file |",
        "|---|---|---|",
    ]
    for pipeline, states in cost["baseline_states"].items():
        lines.append(
            f"| {pipeline} | {states} | [baseline-{pipeline}.asl.json]"
            f"(benchmarks/baseline-{pipeline}.asl.json) |"
        )
    lines += [
        "",
        f"### Price table (us-east-1 list prices, taken {PRICES_DATE})",
        "",
        "From memory of the AWS pricing pages; the entries marked *verified* were checked "
        "against a searchable copy of the page on that date. First tier, no free tier. "
        "Not modelled (the same or nearly for both designs): CloudWatch Logs, X-Ray traces, "
        "KMS requests of the encrypted topics, data transfer, storage, and Lambda INIT "
        "(cold start) billing.",
        "",
        "| item | price | unit | source |",
        "|---|---|---|---|",
    ]
    for item in PRICES.values():
        shown = (
            f"${item.dollars * 1e6:,.2f} per million"
            if item.dollars < 0.001
            else f"${item.dollars:.4g}"
        )
        lines.append(f"| `{item.key}` | {shown} | {item.unit} | {item.source} |")
    return lines


def _load_sections(load: dict[str, Any]) -> list[str]:
    rows = load_bench.summary(load)
    lines = [
        "## 2. Local throughput and latency",
        "",
        f"The gateway as a subprocess (`{load['command']}`), the simulated AI services "
        f"answering every call after {load['service_ms']:.0f} ms. Closed-loop clients "
        "(asyncio + httpx + websockets), each with its own tenant and WebSocket, run one "
        "1,000-character text-insights job at a time: `POST /v1/jobs`, `subscribe`, wait "
        "for the terminal push, `GET /v1/jobs/{id}`. **Submit** is the POST's latency, "
        "**end-to-end** is from the POST to the terminal push, **notification** is the "
        "push's arrival minus the job's `updated_at` (the terminal status write, millisecond "
        "resolution, same clock). **Gateway overhead** is end-to-end minus the providers' "
        f"critical path ({load['provider_critical_path_ms']:.0f} ms: language detection, "
        "then the four analyses in parallel), the way LiteLLM reports its overhead over a "
        "fake endpoint with a fixed latency.",
        "",
        "| clients | jobs | errors | jobs/s | submit p50 / p95 / p99 | end-to-end p50 / p95 / p99 "
        "| gateway overhead p50 | notification p50 / p95 / p99 | gateway CPU per job |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['clients']} | {row['jobs']} | {row['errors']} | {row['jobs_per_s']:.1f} "
            f"| {row['submit_p50']:.0f} / {row['submit_p95']:.0f} / {row['submit_p99']:.0f} ms "
            f"| {row['e2e_p50']:.0f} / {row['e2e_p95']:.0f} / {row['e2e_p99']:.0f} ms "
            f"| {row['overhead_p50']:.0f} ms "
            f"| {row['notify_p50']:.0f} / {row['notify_p95']:.0f} / {row['notify_p99']:.0f} ms "
            f"| {row['cpu_ms_per_job']:.0f} ms |"
        )
    errors = [e for phase in load["phases"] for e in phase.errors] + list(load["warmup_errors"])
    lines += [
        "",
        f"Memory (VmRSS of the gateway process): {load['rss_before_kib'] / 1024:.0f} MiB after "
        f"the warm-up, {load['rss_after_kib'] / 1024:.0f} MiB after {load['jobs']:,} jobs, "
        f"{load['rss_settled_kib'] / 1024:.0f} MiB two seconds later (idle).",
        "",
    ]
    if errors:
        distinct: dict[str, int] = {}
        for error in errors:
            text = re.sub(r'"request_id": "[^"]*"', '"request_id": ...', error)[:160]
            distinct[text] = distinct.get(text, 0) + 1
        lines += ["Errors (counted, not retried):", ""]
        lines += [f"- {count} x `{text}`" for text, count in distinct.items()]
        lines.append("")
    lines += ["![latency and throughput](benchmarks/load.png)", ""]
    return lines


def _cold_sections(cold: dict[str, Any]) -> list[str]:
    lines = [
        "## 3. Cold start",
        "",
        f"Each handler module imported in a fresh `python` ({cold['python']}, the bench's "
        "interpreter) with its CodeUri as working directory and first on `sys.path`, the "
        "common layer next, the function's environment from the template (tracing on, as "
        "deployed) and credentials in the environment as Lambda provides them; the import "
        f"alone is timed, median of {cold['runs']} processes, interleaved with a bare "
        f"`import boto3` (median **{cold['boto3_ms']:.0f} ms** in this run). The biggest parts "
        "come from one `python -X importtime` run per function (cumulative ms of the handler's "
        "direct imports; `<module body>` is module-level work such as creating boto3 "
        "clients). Package: `.aws-sam/build/<Function>/` from `sam build`"
        + (
            f"; the common layer adds {cold['layer_bytes'] / 1e6:.1f} MB."
            if cold.get("layer_bytes")
            else " (not found: run `make sam`)."
        ),
        "",
        "| function | memory | import (median) | x boto3 | <= 1.5x | modules loaded | package "
        "| biggest parts (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in sorted(cold["rows"], key=lambda r: -r["ratio"]):
        parts = ", ".join(f"`{name}` {ms:.0f}" for name, ms in row["breakdown"][:4])
        package = f"{row['package_bytes'] / 1024:.1f} KiB" if row["package_bytes"] else "n/a"
        lines.append(
            f"| {row['function']} | {row['memory_mb']} MB | {row['import_ms']:.0f} ms "
            f"| {row['ratio']:.1f} | {PLAIN[row['ratio'] <= 1.5]} | {row['modules']} "
            f"| {package} | {parts} |"
        )
    lines += ["", "![cold start](benchmarks/cold_start.png)", ""]
    return lines


def write(results: dict[str, Any], out: Path) -> list[dict[str, Any]]:
    charts = out / "benchmarks"
    charts.mkdir(parents=True, exist_ok=True)
    rows = targets(results)
    m = results["machine"]
    seconds = results["seconds"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`bench/run.py`); do not edit by hand. Every number below "
        "comes from the run described here; targets are from issues 6 and 15 and are reported as "
        "measured (a miss is a miss).",
        "",
        f"- Run: {results['started']}, {results['total_seconds'] / 60:.1f} min in total ("
        + ", ".join(f"{name} {value:.0f} s" for name, value in seconds.items())
        + ").",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM; {m['os']}; "
        f"Python {m['python']}.",
        f"- Load average at start / end: {results['load_average_start']} / "
        f"{results['load_average_end']} (other processes share these cores: local timings "
        "are upper bounds for an idle machine).",
        "",
        "## Summary",
        "",
        "| area | target | measured | result |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['area']} | {row['target']} | {row['measured']} | {VERDICT[bool(row['met'])]} |"
        )
    lines.append("")
    runtime = results.get("runtime")
    if runtime:
        single = runtime["single"]
        lines += [
            "## 0. The offline runtime",
            "",
            "`bench/runtime_bench.py`'s measurements: the sample app's 5-state execution "
            "(Pass, Lambda task, Choice, DynamoDB task, Succeed) run in-process.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| 5-state execution, median wall | {single['median_ms']:.1f} ms |",
            f"| 5-state execution, p95 wall | {single['p95_ms']:.1f} ms |",
            f"| 5-state execution, engine start to stop | {single['engine_median_ms']:.1f} ms |",
            f"| {runtime['concurrent']} concurrent executions, median of {runtime['rounds']} "
            f"| {runtime['concurrent_seconds']:.2f} s |",
            "",
        ]
    cost = results.get("cost")
    if cost:
        summary = cost_model.summarize(cost)
        _cost_chart(summary, charts / "cost.png")
        lines += _cost_sections(cost, summary)
        lines.append("")
    load = results.get("load")
    if load:
        _load_chart(load_bench.summary(load), charts / "load.png")
        lines += _load_sections(load)
    cold = results.get("cold")
    if cold:
        _cold_chart(cold, charts / "cold_start.png")
        lines += _cold_sections(cold)
    notes = Path(__file__).resolve().parent / "findings.md"
    if notes.is_file():
        lines += [notes.read_text().rstrip(), ""]
    (out / "benchmarks.md").write_text("\n".join(lines) + "\n")
    return rows
