"""Local throughput and latency: a load generator against the gateway as a subprocess.

The gateway runs as a user runs it (``aigw local --providers simulated``), with the
simulated AI services answering after a fixed service time. Each client (asyncio, httpx
and websockets) has its own tenant and WebSocket connection and runs one text-insights job
at a time, closed loop:

1. ``POST /v1/jobs`` - the submit latency;
2. ``subscribe`` on its WebSocket, then wait for the terminal ``job.status`` push - the
   end-to-end latency (submit to notification);
3. ``GET /v1/jobs/{id}`` - the job's ``updated_at`` is the terminal status write; the push
   arrived ``notification delay`` after it (same machine, same clock; ``updated_at`` has
   millisecond resolution).

Phases at 1, 8 and 32 concurrent clients add up to ``--jobs`` (1,000) jobs after a warm-up;
the gateway's RSS (``VmRSS`` of /proc/<pid>/status) is read before and after them.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from aigw.local_gateway.process import LocalGatewayProcess

ROOT = Path(__file__).resolve().parent.parent
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}
TEXT = (
    "Acme Corp shipped the order on time and the support team was great. "
    "Contact billing@example.com about the invoice. "
) * 9
TEXT = TEXT[:1000]
JOB_TIMEOUT_S = 45.0


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _parse_time(value: str) -> float:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------- the gateway


class Gateway:
    """``aigw local --providers simulated`` as a subprocess; ``banner`` is what it printed."""

    def __init__(self, service_ms: float) -> None:
        options = ["--providers", "simulated", "--simulated-service-ms", str(service_ms)]
        #: How the report names the gateway it measured.
        self.command = ["aigw", "local", *options]
        self._process = LocalGatewayProcess(
            "--template", str(ROOT / "template.yaml"), *options, timeout=120, cwd=ROOT
        )
        self.banner: dict[str, str] = {}
        self.pid = 0

    def __enter__(self) -> Gateway:
        self.banner = self._process.start()
        self.pid = self._process.pid
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.stop(timeout=30)
        self._process.close()


def create_tenants(gateway: Gateway, count: int) -> list[str]:
    """One tenant per client through the gateway's AWS endpoint (its own key otherwise)."""
    aws_url = gateway.banner.get("AWS endpoint")
    if not aws_url:
        return [gateway.banner["API key"]] * count
    import boto3

    from aigw.tenants import create_tenant

    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    table = next(n for n in dynamodb.list_tables()["TableNames"] if "TenantsTable" in n)
    return [create_tenant(dynamodb, table, f"load-{i}").api_key for i in range(count)]


# --------------------------------------------------------------------------- the clients


@dataclass
class Phase:
    clients: int
    jobs: int
    submit_ms: list[float] = field(default_factory=list)
    e2e_ms: list[float] = field(default_factory=list)
    notify_ms: list[float] = field(default_factory=list)
    subscribed_late: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    gateway_cpu_s: float = 0.0

    @property
    def jobs_per_s(self) -> float:
        return len(self.e2e_ms) / self.seconds if self.seconds else 0.0


async def _client(
    http: httpx.AsyncClient, ws: Any, key: str, queue: asyncio.Queue[int], phase: Phase
) -> None:
    while True:
        try:
            queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        seen: dict[str, Any] = {}
        try:
            await asyncio.wait_for(_one_job(http, ws, key, phase, seen), JOB_TIMEOUT_S)
        except TimeoutError:
            # Say which: the job still running, or finished with no terminal push.
            status = "?"
            if "job_id" in seen:
                job = await http.get(f"/jobs/{seen['job_id']}", headers={"x-api-key": key})
                status = job.json().get("status", "?")
            pushes = seen.get("statuses", [])
            if pushes and pushes[-1] in TERMINAL:
                what = "terminal push received, the final GET /jobs/{id} not answered"
            else:
                what = "no terminal push"
            phase.errors.append(
                f"job not done in {JOB_TIMEOUT_S:.0f} s: {what} (pushes seen: {pushes}, "
                f"job {status})"
            )
        except Exception as error:  # counted, never hidden
            phase.errors.append(f"{type(error).__name__}: {error}"[:200])


async def _one_job(
    http: httpx.AsyncClient, ws: Any, key: str, phase: Phase, seen: dict[str, Any]
) -> None:
    headers = {"x-api-key": key}
    started = time.time()
    answer = await http.post(
        "/jobs", json={"pipeline": "text-insights", "input": {"text": TEXT}}, headers=headers
    )
    submitted = time.time()
    if answer.status_code != 202:
        phase.errors.append(f"POST /jobs {answer.status_code}: {answer.text[:120]}")
        return
    job_id = answer.json()["job_id"]
    seen["job_id"], seen["statuses"] = job_id, []
    await ws.send(json.dumps({"action": "subscribe", "job_id": job_id}))
    first, status = True, None
    while True:
        message = json.loads(await ws.recv())
        if message.get("type") != "job.status" or message.get("job_id") != job_id:
            if message.get("type") == "error":
                raise RuntimeError(f"WebSocket error: {message}")
            continue
        status = message["status"]
        seen["statuses"].append(status)
        if status in TERMINAL:
            break
        first = False
    finished = time.time()
    job = await http.get(f"/jobs/{job_id}", headers=headers)
    if job.status_code != 200 or status != "SUCCEEDED":
        phase.errors.append(f"job {status}, GET {job.status_code}")
        return
    phase.submit_ms.append((submitted - started) * 1000)
    phase.e2e_ms.append((finished - started) * 1000)
    if first:
        phase.subscribed_late += 1  # the terminal status was the subscribe answer
    else:
        phase.notify_ms.append((finished - _parse_time(job.json()["updated_at"])) * 1000)


async def run_phase(gateway: Gateway, keys: list[str], clients: int, jobs: int) -> Phase:
    phase = Phase(clients, jobs)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(jobs):
        queue.put_nowait(number)
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    async with httpx.AsyncClient(
        base_url=gateway.banner["REST API"], limits=limits, timeout=JOB_TIMEOUT_S
    ) as http:
        url = gateway.banner["WebSocket"]
        sockets = await asyncio.gather(
            *(
                websockets.connect(
                    url,
                    additional_headers={"x-api-key": keys[i]},
                    max_size=None,
                    open_timeout=60,
                )
                for i in range(clients)
            )
        )
        try:
            cpu_before = cpu_seconds(gateway.pid)
            started = time.perf_counter()
            await asyncio.gather(
                *(_client(http, sockets[i], keys[i], queue, phase) for i in range(clients))
            )
            phase.seconds = time.perf_counter() - started
            phase.gateway_cpu_s = cpu_seconds(gateway.pid) - cpu_before
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets))
    return phase


def run(
    service_ms: float = 50.0,
    jobs: int = 1000,
    levels: tuple[int, ...] = (1, 8, 32),
    shares: tuple[float, ...] = (0.04, 0.48, 0.48),
) -> dict[str, Any]:
    counts = [max(levels[i], round(jobs * shares[i])) for i in range(len(levels))]
    counts[-1] = max(levels[-1], jobs - sum(counts[:-1]))
    started = time.perf_counter()
    with Gateway(service_ms) as gateway:
        keys = create_tenants(gateway, max(levels))
        warm = asyncio.run(run_phase(gateway, keys, 8, 40))
        rss_before = rss_kib(gateway.pid)
        phases = [
            asyncio.run(run_phase(gateway, keys, c, n)) for c, n in zip(levels, counts, strict=True)
        ]
        rss_after = rss_kib(gateway.pid)
        # With no jobs running the provider threads and queues are idle: a second reading
        # a moment later shows whether what grew is held or was transient.
        time.sleep(2)
        rss_settled = rss_kib(gateway.pid)
        command = " ".join(Path(part).name if "/" in part else part for part in gateway.command)
    return {
        "service_ms": service_ms,
        "command": command,
        "warmup_errors": warm.errors,
        "phases": phases,
        "jobs": sum(len(p.e2e_ms) + len(p.errors) for p in phases),
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "rss_settled_kib": rss_settled,
        "seconds": time.perf_counter() - started,
        # text-insights: DetectDominantLanguage, then the four analyses in parallel.
        "provider_critical_path_ms": 2 * service_ms,
    }


def summary(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for phase in result["phases"]:
        rows.append(
            {
                "clients": phase.clients,
                "jobs": len(phase.e2e_ms),
                "errors": len(phase.errors),
                "jobs_per_s": phase.jobs_per_s,
                "submit_p50": percentile(phase.submit_ms, 0.50),
                "submit_p95": percentile(phase.submit_ms, 0.95),
                "submit_p99": percentile(phase.submit_ms, 0.99),
                "e2e_p50": percentile(phase.e2e_ms, 0.50),
                "e2e_p95": percentile(phase.e2e_ms, 0.95),
                "e2e_p99": percentile(phase.e2e_ms, 0.99),
                "overhead_p50": percentile(phase.e2e_ms, 0.50)
                - result["provider_critical_path_ms"],
                "notify_p50": percentile(phase.notify_ms, 0.50),
                "notify_p95": percentile(phase.notify_ms, 0.95),
                "notify_p99": percentile(phase.notify_ms, 0.99),
                "notify_n": len(phase.notify_ms),
                "subscribed_late": phase.subscribed_late,
                "cpu_ms_per_job": phase.gateway_cpu_s * 1000 / max(1, len(phase.e2e_ms)),
                "mean_e2e": statistics.fmean(phase.e2e_ms) if phase.e2e_ms else float("nan"),
            }
        )
    return rows


if __name__ == "__main__":
    outcome = run(jobs=int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    for row in summary(outcome):
        print({k: round(v, 1) if isinstance(v, float) else v for k, v in row.items()})
    print(outcome["rss_before_kib"], outcome["rss_after_kib"], outcome["rss_settled_kib"])
    print(outcome["seconds"], [p.errors[:3] for p in outcome["phases"]])
