"""What a service cannot read is refused at submit, with a typed error, not a failed job.

Rekognition reads JPEG and PNG of 80 to 10,000 pixels a side, at most 15 MB from S3;
Textract's asynchronous APIs read PDF, TIFF, JPEG and PNG, images at most 10 MB and 10,000
pixels a side; language detection needs 20 characters (aigw_common.limits has the sources).
The file's first bytes are read at submit (one ranged GET for an upload).
"""

from __future__ import annotations

import base64
import struct
import uuid
from typing import Any

import pytest
from conftest import Gateway, png

from aigw_common import limits, media

JPEG_HEADER = b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9


def _jpeg(width: int, height: int) -> bytes:
    """A JPEG's start: APP0, then a baseline frame header with its size (enough to sniff)."""
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00" * 3
    return JPEG_HEADER + b"\xff\xc0" + struct.pack(">H", 2 + len(frame)) + frame + b"\xff\xd9"


def _upload(gateway: Gateway, content: bytes) -> str:
    key = f"uploads/{gateway.tenant.tenant_id}/{uuid.uuid4().hex}/file"
    bucket = gateway.runtime.physical_id("DocumentsBucket")
    gateway.runtime.client("s3").put_object(Bucket=bucket, Key=key, Body=content)
    return f"s3://{bucket}/{key}"


def _submit(gateway: Gateway, pipeline: str, pipeline_input: dict[str, Any], **options: Any) -> Any:
    body: dict[str, Any] = {"pipeline": pipeline, "input": pipeline_input}
    if options:
        body["options"] = options
    return gateway.request("POST", "/jobs", body)


def _inline(field: str, content: bytes) -> dict[str, str]:
    return {field: base64.b64encode(content).decode()}


# ------------------------------------------------------------------------------ images


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            b"GIF89a" + b"\x00" * 40,
            "Rekognition reads JPEG and PNG images; this is a file starting",
        ),
        (b"II*\x00" + b"\x00" * 40, "this is TIFF"),
        (b"%PDF-1.7\n", "this is PDF"),
        (png(79, 300), "79 x 300 pixels; it must have 80 to 10000 pixels a side"),
        (png(10_001, 80), "10001 x 80 pixels"),
        (_jpeg(40, 40), "40 x 40 pixels"),
    ],
)
@pytest.mark.parametrize("how", ["inline", "upload"])
def test_given_an_image_rekognition_cannot_read_when_submitted_then_400_and_no_job(
    gateway: Gateway, content: bytes, says: str, how: str
) -> None:
    image = (
        _inline("image_base64", content)
        if how == "inline"
        else {"s3_uri": _upload(gateway, content)}
    )

    answer = _submit(gateway, "image-insights", image)

    assert answer.status == 400, answer.body
    error = answer.json()["error"]
    assert error["code"] == "InvalidInput"
    assert says in error["message"]
    where = "input.image_base64" if how == "inline" else "input.s3_uri"
    assert error["message"].startswith(where)


@pytest.mark.parametrize("content", [png(80, 80), png(640, 480), _jpeg(1024, 768)])
def test_given_an_image_rekognition_reads_when_submitted_then_accepted(
    gateway: Gateway, content: bytes
) -> None:
    answer = _submit(gateway, "image-insights", {"s3_uri": _upload(gateway, content)})

    assert answer.status == 202, answer.body
    assert gateway.wait(answer.json()["job_id"])["status"] == "SUCCEEDED"


def test_given_an_uploaded_image_over_15_mb_when_submitted_then_413(gateway: Gateway) -> None:
    too_big = png(100, 100) + b"\x00" * limits.REKOGNITION_S3_IMAGE_BYTES

    answer = _submit(gateway, "image-insights", {"s3_uri": _upload(gateway, too_big)})

    assert answer.status == 413, answer.body
    assert "at most 15728640 bytes (15 MB)" in answer.json()["error"]["message"]


def test_given_an_upload_that_never_arrived_when_submitted_then_404(gateway: Gateway) -> None:
    bucket = gateway.runtime.physical_id("DocumentsBucket")
    missing = f"s3://{bucket}/uploads/{gateway.tenant.tenant_id}/nothing/here.png"

    answer = _submit(gateway, "image-insights", {"s3_uri": missing})

    assert answer.status == 404
    assert "was the upload completed?" in answer.json()["error"]["message"]


# ------------------------------------------------------------------------------ documents


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"PK\x03\x04 a word document", "Textract reads PDF, TIFF, JPEG and PNG documents"),
        (b"", "this is an empty file"),
    ],
)
def test_given_a_document_textract_cannot_read_when_submitted_then_400(
    gateway: Gateway, content: bytes, says: str
) -> None:
    answer = _submit(gateway, "document-insights", {"s3_uri": _upload(gateway, content)})

    assert answer.status == 400, answer.body
    assert says in answer.json()["error"]["message"]


def test_given_a_png_document_over_textracts_10_mb_when_submitted_then_413(
    gateway: Gateway,
) -> None:
    too_big = png(100, 100) + b"\x00" * limits.TEXTRACT_IMAGE_BYTES

    answer = _submit(gateway, "document-insights", {"s3_uri": _upload(gateway, too_big)})

    assert answer.status == 413
    assert "Textract reads PNG files of at most 10485760 bytes" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "content", [b"%PDF-1.7\n", b"II*\x00rest", b"MM\x00*rest", png(100, 100), _jpeg(800, 600)]
)
def test_given_a_document_textract_reads_when_submitted_then_accepted(
    gateway: Gateway, content: bytes
) -> None:
    answer = _submit(gateway, "document-insights", {"s3_uri": _upload(gateway, content)})

    assert answer.status == 202, answer.body
    assert gateway.wait(answer.json()["job_id"])["status"] == "SUCCEEDED"


# ------------------------------------------------------------------------------ short texts


def test_given_a_text_under_20_characters_without_a_language_then_400_saying_how(
    gateway: Gateway,
) -> None:
    answer = _submit(gateway, "text-insights", {"text": "Great stay!"})

    assert answer.status == 400
    message = answer.json()["error"]["message"]
    assert "input.text has 11 characters" in message
    assert "give options.language" in message


def test_given_a_short_text_with_its_language_then_it_is_analysed(gateway: Gateway) -> None:
    answer = _submit(gateway, "text-insights", {"text": "Great stay!"}, language="en")

    assert answer.status == 202
    assert gateway.wait(answer.json()["job_id"])["status"] == "SUCCEEDED"


# ------------------------------------------------------------------------------ sniffing


def test_given_file_starts_then_formats_and_dimensions_are_read() -> None:
    assert media.file_format(b"junk\n%PDF-1.4") == "pdf"  # readers allow junk first
    assert media.image_dimensions(png(321, 123)) == (321, 123)
    assert media.image_dimensions(_jpeg(640, 480)) == (640, 480)
    exif_first = b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", 5002) + b"\x00" * 5000
    assert media.image_dimensions(exif_first + _jpeg(64, 48)[2:]) == (64, 48)
    assert media.image_dimensions(b"\xff\xd8\xff\xe0\x00") is None  # cut short: unknown
