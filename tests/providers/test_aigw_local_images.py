"""`aigw local` with its default providers and the image models: the shipped samples read by
the local Textract (OCR) and analysed by the local Rekognition, through the public API."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from aigw.local_gateway.testing import aigw_local, wait_for_job

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
API_KEY = "aigw_dev_images-key-0123456789"
HEADERS = {"x-api-key": API_KEY}


@pytest.fixture(scope="module")
def rest() -> Iterator[str]:
    """One gateway for the module: its models load once, on the first job that needs them."""
    with aigw_local("--template", str(ROOT / "template.yaml"), "--api-key", API_KEY) as banner:
        yield banner["REST API"]


def _inline(name: str) -> str:
    return base64.b64encode((SAMPLES / name).read_bytes()).decode()


@pytest.mark.parametrize("sample", ["invoice.png", "invoice-scanned.pdf"])
def test_given_a_scanned_invoice_when_a_document_job_runs_then_the_total_is_read(
    rest: str, sample: str
) -> None:
    submitted = requests.post(
        f"{rest}/jobs",
        json={
            "pipeline": "document-insights",
            "input": {"document_base64": _inline(sample)},
            "options": {"language": "en"},
        },
        headers=HEADERS,
        timeout=30,
    )
    assert submitted.status_code == 202, submitted.text

    job = wait_for_job(f"{rest}/jobs/{submitted.json()['job_id']}", API_KEY)

    assert job["status"] == "SUCCEEDED", str(job)
    result = job["result"]
    assert result["document"]["pages"] == 1
    found = {(entity["text"], entity["type"]) for entity in result["insights"]["entities"]}
    assert ("1,234.00 EUR", "QUANTITY") in found
    assert ("12 March 2024", "DATE") in found


def test_given_a_photo_when_image_insights_runs_then_a_face_and_a_person_are_found(
    rest: str,
) -> None:
    answer = requests.post(
        f"{rest}/run/image-insights",
        json={"input": {"image_base64": _inline("photo.jpg")}},
        headers=HEADERS,
        timeout=60,
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "SUCCEEDED", str(body)
    result = body["result"]
    [face] = result["faces"]
    assert face["confidence"] > 90
    assert 0 < face["box"]["width"] < 0.5
    assert "Person" in [label["name"] for label in result["labels"]]
    assert all(label["confidence"] >= 60 for label in result["labels"])
    assert result["moderation"] == []
    assert result["text"] == []
