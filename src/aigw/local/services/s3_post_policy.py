"""S3's checks of browser uploads (POST Object with a POST policy), which moto skips.

moto stores whatever a form POST to a bucket carries. S3 first checks the form against its
signed policy, and a presigned POST (botocore's ``generate_presigned_post``) is only worth
anything because it does: the size range, the content type and the key prefix are enforced
by S3, not by the client. :func:`install` makes moto's bucket POST do the same, in the
order S3 does, with S3's error codes, statuses and messages:

1. a field the signature needs is missing: 400 ``InvalidArgument`` ("Bucket POST must
   contain a field named '…'"); no signature fields at all: an anonymous request to a
   private bucket, 403 ``AccessDenied``;
2. an unknown access key: 403 ``InvalidAccessKeyId``; a signature (SigV4 over the policy as
   sent, or SigV2) that does not match: 403 ``SignatureDoesNotMatch``;
3. a policy that is not base64 JSON with an ``expiration`` and ``conditions``: 400
   ``InvalidPolicyDocument``; past its expiration: 403 ``AccessDenied`` "Invalid according to
   Policy: Policy expired.";
4. each condition in turn (``{"field": value}``, ``eq``, ``starts-with``,
   ``content-length-range``; field names case-insensitive, values case-sensitive, ``$bucket``
   the URL's bucket): 403 ``AccessDenied`` "… Policy Condition failed: [...]", and for the
   size 400 ``EntityTooLarge``/``EntityTooSmall`` with the sizes;
5. a form field no condition covers (other than the signature, ``policy``, ``file`` and
   ``x-ignore-*``): 403 ``AccessDenied`` "… Extra input fields: …".

Sources: the S3 API reference (POST Object, "Creating a POST policy") and S3's answers as
recorded against AWS by LocalStack's validated tests (docs/aws-fidelity.md lists them).
Secrets are looked up among the credentials the runtime hands out and moto's IAM access
keys. Not checked: that fields come before the file (the form is parsed as a whole), the
20 KB limit on the form's fields, and the bucket's own policy.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from moto.s3.responses import S3Response

__all__ = ["PolicyViolation", "check_post", "install", "uninstall"]

#: Credentials that sign requests in this process besides moto's IAM keys: moto's own
#: fake ones (what the functions' clients get) and the runtime's session.
KNOWN_SECRETS = {"FOOBARKEY": "FOOBARSECRET", "local": "local"}
#: Fields no condition needs to cover (S3: "except x-amz-signature, file, policy, and field
#: names that have an x-ignore- prefix"; SigV2's signature too).
_EXEMPT = {"x-amz-signature", "file", "policy", "signature"}
_SIGV4_FIELDS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature")


class PolicyViolation(Exception):
    """S3's refusal of a form POST: its status, code, message and extra elements."""

    def __init__(self, status: int, code: str, message: str, **elements: str | int) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.elements = status, code, message, elements

    def xml(self) -> str:
        extra = "".join(
            f"<{name}>{escape(str(value))}</{name}>" for name, value in self.elements.items()
        )
        request_id = uuid.uuid4().hex[:16].upper()
        host_id = base64.b64encode(os.urandom(48)).decode()
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{extra}"
            f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
        )


def _missing(field: str) -> PolicyViolation:
    return PolicyViolation(
        400,
        "InvalidArgument",
        f"Bucket POST must contain a field named '{field}'.  If it is specified, please check "
        "the order of the fields.",
        ArgumentName=field,
        ArgumentValue="",
    )


def _invalid_policy(reason: str) -> PolicyViolation:
    return PolicyViolation(400, "InvalidPolicyDocument", f"Invalid Policy: {reason}")


def _condition_failed(condition: Any) -> PolicyViolation:
    return PolicyViolation(
        403,
        "AccessDenied",
        f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}",
    )


def check_post(
    bucket: str,
    fields: list[tuple[str, str]],
    file_size: int,
    *,
    secret_for: Callable[[str], str | None],
    now: datetime.datetime | None = None,
) -> None:
    """Raise :class:`PolicyViolation` as S3 would refuse this form POST; return if it may
    store the file. ``fields`` are the form's fields as sent (names in their case)."""
    now = now or datetime.datetime.now(datetime.UTC)
    by_name: dict[str, str] = {}
    for name, value in fields:
        by_name.setdefault(name.lower(), value)
    if "key" not in by_name:
        raise _missing("key")
    policy_text = by_name.get("policy")
    if "awsaccesskeyid" in by_name:  # SigV2
        for field in ("AWSAccessKeyId", "Signature", "Policy"):
            if field.lower() not in by_name:
                raise _missing(field)
        _check_sigv2(by_name, secret_for)
    elif policy_text is not None or any(f.lower() in by_name for f in _SIGV4_FIELDS):
        for field in (*_SIGV4_FIELDS[:3], "Policy", _SIGV4_FIELDS[3]):
            if field.lower() not in by_name:
                raise _missing(field)
        _check_sigv4(by_name, secret_for)
    else:
        raise PolicyViolation(403, "AccessDenied", "Access Denied")  # anonymous, private bucket
    policy = _policy(by_name["policy"])
    expiration = _expiration(policy.get("expiration"))
    if now >= expiration:
        raise PolicyViolation(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    covered: set[str] = set()
    for condition in policy["conditions"]:
        covered |= _check_condition(condition, bucket, by_name, file_size)
    extra = [
        name
        for name, _ in fields
        if name.lower() not in covered
        and name.lower() not in _EXEMPT
        and not name.lower().startswith("x-ignore-")
    ]
    if extra:
        raise PolicyViolation(
            403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {extra[0]}"
        )


def _check_sigv4(fields: dict[str, str], secret_for: Callable[[str], str | None]) -> None:
    credential = fields["x-amz-credential"]
    access_key, _, scope = credential.partition("/")
    parts = scope.split("/")
    secret = secret_for(access_key)
    if secret is None:
        raise PolicyViolation(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key,
        )
    if len(parts) != 4 or parts[3] != "aws4_request":
        raise PolicyViolation(
            400,
            "AuthorizationQueryParametersError",
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        )
    key = f"AWS4{secret}".encode()
    for part in parts:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["x-amz-signature"]):
        raise _mismatch(access_key, fields["x-amz-signature"], fields["policy"])


def _check_sigv2(fields: dict[str, str], secret_for: Callable[[str], str | None]) -> None:
    access_key = fields["awsaccesskeyid"]
    secret = secret_for(access_key)
    if secret is None:
        raise PolicyViolation(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key,
        )
    digest = hmac.new(secret.encode(), fields["policy"].encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), fields["signature"]):
        raise _mismatch(access_key, fields["signature"], fields["policy"])


def _mismatch(access_key: str, provided: str, policy: str) -> PolicyViolation:
    return PolicyViolation(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        AWSAccessKeyId=access_key,
        StringToSign=policy,
        SignatureProvided=provided,
        StringToSignBytes=" ".join(f"{byte:02x}" for byte in policy.encode()),
    )


def _policy(text: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise _invalid_policy("Invalid JSON.") from None
    if not isinstance(policy, dict):
        raise _invalid_policy("Invalid JSON.")
    if not isinstance(policy.get("conditions"), list):
        raise _invalid_policy("Policy missing conditions.")
    return policy


def _expiration(value: Any) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _invalid_policy(f"Invalid 'expiration' value: '{value}'") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _check_condition(
    condition: Any, bucket: str, fields: dict[str, str], file_size: int
) -> set[str]:
    """Check one condition; the (lower-case) field names it covers."""
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise _invalid_policy(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property "
                "specified."
            )
        ((name, value),) = condition.items()
        if not isinstance(value, str):
            raise _invalid_policy("Invalid Simple-Condition: value must be a string.")
        condition = ["eq", f"${name}", value]
    if not isinstance(condition, list) or not condition:
        raise _invalid_policy("Invalid Condition: must be an object or an array.")
    operator = str(condition[0]).lower()
    if operator == "content-length-range":
        _check_size(condition, file_size)
        return set()
    if operator not in ("eq", "starts-with") or len(condition) != 3:
        raise _invalid_policy(f"Invalid Condition: {json.dumps(condition)}")
    _, target, expected = condition
    name = str(target).removeprefix("$").lower()
    actual = bucket if name == "bucket" else fields.get(name)
    passed = actual is not None and (
        actual == expected if operator == "eq" else actual.startswith(str(expected))
    )
    if not str(target).startswith("$") or not passed:
        raise _condition_failed(condition)
    return {name}


def _check_size(condition: list[Any], file_size: int) -> None:
    try:
        low, high = int(condition[1]), int(condition[2])
    except (IndexError, TypeError, ValueError):
        raise _condition_failed(condition) from None
    if file_size > high:
        raise PolicyViolation(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            ProposedSize=file_size,
            MaxSizeAllowed=high,
        )
    if file_size < low:
        raise PolicyViolation(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            ProposedSize=file_size,
            MinSizeAllowed=low,
        )


# ---------------------------------------------------------------------------- moto


def _secret_for(access_key: str) -> str | None:
    if access_key in KNOWN_SECRETS:
        return KNOWN_SECRETS[access_key]
    from moto.iam.models import iam_backends

    for account in list(iam_backends):
        for backend in iam_backends[account].values():
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key:
                        return str(key.secret_access_key)
    return None


_original: Any = None


def _bucket_response_post(self: S3Response, request: Any, bucket_name: str) -> Any:
    if getattr(request, "mimetype", "") == "multipart/form-data":
        # moto has read the form: its fields, and the file's content as the body.
        body = self.body if isinstance(self.body, bytes) else str(self.body or "").encode()
        try:
            check_post(
                bucket_name,
                list(request.form.items(multi=True)),
                len(body),
                secret_for=_secret_for,
            )
        except PolicyViolation as violation:
            return violation.status, {"Content-Type": "application/xml"}, violation.xml()
    return _original(self, request, bucket_name)


def install() -> None:
    """Make moto's bucket POST check the form's policy first (idempotent)."""
    global _original
    if _original is None:
        _original = S3Response._bucket_response_post
        S3Response._bucket_response_post = _bucket_response_post  # type: ignore[method-assign]


def uninstall() -> None:
    global _original
    if _original is not None:
        S3Response._bucket_response_post = _original  # type: ignore[method-assign]
        _original = None
