"""Domain errors and the one place they become HTTP answers.

Handlers raise these; ``http_status`` and ``code`` are what clients see in
``{"error": {"code", "message", "request_id"}}``. Anything else is an ``Internal`` 500
whose message never carries a stack trace or internal detail.
"""

from __future__ import annotations


class GatewayError(Exception):
    code = "Internal"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self, request_id: str) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message, "request_id": request_id}}


class InvalidInput(GatewayError):
    code = "InvalidInput"
    http_status = 400


class Unprocessable(InvalidInput):
    """Well-formed but unusable input (e.g. a document S3 cannot find)."""

    http_status = 422


class Unauthorized(GatewayError):
    code = "Unauthorized"
    http_status = 401


class Forbidden(GatewayError):
    code = "Forbidden"
    http_status = 403


class NotFound(GatewayError):
    code = "NotFound"
    http_status = 404


class Conflict(GatewayError):
    code = "Conflict"
    http_status = 409


class PayloadTooLarge(GatewayError):
    code = "PayloadTooLarge"
    http_status = 413


class RateLimited(GatewayError):
    code = "RateLimited"
    http_status = 429

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamError(GatewayError):
    code = "UpstreamError"
    http_status = 502


class Timeout(GatewayError):
    code = "Timeout"
    http_status = 504


class Internal(GatewayError):
    code = "Internal"
    http_status = 500


class QuotaExceeded(GatewayError):
    """A tenant limit refused the request: ``limit`` names it (SPEC §6)."""

    code = "QuotaExceeded"
    http_status = 429

    def __init__(self, limit: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after = retry_after

    def body(self, request_id: str) -> dict[str, dict[str, str]]:
        body = super().body(request_id)
        body["error"]["limit"] = self.limit
        return body
