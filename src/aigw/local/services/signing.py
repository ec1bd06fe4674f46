"""Requests answered inside this process are not signed.

Every boto3 call a handler or the state machine engine makes is answered in-process by moto
(or a provider), which checks no signature; SigV4 signing (a canonical request and four
HMACs per call) was about a seventh of ``aigw local``'s CPU under load. While the
in-process AWS is active, requests skip it, except S3's (moto's S3 may refuse an unsigned
request as anonymous) and presigned URLs and POSTs (handed to other processes), and
requests to any host but AWS's own (``*.amazonaws.com``, which moto answers here): a client
in this process given the served endpoint, or another emulator, sends real HTTP, and moto's
server tells DynamoDB from S3 by the signature's scope. Clients in other processes sign as
usual. moto takes the region from the endpoint, and without an access key the default
account: the runtime's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore
from botocore.handlers import BUILTIN_HANDLERS
from moto.core.models import botocore_stubber

_PRESIGNED = ("-query", "-presign-post")
#: moto's S3 treats a request without a signature as anonymous and may refuse it (403):
#: S3's few calls per job stay signed.
_SIGNED_SERVICES = frozenset({"s3", "s3control", "s3-outposts", "s3express"})


#: Set in a request's context (shared with its signer) when moto answers it in-process.
_ANSWERED_HERE = "aigw_answered_in_process"


def _note_destination(params: dict[str, Any], **_: Any) -> None:
    """On ``before-call``, whose request dict's context becomes the request's."""
    host = urlsplit(params.get("url") or "").hostname or ""
    params.setdefault("context", {})[_ANSWERED_HERE] = host.endswith(".amazonaws.com")


def _unsigned_in_process(
    signature_version: Any = None,
    signing_name: str | None = None,
    context: dict[str, Any] | None = None,
    **_: Any,
) -> Any:
    if not botocore_stubber.enabled or signing_name in _SIGNED_SERVICES:
        return None  # sign as usual
    if context is not None and context.get(_ANSWERED_HERE) is False:
        return None  # real HTTP to another endpoint
    if isinstance(signature_version, str) and signature_version.endswith(_PRESIGNED):
        return None
    return botocore.UNSIGNED


def install() -> None:
    """For every boto3 client made from now on (idempotent)."""
    for event, handler in _HANDLERS:
        if (event, handler) not in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.append((event, handler))
    # boto3's default session may predate this; its new clients must not sign either.
    session = boto3.DEFAULT_SESSION
    if session is not None:
        for event, handler in _HANDLERS:
            session.events.unregister(event, handler)
            session.events.register(event, handler)


_HANDLERS = (("before-call", _note_destination), ("choose-signer", _unsigned_in_process))
