"""The SDK's exceptions: one class per API error code, each carrying the code, the HTTP
status and the request id the gateway answered with (quote it when reporting a problem)."""

from __future__ import annotations

import json
from typing import Any


class AigwError(Exception):
    """Anything the SDK raises."""


class ConfigurationError(AigwError):
    """No gateway URL or API key, or a profile that does not exist."""


class TransportError(AigwError):
    """The gateway could not be reached (connection refused, DNS, timeouts), after retries."""


class ResponseError(AigwError):
    """The gateway answered with a shape the API does not describe (a proxy in between, or
    a client older than the API's breaking change)."""


class UploadError(AigwError):
    """The storage service refused a presigned upload."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the upload was refused (HTTP {status}): {detail}")
        self.status = status


class WaitTimeoutError(AigwError, TimeoutError):
    """The job did not end within the time given to ``wait``; it may still be running."""

    def __init__(self, job_id: str, timeout: float, status: str | None) -> None:
        super().__init__(f"job {job_id} did not end within {timeout:g} s (last status {status})")
        self.job_id, self.timeout, self.status = job_id, timeout, status


class ApiError(AigwError):
    """An error answer of the API: ``{"error": {"code", "message", "request_id"}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        request = f", request {request_id}" if request_id else ""
        super().__init__(f"{code}: {message} (HTTP {status}{request})")
        self.status, self.code, self.message = status, code, message
        self.request_id, self.retry_after = request_id, retry_after


class InvalidInputError(ApiError):
    """400/422: the request or the pipeline's input is not valid."""


class UnauthorizedError(ApiError):
    """401: no API key, or not a valid one."""


class ForbiddenError(ApiError):
    """403: the key may not do this (a pending or suspended tenant, say)."""


class NotFoundError(ApiError):
    """404: no such job (another tenant's job is not found either) or route."""


class ConflictError(ApiError):
    """409: the idempotency key was used with another body, or the job already ended."""


class PayloadTooLargeError(ApiError):
    """413: the request body is over the limit; upload the file instead."""


class RateLimitedError(ApiError):
    """429: throttled or over quota, still after the client's retries."""


class QuotaExceededError(RateLimitedError):
    """429: a tenant limit refused the request; ``limit`` names it (``max_concurrent_jobs``,
    ``monthly_budget_usd`` or ``monthly_jobs``) and ``retry_after`` says when to try again
    (seconds; until next month for the monthly limits)."""

    limit: str | None = None


class UpstreamError(ApiError):
    """502: an AWS service behind the gateway failed."""


class GatewayTimeoutError(ApiError):
    """504 (code ``Timeout``): the request took too long."""


class InternalError(ApiError):
    """500: the gateway failed unexpectedly."""


#: The API's error codes (the ``Error`` schema's enum) and their exceptions.
ERRORS_BY_CODE: dict[str, type[ApiError]] = {
    "InvalidInput": InvalidInputError,
    "Unauthorized": UnauthorizedError,
    "Forbidden": ForbiddenError,
    "NotFound": NotFoundError,
    "Conflict": ConflictError,
    "PayloadTooLarge": PayloadTooLargeError,
    "RateLimited": RateLimitedError,
    "QuotaExceeded": QuotaExceededError,
    "UpstreamError": UpstreamError,
    "Timeout": GatewayTimeoutError,
    "Internal": InternalError,
}
_CODES_BY_STATUS = {
    400: "InvalidInput",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    422: "InvalidInput",
    429: "RateLimited",
    502: "UpstreamError",
    504: "Timeout",
}


def api_error(status: int, body: bytes, retry_after: float | None = None) -> ApiError:
    """The exception for an error answer; a body that is not the API's error shape (a
    proxy's, say) still gets the class its status means."""
    code, message, request_id = _CODES_BY_STATUS.get(status, "Internal"), "", None
    try:
        error: Any = json.loads(body)["error"]
        code = str(error.get("code") or code)
        message = str(error.get("message") or "")
        request_id = error.get("request_id")
    except (ValueError, KeyError, TypeError, AttributeError):
        message = body.decode("utf-8", errors="replace").strip()[:200]
    kind = ERRORS_BY_CODE.get(code, ApiError)
    error = kind(status, code, message or f"HTTP {status}", request_id, retry_after)
    if isinstance(error, QuotaExceededError):
        error.limit = _limit(body)
    return error


def _limit(body: bytes) -> str | None:
    try:
        limit = json.loads(body)["error"].get("limit")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return str(limit) if limit else None
