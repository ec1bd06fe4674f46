"""`aigw local` with its default providers: a PDF's text read by the local Textract, then
analysed by the local Comprehend."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

import requests

from aigw.local_gateway.testing import aigw_local, wait_for_job

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
        job = wait_for_job(f"{rest}/jobs/{submitted.json()['job_id']}", API_KEY)

    assert job["status"] == "SUCCEEDED", str(job)
    result = job["result"]
    assert result["document"]["pages"] == 1
    assert result["document"]["characters"] == len("\n".join(_pdfs.INVOICE))
    entities = result["insights"]["entities"]
    # spaCy (aigw[models]) may add its own guesses (the small model reads "2041" as a DATE).
    assert ("1,234.00 EUR", "QUANTITY") in [(entity["text"], entity["type"]) for entity in entities]
