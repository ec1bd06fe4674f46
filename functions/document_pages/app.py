"""AssemblePages: reads a finished Textract job, stores the assembled document in S3 and
returns its summary with the text split for text-insights.

The full document (pages, lines, forms, tables, text) goes to the Documents bucket, never
through the state machine: only the summary and at most ``MAX_ANALYSED_BYTES`` of text are
returned. A job Textract reports as not succeeded raises ``TextractJobFailed``; Textract's
own errors are raised as classes named after their code (``ThrottlingException``...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pages import (
    ANALYSIS,
    Block,
    PagesRequest,
    analysis_input,
    assemble,
    check_job_status,
    compact,
    document_key,
    textract_error,
)

from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()

#: The most blocks one Get* call returns.
PAGE_SIZE = 1000


@dataclass(frozen=True)
class Settings:
    documents_bucket: str


settings = load_settings(Settings)
s3 = LazyClient("s3")
textract = LazyClient("textract")


def read_blocks(request: PagesRequest) -> tuple[int, list[Block]]:
    """The document's page count and the blocks assembly reads, page after page of results."""
    analysis = request.api == ANALYSIS
    get = textract.get_document_analysis if analysis else textract.get_document_text_detection
    parameters: dict[str, Any] = {"JobId": request.textract_job_id, "MaxResults": PAGE_SIZE}
    page_count = 0
    blocks: list[Block] = []
    while True:
        try:
            response = get(**parameters)
        except ClientError as error:
            details = error.response.get("Error", {})
            code = details.get("Code") or "ClientError"
            raise textract_error(code)(details.get("Message") or code) from error
        check_job_status(
            request.textract_job_id, response["JobStatus"], response.get("StatusMessage")
        )
        page_count = response.get("DocumentMetadata", {}).get("Pages", page_count)
        blocks += compact(response.get("Blocks", []), analysis=analysis)
        if not response.get("NextToken"):
            return page_count, blocks
        parameters["NextToken"] = response["NextToken"]


def store_document(key: str, document: dict[str, Any]) -> None:
    s3.put_object(
        Bucket=settings.documents_bucket,
        Key=key,
        Body=json.dumps(document, ensure_ascii=False).encode(),
        ContentType="application/json",
    )


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = PagesRequest.parse(event)
    logger.append_keys(
        tenant_id=request.tenant_id, job_id=request.job_id, textract_job_id=request.textract_job_id
    )
    page_count, blocks = read_blocks(request)
    document = assemble(blocks, page_count)
    key = document_key(request.tenant_id, request.job_id)
    store_document(key, document)
    chunks, truncated = analysis_input(document["text"])
    summary = {
        "bucket": settings.documents_bucket,
        "key": key,
        "pages": len(document["pages"]),
        "characters": len(document["text"]),
        "truncated": truncated,
    }
    logger.info("document assembled", extra={**summary, "chunks": len(chunks)})
    return {"document": summary, "chunks": chunks, "language": request.options.language}
