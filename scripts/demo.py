"""``make demo``: the whole gateway on this machine, with one job per pipeline.

Starts ``aigw local`` (the template, state machines and handlers that ``sam deploy`` ships,
with the offline AI models), then, as any client would, over HTTP and WebSocket only:
uploads the sample documents through the presigned POST the API hands out, submits one job
per sample in samples/, follows every job on the WebSocket API, and prints the results.
Exits 0 only if every job SUCCEEDED; otherwise 1, with the failed jobs' errors and the
gateway's log tail.

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

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from aigw.local.process import GatewayStartError, LocalGatewayProcess

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT")
CONTENT_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}


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


# --------------------------------------------------------------------------- the API calls
def _check(response: httpx.Response, expected: int) -> dict[str, Any]:
    if response.status_code != expected:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text}"
        )
    return response.json() if response.content else {}


def upload(api: httpx.Client, path: Path) -> dict[str, Any]:
    """POST /uploads, then the file to the presigned POST; returns the job input."""
    data = path.read_bytes()
    created = _check(
        api.post(
            "/uploads",
            json={
                "filename": path.name,
                "content_type": CONTENT_TYPES[path.suffix],
                "size": len(data),
            },
        ),
        201,
    )
    form = created["upload"]
    stored = httpx.post(
        form["url"],
        data=form["fields"],
        files={"file": (path.name, data, CONTENT_TYPES[path.suffix])},
        timeout=60,
    )
    if stored.status_code not in (200, 201, 204):
        raise RuntimeError(f"uploading {path.name} failed: {stored.status_code} {stored.text}")
    return created["input"]


def job_request(api: httpx.Client, job: DemoJob) -> dict[str, Any]:
    path = SAMPLES / job.sample
    if job.pipeline == "text-insights":
        request: dict[str, Any] = {"input": {"text": path.read_text().strip()}}
    elif job.pipeline == "predict":
        request = {"input": json.loads(path.read_text())}
    else:
        request = {"input": upload(api, path)}
    request["pipeline"] = job.pipeline
    if job.options:
        request["options"] = job.options
    return request


# --------------------------------------------------------------------------- printing
def _score(value: float | None) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "-"


def describe_text(result: dict[str, Any], indent: str = "    ") -> list[str]:
    lines = []
    language = result.get("language") or {}
    lines.append(f"language   {language.get('code')} (score {_score(language.get('score'))})")
    translation = result.get("translation")
    if translation:
        lines.append(f"translated {translation['source']}→{translation['target']}: ")
        lines.append(f"           “{translation['text']}”")
    sentiment = result.get("sentiment") or {}
    scores = ", ".join(f"{k} {_score(v)}" for k, v in (sentiment.get("scores") or {}).items())
    lines.append(f"sentiment  {sentiment.get('label')} ({scores})")
    for name, key in (("entities", "entities"), ("PII", "pii")):
        spans = result.get(key) or []
        shown = "; ".join(f"{span['type']}: {span['text']}" for span in spans[:8])
        lines.append(f"{name:<10} {shown or '(none)'}")
    phrases = [span["text"] for span in (result.get("key_phrases") or [])[:6]]
    lines.append(f"{'phrases':<10} {', '.join(phrases) or '(none)'}")
    return [indent + line for line in lines]


def describe(job: DemoJob) -> list[str]:
    result = job.job.get("result") or {}
    if job.status != "SUCCEEDED":
        error = job.job.get("error") or {}
        return [f"    error {error.get('code')}: {error.get('message')} (step {error.get('step')})"]
    if job.pipeline == "text-insights":
        return describe_text(result)
    if job.pipeline == "document-insights":
        document = result["document"]
        lines = [
            f"    document   {document['pages']} page(s), {document['characters']} characters "
            f"read (full text: s3://{document['bucket']}/{document['key']})"
        ]
        if result.get("insights"):
            lines += describe_text(result["insights"])
        return lines
    if job.pipeline == "image-insights":
        labels = ", ".join(f"{x['name']} {x['confidence']:.0f}%" for x in result["labels"][:8])
        text = " / ".join(line["text"] for line in result["text"][:6])
        faces = "; ".join(
            f"at ({face['box']['left']:.2f}, {face['box']['top']:.2f}) "
            f"size {face['box']['width']:.2f} x {face['box']['height']:.2f}"
            for face in result["faces"]
        )
        moderation = ", ".join(f"{x['name']} {x['confidence']:.0f}%" for x in result["moderation"])
        return [
            f"    labels     {labels or '(none)'}",
            f"    faces      {len(result['faces'])} {faces}",
            f"    text       {text or '(none)'}",
            f"    moderation {moderation or '(nothing flagged)'}",
        ]
    prediction = result.get("prediction") or {}
    scores = ", ".join(f"{k} {_score(v)}" for k, v in (prediction.get("scores") or {}).items())
    return [
        f"    model      {result.get('model')}",
        f"    prediction {prediction.get('label')} (score {_score(prediction.get('score'))}; "
        f"{scores})",
    ]


# --------------------------------------------------------------------------- the run
def follow(ws_url: str, api_key: str, jobs: list[DemoJob], started: float, timeout: float):
    """Subscribe to every job on the WebSocket API and print each status as it arrives."""
    by_id = {job.job_id: job for job in jobs}
    deadline = time.monotonic() + timeout
    with connect(f"{ws_url}?api_key={api_key}", open_timeout=10) as websocket:
        for job in jobs:
            websocket.send(json.dumps({"action": "subscribe", "job_id": job.job_id}))
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
            if job.statuses and job.statuses[-1][1] == status:
                continue
            if job.status in TERMINAL:
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
        with httpx.Client(
            base_url=banner["REST API"], headers={"x-api-key": banner["API key"]}, timeout=60
        ) as api:
            started = time.monotonic()
            print("Submitting one job per pipeline:")
            for job in jobs:
                submitted = _check(api.post("/jobs", json=job_request(api, job)), 202)
                job.job_id = submitted["job_id"]
                print(f"  {job.title:<24} {job.pipeline:<18} {job.sample:<22} {job.job_id}")
            print("\nFollowing them on the WebSocket API:")
            follow(banner["WebSocket"], banner["API key"], jobs, started, timeout)
            for job in jobs:
                job.job = _check(api.get(f"/jobs/{job.job_id}"), 200)
                if job.job["status"] != job.status:
                    job.statuses.append((time.monotonic() - started, job.job["status"]))
        print("\nResults:")
        for job in jobs:
            elapsed = job.statuses[-1][0] if job.statuses else 0.0
            print(f"\n  {job.title} — {job.pipeline}: {job.status} in {elapsed:.2f} s")
            for line in describe(job):
                print(line)
        failed = [job for job in jobs if job.status != "SUCCEEDED"]
        print()
        if failed:
            print(f"{len(failed)} of {len(jobs)} jobs did not succeed. Gateway log (tail):")
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
