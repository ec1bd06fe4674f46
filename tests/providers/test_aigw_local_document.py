"""`aigw local` with its default providers: a PDF's text read by the local Textract, then
analysed by the local Comprehend."""

from __future__ import annotations

import base64
import importlib.util
import time
from pathlib import Path
from typing import Any

import requests

from aigw.local.testing import aigw_local

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "aigw_dev_document-key-0123456789"

_spec = importlib.util.spec_from_file_location("pdfs", Path(__file__).parent / "pdfs.py")
assert _spec is not None and _spec.loader is not None
_pdfs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pdfs)


def test_given_aigw_local_when_a_text_pdf_is_submitted_then_its_lines_are_analysed() -> None:
    document = base64.b64encode(_pdfs.make_pdf(_pdfs.INVOICE)).decode()
    headers = {"x-api-key": API_KEY}
    with aigw_local("--template", str(ROOT / "template.yaml"), "--api-key", API_KEY) as banner:
        rest = banner["REST API"]

        submitted = requests.post(
            f"{rest}/jobs",
            json={
                "pipeline": "document-insights",
                "input": {"document_base64": document},
                # Two short lines are too little text to tell the language by.
                "options": {"language": "en"},
            },
            headers=headers,
            timeout=30,
        )
        assert submitted.status_code == 202, submitted.text
        job = _wait(f"{rest}/jobs/{submitted.json()['job_id']}", headers)

    assert job["status"] == "SUCCEEDED", str(job)
    result = job["result"]
    assert result["document"]["pages"] == 1
    assert result["document"]["characters"] == len("\n".join(_pdfs.INVOICE))
    entities = result["insights"]["entities"]
    assert [(entity["text"], entity["type"]) for entity in entities] == [
        ("1,234.00 EUR", "QUANTITY")
    ]


def _wait(url: str, headers: dict[str, str], timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = requests.get(url, headers=headers, timeout=10).json()
        if job.get("status") in ("SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"the job did not finish in {timeout} s: {job}")
