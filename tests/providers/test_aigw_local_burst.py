"""A freshly started `aigw local` takes a burst of jobs from many clients at once and ends
every one SUCCEEDED: nothing fails for being busy or for loading a model on first use.

Clients honour 429 `Retry-After` as the SDK does (the tenant's usage-plan throttle is part
of the contract); every other answer to a submission, and every job that does not succeed,
fails the test.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from aigw.local_gateway.testing import TERMINAL_STATUSES, aigw_local

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "aigw_dev_burst-key-0123456789"
CLIENTS = 16
JOBS = 96
TEXT = (
    "Acme Corp shipped the order on time and the support team in Lisbon was great. "
    "Contact billing@example.com about invoice 1042. "
) * 6


def submit(rest: str) -> str:
    headers = {"x-api-key": API_KEY}
    body = {"pipeline": "text-insights", "input": {"text": TEXT}}
    deadline = time.monotonic() + 120
    while True:
        answer = requests.post(f"{rest}/jobs", json=body, headers=headers, timeout=60)
        if answer.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job_id"])


def outcome(rest: str, job_id: str, deadline: float) -> dict[str, object]:
    job: dict[str, object] = {}
    while time.monotonic() < deadline:
        job = requests.get(
            f"{rest}/jobs/{job_id}", headers={"x-api-key": API_KEY}, timeout=60
        ).json()
        if job.get("status") in TERMINAL_STATUSES:
            return job
        time.sleep(0.2)
    return job


@pytest.mark.parametrize("providers", ["simulated", "default"])
def test_given_a_fresh_aigw_local_when_16_clients_submit_96_jobs_at_once_then_every_job_succeeds(
    providers: str,
) -> None:
    template = str(ROOT / "template.yaml")
    with aigw_local(
        "--template", template, "--api-key", API_KEY, "--providers", providers, timeout=120
    ) as banner:
        rest = banner["REST API"]
        with ThreadPoolExecutor(CLIENTS) as clients:
            job_ids = list(clients.map(lambda _: submit(rest), range(JOBS)))
            deadline = time.monotonic() + 300
            jobs = list(clients.map(lambda job_id: outcome(rest, job_id, deadline), job_ids))

    not_succeeded = [(job.get("status"), job.get("error")) for job in jobs]
    not_succeeded = [entry for entry in not_succeeded if entry[0] != "SUCCEEDED"]
    assert not_succeeded == [], f"{len(not_succeeded)} of {JOBS} jobs: {not_succeeded[:5]}"
