"""Bad input sent to `aigw local` over HTTP, as a careless client would: every case gets a
typed answer (a 4xx, or a job FAILED with a clear code), and the jobs around it still run."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests

from aigw.local_gateway.testing import aigw_local, wait_for_job

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
API_KEY = "aigw_dev_bad-input-key-0123456789"
HEADERS = {"x-api-key": API_KEY}
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT")


@pytest.fixture(scope="module")
def rest() -> Any:
    with aigw_local("--template", str(ROOT / "template.yaml"), "--api-key", API_KEY) as banner:
        yield banner["REST API"]


def _submit(rest: str, pipeline: str, job_input: dict, options: dict | None = None) -> str:
    body: dict[str, Any] = {"pipeline": pipeline, "input": job_input}
    if options:
        body["options"] = options
    submitted = requests.post(f"{rest}/jobs", json=body, headers=HEADERS, timeout=10)
    assert submitted.status_code == 202, submitted.text
    return submitted.json()["job_id"]


def _wait(rest: str, job_id: str) -> dict[str, Any]:
    return wait_for_job(f"{rest}/jobs/{job_id}", API_KEY)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _upload(rest: str, data: bytes, content_type: str, size: int | None = None) -> Any:
    return requests.post(
        f"{rest}/uploads",
        json={"filename": "file", "content_type": content_type, "size": size or len(data)},
        headers=HEADERS,
        timeout=10,
    )


def test_given_bad_documents_and_images_when_submitted_then_each_fails_typed_and_others_succeed(
    rest: str,
) -> None:
    good_text = _submit(rest, "text-insights", {"text": "This is a wonderful, helpful service."})
    bad = {
        "corrupt PDF": _submit(
            rest,
            "document-insights",
            {"document_base64": _b64(b"%PDF-1.7\n1 0 obj <</Type /Catalog")},
            {"language": "en"},
        ),
        "corrupt image": _submit(
            rest, "image-insights", {"image_base64": _b64(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)}
        ),
        "PNG with no pixels": _submit(
            rest, "image-insights", {"image_base64": _b64(b"\x89PNG\r\n\x1a\n")}
        ),
    }
    good_document = _submit(
        rest,
        "document-insights",
        {"document_base64": _b64((SAMPLES / "contract.pdf").read_bytes())},
        {"language": "en"},
    )

    # What Textract cannot read at all is refused before a job starts.
    text_file = requests.post(
        f"{rest}/jobs",
        json={"pipeline": "document-insights", "input": {"document_base64": _b64(b"words\n" * 4)}},
        headers=HEADERS,
        timeout=10,
    )
    jobs = {name: _wait(rest, job_id) for name, job_id in bad.items()}

    for name, job in jobs.items():
        assert job["status"] == "FAILED", (name, job)
        assert job["error"]["code"] == "InvalidDocument", (name, job["error"])
        assert job["error"]["retryable"] is False
        assert job["error"]["message"], name
    assert text_file.status_code == 400
    assert "Textract reads PDF, TIFF, JPEG and PNG" in text_file.json()["error"]["message"]
    assert _wait(rest, good_text)["status"] == "SUCCEEDED"
    assert _wait(rest, good_document)["status"] == "SUCCEEDED"


def test_given_a_language_pair_with_no_local_model_then_the_job_fails_as_unsupported(
    rest: str,
) -> None:
    job = _wait(
        rest,
        _submit(
            rest,
            "text-insights",
            {"text": "The delivery was late and the box was damaged."},
            {"language": "en", "target_language": "de"},
        ),
    )

    assert job["status"] == "FAILED", job
    assert job["error"]["code"] == "UnsupportedLanguage"
    assert "de" in job["error"]["message"]


def test_given_an_empty_or_mistyped_upload_then_the_api_refuses_it_with_400(rest: str) -> None:
    empty = _upload(rest, b"", "application/pdf", size=0)
    text = _upload(rest, b"hello", "text/plain")

    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "InvalidInput"
    assert "size" in empty.json()["error"]["message"]
    assert text.status_code == 400
    assert "content_type" in text.json()["error"]["message"]


def test_given_a_zero_byte_object_when_submitted_then_it_is_refused_typed(rest: str) -> None:
    # The presigned POST allows 1 byte and up; a client that sends 0 anyway (or an object
    # truncated by another tool) must still get a typed answer, not a stuck job.
    created = _upload(rest, b"x", "image/png")
    assert created.status_code == 201, created.text
    form = created.json()["upload"]
    requests.post(
        form["url"],
        data=form["fields"],
        files={"file": ("empty.png", b"", "image/png")},
        timeout=10,
    )

    for pipeline in ("document-insights", "image-insights"):
        answer = requests.post(
            f"{rest}/jobs",
            json={"pipeline": pipeline, "input": created.json()["input"]},
            headers=HEADERS,
            timeout=10,
        )
        # An empty file is none of the formats the service reads; refused by the local S3's
        # presigned POST, it is no upload at all.
        assert answer.status_code in (400, 404), answer.text
        assert answer.json()["error"]["code"] in ("InvalidInput", "NotFound")
