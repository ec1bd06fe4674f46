"""The document-insights workflow, run for real on the offline runtime.

The app (``fixtures/document_app/template.yaml``) holds the pipeline's resources as the main
template does, with a stub text-insights that echoes its input. Textract is a fake that, like
the service, publishes its completion to the request's SNS topic, here before Start* even
returns, and serves the fixtures' Get* responses page by page.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_shapes import assert_output_shape

from aigw.local import LocalRuntime
from aigw.local.services.providers import ServiceError
from aigw.local.testing import runtime_fixture

FIXTURES = Path(__file__).parent / "fixtures"

app = runtime_fixture(FIXTURES / "document_app" / "template.yaml")

MACHINE = "DocumentInsightsStateMachine"
TENANT, JOB = "tenant-a", "01J00000000000000000000000"
DOCUMENT = {"bucket": "documents", "key": f"uploads/{TENANT}/invoice.pdf"}
BLANK_PAGE = {
    "DocumentMetadata": {"Pages": 1},
    "JobStatus": "SUCCEEDED",
    "Blocks": [{"BlockType": "PAGE", "Id": "blank-page", "Page": 1}],
}


def responses(name: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / name).read_text())["responses"]


class FakeTextract:
    """Textract's asynchronous API: Start* publishes the completion, Get* pages the blocks."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.calls: Counter[str] = Counter()
        self.starts: list[dict[str, Any]] = []
        self.start_errors: list[str] = []  # codes the next Start* calls fail with, in turn
        self.status = "SUCCEEDED"
        self.results = {
            "StartDocumentTextDetection": responses("textract_text_detection.json"),
            "StartDocumentAnalysis": responses("textract_analysis.json"),
        }
        self._lock = threading.Lock()

    def start(self, operation: str) -> Any:
        def answer(params: dict[str, Any]) -> dict[str, Any]:
            with self._lock:
                self.calls[operation] += 1
                self.starts.append(params)
                error = self.start_errors.pop(0) if self.start_errors else None
            if error:
                raise ServiceError(error, f"{operation} failed with {error}")
            job_id = uuid.uuid4().hex
            location = params["DocumentLocation"]["S3Object"]
            self.runtime.client("sns").publish(
                TopicArn=params["NotificationChannel"]["SNSTopicArn"],
                Message=json.dumps(
                    {
                        "JobId": job_id,
                        "Status": self.status,
                        "API": operation,
                        "JobTag": params["JobTag"],
                        "Timestamp": 1714730000000,
                        "DocumentLocation": {
                            "S3ObjectName": location["Name"],
                            "S3Bucket": location["Bucket"],
                        },
                    }
                ),
            )
            return {"JobId": job_id}

        return answer

    def get(self, operation: str, start_operation: str) -> Any:
        def answer(params: dict[str, Any]) -> dict[str, Any]:
            with self._lock:
                self.calls[operation] += 1
            pages = self.results[start_operation]
            token = params.get("NextToken")
            index = 0 if token is None else 1 + [p.get("NextToken") for p in pages].index(token)
            assert_output_shape("textract", operation, pages[index])
            return pages[index]

        return answer


@pytest.fixture
def textract(app: LocalRuntime) -> Iterator[FakeTextract]:
    fake = FakeTextract(app)
    for start, get in [
        ("StartDocumentTextDetection", "GetDocumentTextDetection"),
        ("StartDocumentAnalysis", "GetDocumentAnalysis"),
    ]:
        app.providers.register("textract", start, fake.start(start))
        app.providers.register("textract", get, fake.get(get, start))
    yield fake
    app.drain()
    app.providers.clear()


def run(app: LocalRuntime, **options: Any) -> dict[str, Any]:
    execution_input = {"tenant_id": TENANT, "job_id": JOB, "input": DOCUMENT, "options": options}
    result = app.run(MACHINE, execution_input, timeout=30)
    app.drain()
    return result


def task_tokens(app: LocalRuntime) -> list[dict[str, Any]]:
    return app.client("dynamodb").scan(TableName=app.physical_id("TaskTokensTable"))["Items"]


def test_a_document_is_read_assembled_stored_and_its_text_analysed(app, textract) -> None:
    # When a document is run through the pipeline without features
    result = run(app)

    # Then it succeeds with the document's summary, its chunks and text-insights' output
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    key = f"results/{TENANT}/{JOB}/document.json"
    bucket = app.physical_id("DocumentsBucket")
    stored = json.loads(app.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert output["document"] == {
        "bucket": bucket,
        "key": key,
        "pages": 3,
        "characters": len(stored["text"]),
        "truncated": False,
    }
    assert output["chunks"] == [{"text": stored["text"], "offset": 0}]
    assert output["insights"] == {
        "tenant_id": TENANT,
        "job_id": JOB,
        "chunks": output["chunks"],
        "language": None,
        "target_language": None,
    }
    # And Textract was asked for text detection only, and its token is gone
    assert textract.calls == {"StartDocumentTextDetection": 1, "GetDocumentTextDetection": 2}
    assert task_tokens(app) == []


def test_forms_and_tables_run_a_document_analysis(app, textract) -> None:
    result = run(app, features=["FORMS", "TABLES"], language="en")

    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert textract.starts[0]["FeatureTypes"] == ["FORMS", "TABLES"]
    assert textract.calls["GetDocumentAnalysis"] == 1
    assert output["insights"]["language"] == "en"
    stored = json.loads(
        app.client("s3")
        .get_object(Bucket=output["document"]["bucket"], Key=output["document"]["key"])["Body"]
        .read()
    )
    assert stored["forms"][0] == {"key": "Name:", "value": "Jane Doe", "page": 1}
    assert stored["tables"][0]["rows"][0] == ["Date", "Item", "Amount"]


def test_a_failed_textract_job_fails_the_execution_with_textract_job_failed(app, textract) -> None:
    textract.status = "FAILED"

    result = run(app)

    assert result["status"] == "FAILED"
    assert result["error"] == "Textract.JobFailed"
    assert result["cause"].startswith("Textract job ") and result["cause"].endswith(" ended FAILED")
    assert textract.calls["GetDocumentTextDetection"] == 0
    assert task_tokens(app) == []


def test_throttled_starts_are_retried_each_attempt_under_a_tag_of_its_own(app, textract) -> None:
    # Given Textract that throttles the first two Start calls
    textract.start_errors = ["ThrottlingException", "ProvisionedThroughputExceededException"]

    # When a document is run
    result = run(app)

    # Then the third attempt succeeds, each attempt having used its own tag
    assert result["status"] == "SUCCEEDED", result
    tags = [start["JobTag"] for start in textract.starts]
    assert len(set(tags)) == 3
    assert [tag.rsplit("-", 1)[1] for tag in tags] == ["0", "1", "2"]


def test_a_document_textract_cannot_read_fails_at_once_with_the_textract_error(
    app, textract
) -> None:
    textract.start_errors = ["InvalidS3ObjectException"]

    result = run(app)

    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidS3ObjectException"
    assert "StartDocumentTextDetection failed" in result["cause"]
    assert textract.calls["StartDocumentTextDetection"] == 1


def test_a_document_without_text_skips_the_analysis(app, textract) -> None:
    textract.results["StartDocumentTextDetection"] = [BLANK_PAGE]

    result = run(app)

    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["document"]["pages"] == 1 and output["document"]["characters"] == 0
    assert output["chunks"] == [] and output["insights"] is None


def test_a_job_get_star_reports_failed_fails_the_execution_with_textract_job_failed(
    app, textract
) -> None:
    textract.results["StartDocumentTextDetection"] = [
        {"JobStatus": "FAILED", "StatusMessage": "Unsupported document format"}
    ]

    result = run(app)

    assert result["status"] == "FAILED"
    assert result["error"] == "TextractJobFailed"
    assert "Unsupported document format" in result["cause"]
