"""Textract's asynchronous text detection, answered offline: PDF text layers and OCR.

- ``StartDocumentTextDetection`` / ``StartDocumentAnalysis`` read the S3 object, extract
  the text of every page and finish at once: the job is stored in memory and its completion
  is published to ``NotificationChannel.SNSTopicArn`` as Textract does, before Start*
  returns. The same ``ClientRequestToken`` gives the same job, published once.
- ``GetDocumentTextDetection`` / ``GetDocumentAnalysis`` page through the job's blocks by
  ``MaxResults`` (default 1000) with an opaque ``NextToken``.

What is read:

- A PDF page with a text layer: its lines as pdfium (pypdfium2) orders them, a LINE block
  each (``Confidence`` 99.0, bounding box relative to the page's media box; page rotation
  is ignored), no WORD blocks.
- A PDF page without one (a scan) is rendered at 200 dpi and read by OCR, as are PNG, JPEG
  and TIFF documents (every TIFF page): RapidOCR (``ocr.py``, about 1 s a page on two
  cores). A LINE block per line and a WORD block per word (``TextType`` PRINTED), each with
  a ``BoundingBox`` and a four-point ``Polygon`` and the recogniser's score as
  ``Confidence`` (0-100); the PAGE lists its lines, a LINE its words. Horizontal printed
  text; handwriting and rotated pages are read poorly or not at all.

Analysis accepts FORMS and TABLES but answers with lines (and words) only: forms, tables,
queries, signatures and layout are not extracted locally. Jobs never fail or expire.

Errors, as Textract's: an empty document or one that cannot be decoded (a damaged PDF or
image) is a BadDocumentException; a format other than PDF, PNG, JPEG and TIFF an
UnsupportedDocumentException; a PNG or JPEG over 10 MB or a PDF over 3,000 pages a
DocumentTooLargeException; an S3 object that cannot be read an InvalidS3ObjectException.
Every message says why.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from aigw.local.services.providers import ServiceError
from aigw.providers import ocr

if TYPE_CHECKING:
    from aigw.local.services.providers import ProviderRegistry

Params = dict[str, Any]
Block = dict[str, Any]
Array = ocr.Array

LINE_CONFIDENCE = 99.0
#: Scanned PDF pages are rendered at this resolution for OCR.
SCAN_DPI = 200
#: Textract's limits for asynchronous operations: JPEG and PNG files up to 10 MB, PDF and
#: TIFF files up to 500 MB and 3,000 pages.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PAGES = 3000
DEFAULT_MAX_RESULTS = 1000
_LINE_BREAKS = frozenset("\r\n")
# pdfium is not thread-safe, and the state machine's branches call in from several threads.
_PDFIUM_LOCK = threading.Lock()


def _box(left: float, bottom: float, right: float, top: float, media: tuple[float, ...]) -> Params:
    """A PDF box (points, origin bottom-left) as Textract's ratios of the page (top-left)."""
    x0, y0, x1, y1 = media
    width, height = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    return {
        "Width": (right - left) / width,
        "Height": (top - bottom) / height,
        "Left": (left - x0) / width,
        "Top": (y1 - top) / height,
    }


def _page_lines(page: Any) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The page's text lines as pdfium orders them, each with the box around its characters."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        lines: list[tuple[str, tuple[float, float, float, float]]] = []
        chars: list[str] = []
        boxes: list[tuple[float, float, float, float]] = []

        def close_line() -> None:
            text = "".join(chars).strip()
            if text and boxes:
                lines.append(
                    (
                        text,
                        (
                            min(box[0] for box in boxes),
                            min(box[1] for box in boxes),
                            max(box[2] for box in boxes),
                            max(box[3] for box in boxes),
                        ),
                    )
                )
            chars.clear()
            boxes.clear()

        for index in range(textpage.count_chars()):
            char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))
            if char in _LINE_BREAKS:
                close_line()
                continue
            chars.append(char)
            if not char.isspace():
                boxes.append(textpage.get_charbox(index))
        close_line()
        return lines
    finally:
        textpage.close()


def _page_block(number: int, children: list[Block]) -> Block:
    block: Block = {
        "BlockType": "PAGE",
        "Id": str(uuid.uuid4()),
        "Page": number,
        "Geometry": {
            "BoundingBox": {"Width": 1.0, "Height": 1.0, "Left": 0.0, "Top": 0.0},
            "Polygon": [
                {"X": 0.0, "Y": 0.0},
                {"X": 1.0, "Y": 0.0},
                {"X": 1.0, "Y": 1.0},
                {"X": 0.0, "Y": 1.0},
            ],
        },
    }
    lines = [child["Id"] for child in children if child["BlockType"] == "LINE"]
    if lines:
        block["Relationships"] = [{"Type": "CHILD", "Ids": lines}]
    return block


def _ocr_blocks(image: Array, number: int) -> list[Block]:
    """LINE blocks, each followed by its WORD blocks, of one page image read by OCR."""
    height, width = image.shape[:2]
    blocks: list[Block] = []
    for line in ocr.recognise(image):
        words = [
            {
                "BlockType": "WORD",
                "Id": str(uuid.uuid4()),
                "Page": number,
                "Text": word.text,
                "TextType": "PRINTED",
                "Confidence": round(100 * word.score, 3),
                "Geometry": ocr.geometry(word.polygon, width, height),
            }
            for word in line.words
        ]
        line_block: Block = {
            "BlockType": "LINE",
            "Id": str(uuid.uuid4()),
            "Page": number,
            "Text": line.text,
            "Confidence": round(100 * line.score, 3),
            "Geometry": ocr.geometry(line.polygon, width, height),
        }
        if words:
            line_block["Relationships"] = [{"Type": "CHILD", "Ids": [w["Id"] for w in words]}]
        blocks += [line_block, *words]
    return blocks


def _pdf_pages(data: bytes) -> list[list[Block] | Array]:
    """Each page's LINE blocks from its text layer or, for a page without one, its image
    rendered at ``SCAN_DPI`` for OCR (done after pdfium's lock is released)."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            raise ServiceError(
                "BadDocumentException", f"the PDF cannot be read: {error}"
            ) from error
        try:
            if len(document) == 0:
                raise ServiceError("BadDocumentException", "the PDF has no pages")
            if len(document) > MAX_PAGES:
                raise ServiceError(
                    "DocumentTooLargeException",
                    f"the PDF has {len(document)} pages; Textract reads at most {MAX_PAGES}",
                )
            pages: list[list[Block] | Array] = []
            for number, page in enumerate(document, 1):
                try:
                    media = tuple(page.get_mediabox())
                    lines: list[Block] = [
                        {
                            "BlockType": "LINE",
                            "Id": str(uuid.uuid4()),
                            "Page": number,
                            "Text": text,
                            "Confidence": LINE_CONFIDENCE,
                            "Geometry": {"BoundingBox": _box(*box, media)},
                        }
                        for text, box in _page_lines(page)
                    ]
                    if lines:
                        pages.append(lines)
                    else:  # a scanned page: no text layer
                        bitmap = page.render(scale=SCAN_DPI / 72)
                        try:
                            pages.append(bitmap.to_numpy().copy())
                        finally:
                            bitmap.close()
                finally:
                    page.close()
            return pages
        finally:
            document.close()


def extract_blocks(data: bytes) -> tuple[int, list[Block]]:
    """The page count and the PAGE, LINE (and, for OCR, WORD) blocks, pages in order."""
    if not data:
        raise ServiceError("BadDocumentException", "the document is empty (0 bytes)")
    kind = ocr.sniff(data)
    if kind is None:
        raise ServiceError(
            "UnsupportedDocumentException",
            f"Textract reads PDF, PNG, JPEG and TIFF documents; this one is none of them "
            f"(it starts with {data[:8]!r})",
        )
    if kind in ("png", "jpeg") and len(data) > MAX_IMAGE_BYTES:
        raise ServiceError(
            "DocumentTooLargeException",
            f"the {kind.upper()} is {len(data)} bytes; Textract's asynchronous operations "
            f"take images of at most {MAX_IMAGE_BYTES} bytes",
        )
    if kind == "pdf":
        pages = _pdf_pages(data)
    else:
        pages = list(ocr.decode(data))
        if not pages:
            raise ServiceError(
                "BadDocumentException",
                f"the {kind.upper()} cannot be decoded: the file is damaged or truncated",
            )
    blocks: list[Block] = []
    for number, page in enumerate(pages, 1):
        children = page if isinstance(page, list) else _ocr_blocks(page, number)
        blocks += [_page_block(number, children), *children]
    return len(pages), blocks


def publish_completion(channel: Params, job_id: str, api: str, params: Params) -> None:
    """Tell the request's NotificationChannel that the job SUCCEEDED, in Textract's shape."""
    location = params["DocumentLocation"]["S3Object"]
    region = channel["SNSTopicArn"].split(":")[3]
    boto3.client("sns", region_name=region).publish(
        TopicArn=channel["SNSTopicArn"],
        Message=json.dumps(
            {
                "JobId": job_id,
                "Status": "SUCCEEDED",
                "API": api,
                "JobTag": params.get("JobTag"),
                "Timestamp": int(time.time() * 1000),
                "DocumentLocation": {
                    "S3ObjectName": location["Name"],
                    "S3Bucket": location["Bucket"],
                },
            }
        ),
    )


class LocalTextract:
    """The jobs of one process, kept in memory until it ends."""

    def __init__(self) -> None:
        self._jobs: dict[str, tuple[int, list[Block]]] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def start(self, api: str, params: Params) -> Params:
        token = params.get("ClientRequestToken")
        with self._lock:
            if token and (api, token) in self._tokens:
                return {"JobId": self._tokens[(api, token)]}
        location = params["DocumentLocation"]["S3Object"]
        channel = params.get("NotificationChannel")
        region = channel["SNSTopicArn"].split(":")[3] if channel else None
        result = extract_blocks(self._read(location, region))
        job_id = uuid.uuid4().hex
        with self._lock:
            if token:
                if (api, token) in self._tokens:  # a concurrent retry got there first
                    return {"JobId": self._tokens[(api, token)]}
                self._tokens[(api, token)] = job_id
            self._jobs[job_id] = result
        if channel:
            publish_completion(channel, job_id, api, params)
        return {"JobId": job_id}

    @staticmethod
    def _read(location: Params, region: str | None) -> bytes:
        extra = {"VersionId": location["Version"]} if location.get("Version") else {}
        try:
            response = boto3.client("s3", region_name=region).get_object(
                Bucket=location["Bucket"], Key=location["Name"], **extra
            )
        except ClientError as error:
            raise ServiceError(
                "InvalidS3ObjectException",
                f"s3://{location['Bucket']}/{location['Name']} cannot be read: "
                f"{error.response['Error']['Code']}",
            ) from error
        data: bytes = response["Body"].read()
        return data

    def get(self, params: Params, model_version: str) -> Params:
        job_id = params["JobId"]
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ServiceError("InvalidJobIdException", f"there is no job {job_id!r}")
        pages, blocks = job
        start = self._offset(job_id, params.get("NextToken"))
        end = start + params.get("MaxResults", DEFAULT_MAX_RESULTS)
        response: Params = {
            "JobStatus": "SUCCEEDED",
            "DocumentMetadata": {"Pages": pages},
            "Blocks": blocks[start:end],
            model_version: "1.0",
        }
        if end < len(blocks):
            response["NextToken"] = base64.urlsafe_b64encode(f"{job_id}:{end}".encode()).decode()
        return response

    @staticmethod
    def _offset(job_id: str, token: str | None) -> int:
        if not token:
            return 0
        try:
            token_job, _, offset = base64.urlsafe_b64decode(token).decode().partition(":")
            if token_job == job_id:
                return int(offset)
        except ValueError:
            pass
        raise ServiceError("InvalidParameterException", "the NextToken is not one of this job's")


def install(registry: ProviderRegistry) -> None:
    textract = LocalTextract()
    for start, get, version in [
        (
            "StartDocumentTextDetection",
            "GetDocumentTextDetection",
            "DetectDocumentTextModelVersion",
        ),
        ("StartDocumentAnalysis", "GetDocumentAnalysis", "AnalyzeDocumentModelVersion"),
    ]:
        registry.register("textract", start, lambda params, api=start: textract.start(api, params))
        registry.register(
            "textract", get, lambda params, version=version: textract.get(params, version)
        )
