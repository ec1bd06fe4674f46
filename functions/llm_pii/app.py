"""MaskPii of llm-generate: the PII entities Comprehend found, masked in the prompt before
it reaches the model. Logs counts only, never text."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from masking import mask_request

from aigw_common.lazy import LazyTracer

logger = Logger()
tracer = LazyTracer()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = mask_request(event)
    logger.info(
        "prompt masked",
        extra={
            "tenant_id": state.get("tenant_id"),
            "job_id": state.get("job_id"),
            "masked": state["input"]["pii_masked"],
        },
    )
    return state
