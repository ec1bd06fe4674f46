"""aigw: an AWS-native AI gateway (API Gateway + Step Functions + AI services).

``aigw.Client``, ``aigw.AsyncClient`` and the SDK's errors are imported on first use, so
``import aigw`` stays quick (the command line and ``aigw local`` do not pay for httpx).
"""

from __future__ import annotations

from typing import Any

_SDK = frozenset(
    {
        "Client",
        "AsyncClient",
        "AigwError",
        "ApiError",
        "ConfigurationError",
        "ConflictError",
        "ForbiddenError",
        "GatewayTimeoutError",
        "InternalError",
        "InvalidInputError",
        "NotFoundError",
        "PayloadTooLargeError",
        "RateLimitedError",
        "ResponseError",
        "TransportError",
        "UnauthorizedError",
        "UploadError",
        "UpstreamError",
        "WaitTimeoutError",
        "JobUpdate",
        "ticket_url",
    }
)
__all__ = sorted(_SDK)


def __getattr__(name: str) -> Any:
    if name in _SDK:
        import aigw.client

        return getattr(aigw.client, name)
    raise AttributeError(f"module 'aigw' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SDK)
