"""`aigw local` over HTTP as a client sees it: presigned uploads from another process,
per-tenant throttling, and state that survives a restart with ``--state-dir``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from aigw.local_gateway.testing import aigw_local, wait_for_job

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = str(ROOT / "template.yaml")
API_KEY = "aigw_dev_http-key-0123456789"
HEADERS = {"x-api-key": API_KEY}
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT")

_spec = importlib.util.spec_from_file_location("pdfs", ROOT / "tests" / "providers" / "pdfs.py")
assert _spec is not None and _spec.loader is not None
_pdfs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pdfs)


def _wait(rest: str, job_id: str) -> dict[str, Any]:
    return wait_for_job(f"{rest}/jobs/{job_id}", HEADERS["x-api-key"])


def _without_url(result: dict[str, Any]) -> dict[str, Any]:
    document = {k: v for k, v in result["document"].items() if k != "url"}
    return {**result, "document": document}


def _upload(rest: str, data: bytes, content_type: str = "application/pdf") -> dict[str, Any]:
    """POST /uploads, then the presigned POST to S3 as any HTTP client would do it."""
    created = requests.post(
        f"{rest}/uploads",
        json={"filename": "invoice.pdf", "content_type": content_type, "size": len(data)},
        headers=HEADERS,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    upload = created.json()["upload"]
    stored = requests.post(
        upload["url"],
        data=upload["fields"],
        files={"file": ("invoice.pdf", data, content_type)},
        timeout=10,
    )
    assert stored.status_code in (200, 201, 204), stored.text
    return created.json()["input"]


def _submit_document(rest: str, document_input: dict[str, Any]) -> str:
    submitted = requests.post(
        f"{rest}/jobs",
        json={
            "pipeline": "document-insights",
            "input": document_input,
            "options": {"language": "en"},
        },
        headers=HEADERS,
        timeout=10,
    )
    assert submitted.status_code == 202, submitted.text
    return submitted.json()["job_id"]


def test_given_a_presigned_upload_from_another_process_when_submitted_then_it_is_analysed() -> None:
    pdf = _pdfs.make_pdf(_pdfs.INVOICE)
    with aigw_local("--template", TEMPLATE, "--api-key", API_KEY) as banner:
        rest = banner["REST API"]

        document_input = _upload(rest, pdf)
        job = _wait(rest, _submit_document(rest, document_input))
        refusals = _refused_uploads(rest, pdf)

    assert job["status"] == "SUCCEEDED", job
    assert job["result"]["document"]["pages"] == 1
    assert job["result"]["document"]["characters"] == len("\n".join(_pdfs.INVOICE))
    # The local S3 holds the form to the policy the API signed, as S3 does.
    assert refusals == {
        "one byte more than declared": (400, "EntityTooLarge"),
        "another content type": (403, "AccessDenied"),
        "another tenant's prefix": (403, "AccessDenied"),
    }


def _refused_uploads(rest: str, pdf: bytes) -> dict[str, tuple[int, str]]:
    """Presigned POSTs that break the API's policy: S3's status and code for each."""
    created = requests.post(
        f"{rest}/uploads",
        json={"filename": "invoice.pdf", "content_type": "application/pdf", "size": len(pdf)},
        headers=HEADERS,
        timeout=10,
    ).json()
    url, fields = created["upload"]["url"], created["upload"]["fields"]
    attempts = {
        "one byte more than declared": (fields, pdf + b"\n", "application/pdf"),
        "another content type": ({**fields, "Content-Type": "text/html"}, pdf, "text/html"),
        "another tenant's prefix": (
            {**fields, "key": "uploads/t-other/x.pdf"},
            pdf,
            "application/pdf",
        ),
    }
    answers = {}
    for name, (form, data, kind) in attempts.items():
        answer = requests.post(url, data=form, files={"file": ("x.pdf", data, kind)}, timeout=10)
        code = answer.text.split("<Code>")[1].split("</Code>")[0] if "<Code>" in answer.text else ""
        answers[name] = (answer.status_code, code)
    return answers


def test_given_a_low_tenant_throttle_when_requests_burst_then_extra_ones_get_429() -> None:
    options = ["--parameter", "TenantThrottleRate=1", "--parameter", "TenantThrottleBurst=2"]
    with aigw_local("--template", TEMPLATE, "--api-key", API_KEY, *options) as banner:
        rest = banner["REST API"]

        answers = [requests.get(f"{rest}/pipelines", headers=HEADERS, timeout=10) for _ in range(6)]
        time.sleep(1.2)
        later = requests.get(f"{rest}/pipelines", headers=HEADERS, timeout=10)

    codes = [answer.status_code for answer in answers]
    assert codes[:2] == [200, 200]
    assert 429 in codes[2:]
    throttled = next(answer for answer in answers if answer.status_code == 429)
    assert throttled.json()["error"]["code"] == "RateLimited"
    # The bucket refills at the configured rate: one second later the tenant is served again.
    assert later.status_code == 200


def test_given_a_state_dir_when_aigw_local_restarts_then_jobs_documents_and_key_survive(
    tmp_path: Path,
) -> None:
    state = str(tmp_path / "state")
    pdf = _pdfs.make_pdf(_pdfs.INVOICE)
    with aigw_local("--template", TEMPLATE, "--state-dir", state) as banner:
        rest, key = banner["REST API"], banner["API key"]
        HEADERS["x-api-key"] = key
        document_input = _upload(rest, pdf)
        first = _wait(rest, _submit_document(rest, document_input))
    assert first["status"] == "SUCCEEDED", first

    with aigw_local("--template", TEMPLATE, "--state-dir", state) as banner:
        rest = banner["REST API"]
        # Without --api-key the development tenant and its key are the ones saved.
        assert banner["API key"] == key
        assert "1 unfinished" not in banner["State"]
        again = requests.get(f"{rest}/jobs/{first['job_id']}", headers=HEADERS, timeout=10)
        listed = requests.get(f"{rest}/jobs", headers=HEADERS, timeout=10)
        extraction = requests.get(again.json()["result"]["document"]["url"], timeout=10)
        # The uploaded document is still in the bucket: a new job on it succeeds.
        second = _wait(rest, _submit_document(rest, document_input))
    HEADERS["x-api-key"] = API_KEY

    assert again.status_code == 200
    assert again.json()["status"] == "SUCCEEDED"
    # The same result; only the presigned URL of the extraction is made anew on each read.
    assert _without_url(again.json()["result"]) == _without_url(first["result"])

    assert first["job_id"] in [job["job_id"] for job in listed.json()["jobs"]]
    assert extraction.json()["pages"][0]["lines"][0]["text"] == _pdfs.INVOICE[0]
    assert second["status"] == "SUCCEEDED", second


def test_given_a_malformed_parameter_when_aigw_local_starts_then_it_says_why_and_exits_2() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "aigw", "local", "--template", TEMPLATE, "--parameter", "Rate"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 2
    assert "--parameter wants NAME=VALUE, not 'Rate'" in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # A folded Description whose text is not indented: a mistake public samples make.
        (
            "Description: >\nan app\nwith: words\nResources:\n  T: {Type: AWS::SNS::Topic}\n",
            "is not valid YAML: while scanning a simple key (line 2, column 1): "
            "could not find expected ':' (line 3, column 1)",
        ),
        (
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n"
            "    Properties: {TopicName: !Ref Nowhere}\n",
            "Nowhere",
        ),
        # An integration the runtime does not serve (documented): refused by name, no traceback.
        (
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  Api:\n"
            "    Type: AWS::Serverless::Api\n    Properties:\n      StageName: Prod\n"
            "      DefinitionBody:\n        openapi: '3.0'\n        info: {}\n"
            "        paths:\n          /inbox:\n            post:\n"
            "              x-amazon-apigateway-integration:\n"
            "                {type: aws, httpMethod: POST,"
            " uri: 'arn:aws:apigateway:us-east-1:sqs:path/123456789012/inbox'}\n",
            "POST /inbox: 'arn:aws:apigateway:us-east-1:sqs:path/123456789012/inbox' is not an "
            "AWS service action URI",
        ),
    ],
)
def test_given_a_broken_template_when_aigw_local_starts_then_it_says_why_and_exits_2(
    tmp_path: Path, text: str, said: str
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(text)
    finished = subprocess.run(
        [sys.executable, "-m", "aigw", "local", "--template", str(template), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.startswith("aigw local: "), finished.stderr
    assert said in finished.stderr
    assert "Traceback" not in finished.stderr
