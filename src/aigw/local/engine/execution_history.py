"""GetExecutionHistory in pages, in either order, with or without execution data.

AWS pages the history (``maxResults``, 100 by default and at most 1,000, with an opaque
``nextToken``), returns it newest first with ``reverseOrder``, and leaves events' input and
output out with ``includeExecutionData: false`` (the Step Functions API reference,
GetExecutionHistory). moto returns every event, oldest first, whatever is asked.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.stepfunctions.responses import StepFunctionResponse

from aigw.local.engine.patches import Attr, Fix

DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 1000
_ORIGINAL: Final = StepFunctionResponse.get_execution_history


def _token(arn: str, offset: int, reverse: bool) -> str:
    data = json.dumps({"arn": arn, "offset": offset, "reverse": reverse}).encode()
    return base64.urlsafe_b64encode(data).decode()


def _offset(token: str, arn: str, reverse: bool) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["arn"] != arn or data["reverse"] != reverse:
            raise ValueError("another history")
        return int(data["offset"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise JsonRESTError("InvalidToken", f"Invalid Token: '{token}'") from None


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {k: v for k, v in value.items() if k not in ("input", "output")}
        if key.endswith("EventDetails") and isinstance(value, dict)
        else value
        for key, value in event.items()
    }


def _get_execution_history(self: StepFunctionResponse) -> ActionResult:
    arn = self._get_param("executionArn")
    history = self.stepfunction_backend.get_execution_history(arn)
    events = list(history["events"] if isinstance(history, dict) else history.events)
    reverse = bool(self._get_param("reverseOrder", False))
    page = int(self._get_param("maxResults") or 0) or DEFAULT_PAGE
    if not 0 < page <= MAX_PAGE:
        raise JsonRESTError(
            "ValidationException",
            f"1 validation error detected: Value '{page}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_PAGE}",
        )
    if reverse:
        events.reverse()
    token = self._get_param("nextToken")
    start = _offset(token, arn, reverse) if token else 0
    chosen = events[start : start + page]
    if self._get_param("includeExecutionData") is False:
        chosen = [_without_data(event) for event in chosen]
    answer: dict[str, Any] = {"events": chosen}
    if start + page < len(events):
        answer["nextToken"] = _token(arn, start + page, reverse)
    return ActionResult(answer)


FIXES: Final[list[Fix]] = [
    Fix(
        name="execution-history-pages",
        why="Clients page GetExecutionHistory (boto3's paginator, maxResults/nextToken) and "
        "read the newest events first with reverseOrder.",
        upstream_bug="get_execution_history ignores maxResults, nextToken, reverseOrder and "
        "includeExecutionData: every event, oldest first, in one page.",
        patches=[Attr(StepFunctionResponse, "get_execution_history", _get_execution_history)],
    ),
]
