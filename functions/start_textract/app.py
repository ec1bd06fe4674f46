"""StartTextract: stores the step's task token, then starts the Textract job.

The token is stored under the job's tag *before* Textract is called, so a completion can
never arrive before its token is findable (textract_callback looks it up by ``JobTag``).
The Lambda's return value is not the step's result: textract_callback completes the token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from textract_request import (
    ANALYSIS,
    TOKEN_LIFETIME_SECONDS,
    StartRequest,
    StartTextractEvent,
    job_tag,
    start_request,
    textract_error,
)

from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()


@dataclass(frozen=True)
class Settings:
    task_tokens_table: str
    textract_topic_arn: str
    textract_role_arn: str


settings = load_settings(Settings)
dynamodb = LazyClient("dynamodb")
textract = LazyClient("textract")


def store_token(tag: str, event: StartTextractEvent) -> None:
    dynamodb.put_item(
        TableName=settings.task_tokens_table,
        Item={
            "tag": {"S": tag},
            "task_token": {"S": event.task_token},
            "tenant_id": {"S": event.tenant_id},
            "job_id": {"S": event.job_id},
            "expires_at": {"N": str(int(time.time()) + TOKEN_LIFETIME_SECONDS)},
        },
    )


def start_job(request: StartRequest) -> str:
    """Start the Textract job; a Textract error is raised as a class named after its code."""
    start = (
        textract.start_document_analysis
        if request.operation == ANALYSIS
        else textract.start_document_text_detection
    )
    try:
        return start(**request.parameters)["JobId"]
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or "ClientError"
        raise textract_error(code)(details.get("Message") or code) from error


def record_job_id(tag: str, textract_job_id: str) -> None:
    """Note the Textract job on its token, unless the completion has already used it."""
    try:
        dynamodb.update_item(
            TableName=settings.task_tokens_table,
            Key={"tag": {"S": tag}},
            UpdateExpression="SET textract_job_id = :job",
            ConditionExpression="attribute_exists(tag)",
            ExpressionAttributeValues={":job": {"S": textract_job_id}},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    request = StartTextractEvent.parse(event)
    tag = job_tag(request.execution_id, request.attempt)
    logger.append_keys(tenant_id=request.tenant_id, job_id=request.job_id, job_tag=tag)
    store_token(tag, request)
    textract_request = start_request(
        request, tag, settings.textract_topic_arn, settings.textract_role_arn
    )
    textract_job_id = start_job(textract_request)
    record_job_id(tag, textract_job_id)
    logger.info(
        "textract job started",
        extra={"textract_job_id": textract_job_id, "operation": textract_request.operation},
    )
    return {"job_tag": tag, "textract_job_id": textract_job_id}
