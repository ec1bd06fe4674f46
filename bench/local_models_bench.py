"""``aigw local`` with its real offline models: cold start and per-pipeline job latency.

Measured as a user meets them, over HTTP only, with the samples `make demo` uses:
- cold start: from spawning ``aigw local`` to the first answered ``GET /pipelines``, in a
  fresh process each time (median of ``--starts``); the first job of each pipeline after
  that is reported too, since model loading happens on first use;
- per-pipeline latency, warm: ``--runs`` jobs of each sample, one at a time, through
  ``POST /jobs`` + polling (the async path; submit to terminal status visible) and, for the
  sync pipelines, ``POST /run/{pipeline}`` (request to answer).

These numbers include the local models' own time (OCR, translation, the model server), so
they describe the laptop experience, not the gateway's overhead: that is measured with the
simulated providers by the throughput benchmark.

Run: ``.venv/bin/python bench/local_models_bench.py [--json]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from aigw.client import Client
from aigw.local_gateway.process import LocalGatewayProcess

ROOT = Path(__file__).resolve().parent.parent
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT")
SYNC_PIPELINES = ("text-insights", "image-insights", "predict")

_spec = importlib.util.spec_from_file_location("demo", ROOT / "scripts" / "demo.py")
assert _spec is not None and _spec.loader is not None
demo = importlib.util.module_from_spec(_spec)
sys.modules["demo"] = demo  # dataclasses look their module up while the class is made
_spec.loader.exec_module(demo)


def _gateway() -> LocalGatewayProcess:
    # Polling every 10 ms would exceed the default tenant throttle (20 requests/s).
    return LocalGatewayProcess(
        "--template",
        str(ROOT / "template.yaml"),
        "--parameter",
        "TenantThrottleRate=1000",
        "--parameter",
        "TenantThrottleBurst=2000",
        timeout=120,
    )


def cold_start() -> float:
    """Seconds from spawning ``aigw local`` to its first answered request."""
    gateway = _gateway()
    began = time.perf_counter()
    try:
        banner = gateway.start()
        response = httpx.get(
            f"{banner['REST API']}/pipelines", headers={"x-api-key": banner["API key"]}
        )
        response.raise_for_status()
        return time.perf_counter() - began
    finally:
        gateway.stop()
        gateway.close()


def run_job(api: httpx.Client, request: dict[str, Any], timeout: float = 120.0) -> float:
    began = time.perf_counter()
    submitted = api.post("/jobs", json=request)
    submitted.raise_for_status()
    job_id = submitted.json()["job_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api.get(f"/jobs/{job_id}")
        answer.raise_for_status()
        job = answer.json()
        if job["status"] in TERMINAL:
            if job["status"] != "SUCCEEDED":
                raise RuntimeError(f"{request['pipeline']} job {job['status']}: {job}")
            return time.perf_counter() - began
        time.sleep(0.01)
    raise TimeoutError(f"{request['pipeline']} job {job_id} did not finish")


def run_sync(api: httpx.Client, request: dict[str, Any]) -> float:
    began = time.perf_counter()
    body = {key: value for key, value in request.items() if key != "pipeline"}
    answer = api.post(f"/run/{request['pipeline']}", json=body)
    if answer.status_code != 200:
        raise RuntimeError(f"/run/{request['pipeline']}: {answer.status_code} {answer.text}")
    return time.perf_counter() - began


def measure(starts: int, runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {"cold_start_s": [cold_start() for _ in range(starts)]}
    gateway = _gateway()
    banner = gateway.start()
    try:
        with httpx.Client(
            base_url=banner["REST API"], headers={"x-api-key": banner["API key"]}, timeout=120
        ) as api:
            pipelines: dict[str, Any] = {}
            client = Client(banner["REST API"], banner["API key"])
            for sample in demo.JOBS:
                row: dict[str, Any] = {"pipeline": sample.pipeline, "sample": sample.sample}
                # Uploads happen once; every run reads the same stored object.
                job_input, options = demo.job_request(client, sample)
                request = {"pipeline": sample.pipeline, "input": job_input}
                if options:
                    request["options"] = options
                row["first_job_s"] = run_job(api, request)
                row["job_s"] = [run_job(api, request) for _ in range(runs)]
                if sample.pipeline in SYNC_PIPELINES:
                    row["run_s"] = [run_sync(api, request) for _ in range(runs)]
                pipelines[sample.title] = row
            results["pipelines"] = pipelines
    finally:
        gateway.stop()
        gateway.close()
    return results


def table(results: dict[str, Any]) -> str:
    cold = results["cold_start_s"]
    lines = [
        f"aigw local cold start to first request: median {statistics.median(cold):.2f} s "
        f"(min {min(cold):.2f}, max {max(cold):.2f}, n={len(cold)})",
        "",
        f"{'sample':<24} {'pipeline':<18} {'first job':>10} {'job p50':>9} {'/run p50':>9}",
    ]
    for title, row in results["pipelines"].items():
        sync = f"{statistics.median(row['run_s']):.2f} s" if "run_s" in row else "-"
        lines.append(
            f"{title:<24} {row['pipeline']:<18} {row['first_job_s']:>8.2f} s "
            f"{statistics.median(row['job_s']):>7.2f} s {sync:>9}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.starts, args.runs)
    print(json.dumps(results, indent=1) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
