"""Completes the StartTextract step when Textract's completion message arrives over SNS.

The waiting step's token is found by the message's ``JobTag``; it is sent success (the job's
id and API) or failure (``Textract.JobFailed``) and then forgotten. Messages that can never
complete anything (not a completion, an unknown tag, a step that is gone) are logged and
skipped: raising would only make Lambda retry them. AWS errors that may pass do raise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from textract_completion import TaskFailure, TaskSuccess, parse_completion, task_result

from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()

#: Step Functions' answers for a token whose step no longer waits (timed out, execution
#: stopped or failed, token already used).
STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


@dataclass(frozen=True)
class Settings:
    task_tokens_table: str


settings = load_settings(Settings)
dynamodb = LazyClient("dynamodb")
sfn = LazyClient("stepfunctions")


def find_token(tag: str) -> str | None:
    item = dynamodb.get_item(
        TableName=settings.task_tokens_table,
        Key={"tag": {"S": tag}},
        ProjectionExpression="task_token",
        ConsistentRead=True,
    ).get("Item")
    return item["task_token"]["S"] if item else None


def complete_task(token: str, result: TaskSuccess | TaskFailure) -> bool:
    """Send the result; False if the step no longer waits for it."""
    try:
        if isinstance(result, TaskSuccess):
            sfn.send_task_success(taskToken=token, output=json.dumps(result.output))
        else:
            sfn.send_task_failure(taskToken=token, error=result.error, cause=result.cause)
    except ClientError as error:
        if error.response["Error"]["Code"] in STALE_TOKEN_ERRORS:
            return False
        raise
    return True


def forget_token(tag: str) -> None:
    dynamodb.delete_item(TableName=settings.task_tokens_table, Key={"tag": {"S": tag}})


def handle_message(message: str) -> None:
    completion = parse_completion(message)
    if completion is None:
        logger.warning("skipped: not a Textract completion with a job tag")
        return
    logger.append_keys(job_tag=completion.job_tag, textract_job_id=completion.job_id)
    token = find_token(completion.job_tag)
    if token is None:
        logger.warning("skipped: no step waits for this job tag (already completed or expired)")
        return
    result = task_result(completion)
    if complete_task(token, result):
        logger.info("step completed", extra={"textract_status": completion.status})
    else:
        logger.warning("skipped: the step no longer waits for this job")
    forget_token(completion.job_tag)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    for record in event["Records"]:
        handle_message(record["Sns"]["Message"])
