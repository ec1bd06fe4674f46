"""`aigw local --providers simulated`: the load tests' stand-in services give valid answers
after the configured service time, so every pipeline runs through the gateway."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import requests

from aigw.local_gateway.testing import aigw_local, wait_for_job

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "aigw_dev_simulated-key-0123456789"
HEADERS = {"x-api-key": API_KEY}


def test_given_simulated_providers_when_each_pipeline_runs_then_it_succeeds_after_the_delay() -> (
    None
):
    options = ["--providers", "simulated", "--simulated-service-ms", "200"]
    # The simulated Textract reads pages of text; the gateway wants a PDF's signature.
    document = base64.b64encode(b"%PDF-1.7\nPage one text.\fPage two text.").decode()
    requests_by_pipeline = {
        "text-insights": {"text": "The support team was great. Mail ana@example.com."},
        "document-insights": {"document_base64": document},
        "image-insights": {"image_base64": base64.b64encode(b"\x89PNG\r\n\x1a\n....").decode()},
        "predict": {
            "model": "churn",
            "features": {
                "tenure_months": 3,
                "monthly_charges": 80,
                "support_calls": 4,
                "plan": "basic",
                "paperless_billing": True,
            },
        },
    }
    template = str(ROOT / "template.yaml")
    with aigw_local("--template", template, "--api-key", API_KEY, *options) as banner:
        rest = banner["REST API"]
        started = time.monotonic()
        ran = requests.post(
            f"{rest}/run/text-insights",
            json={"input": requests_by_pipeline["text-insights"]},
            headers=HEADERS,
            timeout=30,
        )
        took = time.monotonic() - started
        jobs = {}
        for pipeline, job_input in requests_by_pipeline.items():
            submitted = requests.post(
                f"{rest}/jobs",
                json={"pipeline": pipeline, "input": job_input},
                headers=HEADERS,
                timeout=30,
            )
            assert submitted.status_code == 202, submitted.text
            jobs[pipeline] = wait_for_job(f"{rest}/jobs/{submitted.json()['job_id']}", API_KEY)

    assert ran.status_code == 200, ran.text
    assert ran.json()["result"]["sentiment"]["label"] == "POSITIVE"
    assert [p["text"] for p in ran.json()["result"]["pii"]] == ["ana@example.com"]
    # Language, then the four analyses in parallel: at least two service times.
    assert took >= 0.4
    for pipeline, job in jobs.items():
        assert job["status"] == "SUCCEEDED", (pipeline, job)
    assert jobs["document-insights"]["result"]["document"]["pages"] == 2
