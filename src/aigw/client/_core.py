"""What the sync and async clients share: retry timing, job updates, inputs and URLs."""

from __future__ import annotations

import email.utils
import json
import logging
import mimetypes
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from pydantic import BaseModel

from aigw.client.errors import ApiError, api_error
from aigw.client.models import Job, SubmittedJob

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"})
#: Worth another try: throttling and server-side failures.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Longest wait the client accepts from a Retry-After before giving up on the request.
MAX_RETRY_AFTER = 60.0
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


#: ``idempotency_key=AUTO`` (the default): a new key per ``submit`` call, reused by its
#: retries, so a retried submit never starts a second job.
AUTO: Any = _Auto()


@dataclass(frozen=True)
class JobUpdate:
    """A job's status as ``wait`` saw it: pushed over the WebSocket or polled."""

    job_id: str
    status: str
    step: str | None = None
    percent: int | None = None
    source: str = "poll"  # "websocket" or "poll"

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def of_job(cls, job: Job) -> JobUpdate:
        progress = job.progress
        return cls(
            job.job_id,
            job.status,
            progress.step if progress else None,
            progress.percent if progress else None,
        )


def job_id_of(job: str | Job | SubmittedJob) -> str:
    return job if isinstance(job, str) else job.job_id


def as_body(value: Mapping[str, Any] | BaseModel | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_none=True)
    return dict(value)


def prompt_body(
    template: str,
    variables: Mapping[str, Any],
    system: str | None,
    model: str | None,
    parameters: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A prompt template version's request body (POST/PUT /prompts)."""
    body: dict[str, Any] = {"template": template, "variables": dict(variables)}
    optional = {"system": system, "model": model, "parameters": parameters}
    body.update({name: value for name, value in optional.items() if value is not None})
    return body


def content_type(path: Path, given: str | None) -> str:
    return (
        given
        or CONTENT_TYPES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )


def retry_after(header: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date)."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def backoff(attempt: int, error: ApiError | None, *, base: float = 0.5, cap: float = 8.0) -> float:
    """The pause before retry ``attempt`` (1, 2, …): the server's Retry-After when it gave
    one, else exponential with full jitter."""
    if error is not None and error.retry_after is not None:
        return error.retry_after + random.uniform(0, 0.1)
    return random.uniform(0, min(cap, base * 2**attempt))


def error_for(status: int, body: bytes, headers: Mapping[str, str]) -> ApiError:
    return api_error(status, body, retry_after(headers.get("retry-after")))


def ticket_url(ws_url: str, ticket: str) -> str:
    """The WebSocket URL that opens one connection with a ticket (``?ticket=``)."""
    parts = urlsplit(ws_url)
    query = "&".join(filter(None, [parts.query, urlencode({"ticket": ticket})]))
    return urlunsplit(parts._replace(query=query))


class _CredentialFilter(logging.Filter):
    """The websockets library logs each handshake header at DEBUG: not the key's value."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            record.msg in ("> %s: %s", "< %s: %s")
            and isinstance(args, tuple)
            and len(args) == 2
            and str(args[0]).lower() == "x-api-key"
        ):
            record.args = (args[0], "***")
        return True


#: The logger the clients give the websockets library: its handshakes without the key.
WEBSOCKET_LOG = logging.getLogger("aigw.client.websocket")
WEBSOCKET_LOG.addFilter(_CredentialFilter())


def websocket_options(api_key: str) -> dict[str, Any]:
    """How the clients open the WebSocket: the key in the ``x-api-key`` header of the
    handshake, as on every REST request, never in the URL (logs and proxies keep URLs)."""
    return {
        "additional_headers": {"x-api-key": api_key},
        "logger": WEBSOCKET_LOG,
        "open_timeout": 5,
        "close_timeout": 1,
    }


def subscribe_message(job_id: str) -> str:
    return json.dumps({"action": "subscribe", "job_id": job_id})


def pushed_update(raw: str | bytes, job_id: str) -> JobUpdate | None:
    """The update a WebSocket message carries for ``job_id``; None for anything else. A
    refused subscription (``{"type": "error"}``) raises the API error it names."""
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if message.get("type") == "error":
        code = str(message.get("code") or "Internal")
        body = json.dumps({"error": {"code": code, "message": message.get("message", "")}})
        status = {"NotFound": 404, "InvalidInput": 400, "Forbidden": 403}.get(code, 500)
        raise api_error(status, body.encode())
    if message.get("type") != "job.status" or message.get("job_id") != job_id:
        return None
    progress = message.get("progress") or {}
    return JobUpdate(
        job_id,
        str(message.get("status")),
        progress.get("step"),
        progress.get("percent"),
        "websocket",
    )


class PollSchedule:
    """Polling with backoff: quick at first (short jobs end fast), then slower."""

    def __init__(self, first: float = 0.2, factor: float = 1.5, cap: float = 5.0) -> None:
        self.next, self.factor, self.cap = first, factor, cap

    def pause(self, remaining: float) -> float:
        pause = min(self.next, max(0.0, remaining))
        self.next = min(self.cap, self.next * self.factor)
        return pause
