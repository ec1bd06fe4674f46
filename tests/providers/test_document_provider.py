"""The offline Textract provider, called as callers call it: a boto3 client, S3 and SNS in moto."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import xform_name
from moto import mock_aws

from aigw.local.services.providers import registry
from aigw.providers import documents

_spec = importlib.util.spec_from_file_location(
    "aws_shapes", Path(__file__).parents[1] / "gateway" / "aws_shapes.py"
)
assert _spec is not None and _spec.loader is not None
aws_shapes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aws_shapes)
_spec = importlib.util.spec_from_file_location("pdfs", Path(__file__).parent / "pdfs.py")
assert _spec is not None and _spec.loader is not None
pdfs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pdfs)

REGION = "us-east-1"
BUCKET = "documents"
ROLE = "arn:aws:iam::123456789012:role/textract"
OPERATIONS = [
    "StartDocumentTextDetection",
    "GetDocumentTextDetection",
    "StartDocumentAnalysis",
    "GetDocumentAnalysis",
]
INVOICE = pdfs.INVOICE


class Aws:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.textract = boto3.client("textract", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        sns = boto3.client("sns", region_name=REGION)
        self.topic = sns.create_topic(Name="textract-done")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="textract-done")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )

    def start(
        self, key: str, body: bytes, operation: str = "StartDocumentTextDetection", **extra: Any
    ) -> str:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        method = getattr(self.textract, xform_name(operation))
        response = method(
            DocumentLocation={"S3Object": {"Bucket": BUCKET, "Name": key}},
            NotificationChannel={"SNSTopicArn": self.topic, "RoleArn": ROLE},
            **extra,
        )
        response.pop("ResponseMetadata")
        aws_shapes.assert_output_shape("textract", operation, response)
        job_id: str = response["JobId"]
        return job_id

    def notifications(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
        return [json.loads(message["Body"]) for message in messages.get("Messages", [])]

    def get(self, operation: str, **params: Any) -> dict[str, Any]:
        response = getattr(self.textract, xform_name(operation))(**params)
        response.pop("ResponseMetadata")
        aws_shapes.assert_output_shape("textract", operation, response)
        return response


@pytest.fixture
def aws() -> Iterator[Aws]:
    """Real boto3 clients answered by the provider; the registry is restored after, so the
    gateway tests' fakes and moto see what they saw before."""
    saved = {operation: registry.lookup("textract", operation) for operation in OPERATIONS}
    documents.install(registry)
    try:
        with mock_aws():
            yield Aws()
    finally:
        for operation, provider in saved.items():
            if provider is None:
                registry.unregister("textract", operation)
            else:
                registry.register("textract", operation, provider)


def _lines(blocks: list[dict[str, Any]]) -> list[str]:
    return [block["Text"] for block in blocks if block["BlockType"] == "LINE"]


def test_given_a_text_pdf_when_detecting_text_then_sns_is_told_and_the_lines_are_read(
    aws: Aws,
) -> None:
    job_id = aws.start("in/invoice.pdf", pdfs.make_pdf(INVOICE), JobTag="job-7")

    [message] = aws.notifications()
    assert message["JobId"] == job_id
    assert message["Status"] == "SUCCEEDED"
    assert message["API"] == "StartDocumentTextDetection"
    assert message["JobTag"] == "job-7"
    assert message["DocumentLocation"] == {"S3ObjectName": "in/invoice.pdf", "S3Bucket": BUCKET}
    result = aws.get("GetDocumentTextDetection", JobId=job_id)
    assert result["JobStatus"] == "SUCCEEDED"
    assert result["DocumentMetadata"] == {"Pages": 1}
    assert "NextToken" not in result
    assert _lines(result["Blocks"]) == INVOICE
    page, first, second = result["Blocks"]
    assert page["BlockType"] == "PAGE"
    assert page["Relationships"] == [{"Type": "CHILD", "Ids": [first["Id"], second["Id"]]}]
    assert first["Confidence"] == 99.0
    box = first["Geometry"]["BoundingBox"]
    # 72 pt from the left of a 612 pt page, 720 pt up a 792 pt one, 24 pt type.
    assert box["Left"] == pytest.approx(72 / 612, abs=0.01)
    assert box["Top"] == pytest.approx((792 - 720 - 17) / 792, abs=0.01)
    assert 0 < box["Height"] < 0.05
    assert second["Geometry"]["BoundingBox"]["Top"] > box["Top"]


def test_given_forms_and_tables_when_analysing_then_lines_only_and_api_named(aws: Aws) -> None:
    job_id = aws.start(
        "in/form.pdf",
        pdfs.make_pdf(INVOICE),
        "StartDocumentAnalysis",
        FeatureTypes=["FORMS", "TABLES"],
    )

    assert aws.notifications()[0]["API"] == "StartDocumentAnalysis"
    result = aws.get("GetDocumentAnalysis", JobId=job_id)
    assert {block["BlockType"] for block in result["Blocks"]} == {"PAGE", "LINE"}
    assert _lines(result["Blocks"]) == INVOICE


def test_given_max_results_1_when_paging_then_every_block_comes_once_in_order(aws: Aws) -> None:
    job_id = aws.start("in/two.pdf", pdfs.make_pdf(INVOICE, []))

    pages, token = [], None
    while True:
        result = aws.get(
            "GetDocumentTextDetection",
            JobId=job_id,
            MaxResults=1,
            **({"NextToken": token} if token else {}),
        )
        pages.append(result["Blocks"])
        token = result.get("NextToken")
        if token is None:
            break

    assert [len(blocks) for blocks in pages] == [1, 1, 1, 1]
    blocks = [block for page in pages for block in page]
    assert [(block["BlockType"], block["Page"]) for block in blocks] == [
        ("PAGE", 1),
        ("LINE", 1),
        ("LINE", 1),
        ("PAGE", 2),
    ]
    assert result["DocumentMetadata"] == {"Pages": 2}
    assert "Relationships" not in blocks[3]  # a page without a text layer has no lines


def test_given_the_same_client_request_token_then_the_same_job_is_published_once(
    aws: Aws,
) -> None:
    first = aws.start("in/invoice.pdf", pdfs.make_pdf(INVOICE), ClientRequestToken="once")
    second = aws.start("in/invoice.pdf", pdfs.make_pdf(INVOICE), ClientRequestToken="once")

    assert first == second
    assert len(aws.notifications()) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "BadDocumentException"),
        (b"%PDF-1.7\nthis is not a PDF at all", "BadDocumentException"),
        (b"", "BadDocumentException"),
        (b"Total: 1,234.00 EUR\n", "UnsupportedDocumentException"),
    ],
)
def test_given_a_corrupt_empty_or_unsupported_document_when_starting_then_the_modeled_error(
    aws: Aws, body: bytes, error: str
) -> None:
    with pytest.raises(getattr(aws.textract.exceptions, error)):
        aws.start("in/upload", body)

    assert aws.notifications() == []


def test_given_a_missing_object_when_starting_then_invalid_s3_object(aws: Aws) -> None:
    with pytest.raises(aws.textract.exceptions.InvalidS3ObjectException):
        aws.textract.start_document_text_detection(
            DocumentLocation={"S3Object": {"Bucket": BUCKET, "Name": "nowhere.pdf"}}
        )


def test_given_an_unknown_job_when_getting_then_invalid_job_id(aws: Aws) -> None:
    with pytest.raises(aws.textract.exceptions.InvalidJobIdException):
        aws.textract.get_document_text_detection(JobId="0" * 32)
