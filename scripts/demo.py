"""``make demo``: the whole gateway on this machine, with one job per pipeline.

Starts ``aigw local`` (the template, state machines and handlers that ``sam deploy`` ships,
with the offline AI models), then, as any client would, over HTTP and WebSocket only, with
the Python SDK (``aigw.Client``): uploads the sample documents through the presigned POST
the API hands out, submits one job per sample in samples/, follows every job on the
WebSocket API (one connection, the raw protocol), prints the results as ``aigw result``
does, and ends with the tenant's usage and AI cost as ``aigw usage --group-by pipeline``
shows it.
Exits 0 only if every job SUCCEEDED and was counted in the usage; otherwise 1, with the
failed jobs' errors and the gateway's log tail.

Run: ``make demo`` (sets everything up), or ``.venv/bin/python scripts/demo.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from aigw.client import Client, ticket_url
from aigw.client.display import summary, usage_report
from aigw.local_gateway.process import GatewayStartError, LocalGatewayProcess

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT")
#: A job is counted in the usage when the Jobs stream has settled it, moments after it ends.
SETTLEMENT_SECONDS = 30.0


@dataclass
class DemoJob:
    title: str
    pipeline: str
    sample: str
    options: dict[str, Any] = field(default_factory=dict)
    job_id: str = ""
    statuses: list[tuple[float, str]] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.statuses[-1][1] if self.statuses else "NOT SUBMITTED"


JOBS = [
    DemoJob("English review", "text-insights", "review-en.txt"),
    # Apertium translates it (es→en); the analysis then runs on the English text.
    DemoJob("Spanish review", "text-insights", "review-es.txt", {"target_language": "en"}),
    # A few short lines are too little text to tell the language by: say it.
    DemoJob("Scanned invoice (PNG)", "document-insights", "invoice.png", {"language": "en"}),
    DemoJob("Contract (PDF)", "document-insights", "contract.pdf", {"language": "en"}),
    DemoJob("Photo", "image-insights", "photo.jpg"),
    DemoJob("Churn record", "predict", "churn-customer.json"),
]


# --------------------------------------------------------------------------- the jobs
def job_request(client: Client, job: DemoJob) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The input (documents and images uploaded through the presigned POST) and options."""
    path = SAMPLES / job.sample
    if job.pipeline == "text-insights":
        job_input: dict[str, Any] = {"text": path.read_text().strip()}
    elif job.pipeline == "predict":
        job_input = json.loads(path.read_text())
    else:
        job_input = client.upload(path)
    return job_input, job.options or None


def describe(job: DemoJob) -> list[str]:
    if job.status != "SUCCEEDED":
        error = job.job.get("error") or {}
        return [f"error {error.get('code')}: {error.get('message')} (step {error.get('step')})"]
    return summary(job.pipeline, job.job.get("result") or {}).splitlines()


def settled_usage(client: Client, jobs: int) -> tuple[dict[str, Any], bool]:
    """The usage report by pipeline once ``jobs`` jobs are counted in it (or as it is when
    they are not, after SETTLEMENT_SECONDS), and whether they were."""
    deadline = time.monotonic() + SETTLEMENT_SECONDS
    while True:
        report = client.usage(group_by="pipeline").model_dump(mode="json", by_alias=True)
        if report["jobs"] >= jobs:
            return report, True
        if time.monotonic() > deadline:
            return report, False
        time.sleep(0.2)


# --------------------------------------------------------------------------- the run
def follow(websocket: ClientConnection, jobs: list[DemoJob], started: float, timeout: float):
    """Print each job's status as the WebSocket API reports it, until all have ended."""
    by_id = {job.job_id: job for job in jobs}
    deadline = time.monotonic() + timeout
    while any(job.status not in TERMINAL for job in jobs):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            message = json.loads(websocket.recv(timeout=remaining))
        except (TimeoutError, ConnectionClosed):
            return
        job = by_id.get(message.get("job_id", ""))
        if job is None or message.get("type") != "job.status":
            continue
        status = message["status"]
        if job.status in TERMINAL or (job.statuses and job.statuses[-1][1] == status):
            continue
        elapsed = time.monotonic() - started
        job.statuses.append((elapsed, status))
        print(f"  [{elapsed:6.2f} s] {job.title:<24} {status}", flush=True)


def run(timeout: float) -> int:
    print("Starting aigw local (template.yaml, offline AI models)…", flush=True)
    began = time.monotonic()
    gateway = LocalGatewayProcess("--template", str(ROOT / "template.yaml"), timeout=120)
    try:
        banner = gateway.start()
    except GatewayStartError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        print(f"  ready in {time.monotonic() - began:.1f} s")
        for name in ("REST API", "WebSocket", "AWS endpoint", "API key"):
            print(f"  {name + ':':<14} {banner[name]}")
        print()
        jobs = [dataclasses.replace(job) for job in JOBS]
        with Client(banner["REST API"], banner["API key"]) as client:
            # Connected as a browser would: a single-use ticket in the URL, never the key.
            ticket = client.websocket_ticket()
            with connect(
                ticket_url(banner["WebSocket"], ticket.ticket), open_timeout=10
            ) as websocket:
                started = time.monotonic()
                print("Submitting one job per pipeline (documents and images uploaded first),")
                print("each subscribed to on the WebSocket API as soon as it is accepted:")
                for job in jobs:
                    job_input, options = job_request(client, job)
                    job.job_id = client.submit(job.pipeline, job_input, options).job_id
                    websocket.send(json.dumps({"action": "subscribe", "job_id": job.job_id}))
                    print(f"  {job.title:<24} {job.pipeline:<18} {job.sample:<22} {job.job_id}")
                print("\nWhat the WebSocket API tells:")
                follow(websocket, jobs, started, timeout)
                for job in jobs:
                    job.job = client.get(job.job_id).model_dump(
                        mode="json", by_alias=True, exclude_unset=True
                    )
                    if job.job["status"] != job.status:
                        job.statuses.append((time.monotonic() - started, job.job["status"]))
                report, counted = settled_usage(client, len(jobs))
        print("\nResults:")
        for job in jobs:
            elapsed = job.statuses[-1][0] if job.statuses else 0.0
            print(f"\n  {job.title} — {job.pipeline}: {job.status} in {elapsed:.2f} s")
            for line in describe(job):
                print("    " + line)
        print("\nUsage and AI cost (aigw usage --group-by pipeline):\n")
        for line in usage_report(report).splitlines():
            print(("  " + line).rstrip())
        failed = [job for job in jobs if job.status != "SUCCEEDED"]
        print()
        if failed or not counted:
            if failed:
                print(f"{len(failed)} of {len(jobs)} jobs did not succeed.")
            if not counted:
                print(f"The usage counts {report['jobs']} of the {len(jobs)} jobs.")
            print("Gateway log (tail):")
            for line in gateway.log_tail(40).splitlines():
                print(line if len(line) <= 400 else line[:400] + " …")
            return 1
        total = time.monotonic() - began
        print(f"All {len(jobs)} jobs succeeded ({total:.1f} s including the gateway's start).")
        return 0
    finally:
        code = gateway.stop()
        gateway.close()
        if code != 0:
            print(f"aigw local exited with {code} on Ctrl-C", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for all jobs")
    return run(parser.parse_args().timeout)


if __name__ == "__main__":
    sys.exit(main())
