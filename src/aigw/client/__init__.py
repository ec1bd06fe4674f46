"""The aigw Python SDK: :class:`Client` (sync) and :class:`AsyncClient` (asyncio).

    import aigw

    with aigw.Client() as client:  # AIGW_URL and AIGW_API_KEY, or a profile
        job = client.submit("document-insights", client.upload("invoice.pdf"))
        done = client.wait(job, timeout=300)
        print(done.status, client.result(done))

Models (``aigw.client.models``) are generated from api/openapi.yaml.
"""

from aigw.client._core import AUTO, TERMINAL, JobUpdate, ticket_url
from aigw.client.aio import AsyncClient
from aigw.client.errors import (
    ERRORS_BY_CODE,
    AigwError,
    ApiError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    GatewayTimeoutError,
    InternalError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    QuotaExceededError,
    RateLimitedError,
    ResponseError,
    TransportError,
    UnauthorizedError,
    UploadError,
    UpstreamError,
    WaitTimeoutError,
)
from aigw.client.models import (
    EventSubscription,
    Job,
    JobList,
    ModelList,
    Prompt,
    RunResult,
    SubmittedJob,
    WebSocketTicket,
)
from aigw.client.sync import Client

__all__ = [
    "AUTO",
    "ERRORS_BY_CODE",
    "TERMINAL",
    "AigwError",
    "ApiError",
    "AsyncClient",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "EventSubscription",
    "ForbiddenError",
    "GatewayTimeoutError",
    "InternalError",
    "InvalidInputError",
    "Job",
    "JobList",
    "JobUpdate",
    "ModelList",
    "NotFoundError",
    "PayloadTooLargeError",
    "Prompt",
    "QuotaExceededError",
    "RateLimitedError",
    "ResponseError",
    "RunResult",
    "SubmittedJob",
    "TransportError",
    "UnauthorizedError",
    "UploadError",
    "UpstreamError",
    "WaitTimeoutError",
    "WebSocketTicket",
    "ticket_url",
]
