"""Requests answered inside this process are not signed.

Every boto3 call a handler or the state machine engine makes is answered in-process by moto
(or a provider), which checks no signature; SigV4 signing (a canonical request and four
HMACs per call) was about a seventh of ``aigw local``'s CPU under load. While the
in-process AWS is active, requests skip it, except S3's (moto's S3 may refuse an unsigned
request as anonymous) and presigned URLs and POSTs (handed to other processes). Clients in
other processes sign as usual. moto takes the region from the endpoint, and without an
access key the default account: the runtime's.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore
from botocore.handlers import BUILTIN_HANDLERS
from moto.core.models import botocore_stubber

_PRESIGNED = ("-query", "-presign-post")
#: moto's S3 treats a request without a signature as anonymous and may refuse it (403):
#: S3's few calls per job stay signed.
_SIGNED_SERVICES = frozenset({"s3", "s3control", "s3-outposts", "s3express"})


def _unsigned_in_process(
    signature_version: Any = None, signing_name: str | None = None, **_: Any
) -> Any:
    if not botocore_stubber.enabled or signing_name in _SIGNED_SERVICES:
        return None  # sign as usual
    if isinstance(signature_version, str) and signature_version.endswith(_PRESIGNED):
        return None
    return botocore.UNSIGNED


def install() -> None:
    """For every boto3 client made from now on (idempotent)."""
    if ("choose-signer", _unsigned_in_process) not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.append(("choose-signer", _unsigned_in_process))
    # boto3's default session may predate this; its new clients must not sign either.
    session = boto3.DEFAULT_SESSION
    if session is not None:
        session.events.unregister("choose-signer", _unsigned_in_process)
        session.events.register("choose-signer", _unsigned_in_process)
