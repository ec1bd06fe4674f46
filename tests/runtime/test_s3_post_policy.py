"""The local S3 checks presigned POST uploads as S3 does: real multipart POSTs (requests)
to the runtime's served AWS endpoint, each refused with S3's status, code and message, and
nothing stored; the good one stored.

What S3 answers (codes, statuses, messages, extra elements) is S3's, as recorded against
AWS (docs/aws-fidelity.md, S3); the form is botocore's ``generate_presigned_post``.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from aigw.local.runtime import LocalRuntime

BUCKET = "uploads-under-test"
PREFIX = "uploads/t-123/"
MAX_SIZE = 100


@dataclass
class Endpoint:
    url: str
    s3: Any  # a boto3 client signing with the runtime's credentials

    def presigned(
        self, key: str = PREFIX + "a.pdf", expires: int = 900, **options: Any
    ) -> dict[str, Any]:
        conditions = options.pop(
            "conditions",
            [
                {"Content-Type": "application/pdf"},
                ["content-length-range", 1, MAX_SIZE],
                ["starts-with", "$key", PREFIX],
            ],
        )
        return dict(
            self.s3.generate_presigned_post(
                Bucket=BUCKET,
                Key=key,
                Fields={"Content-Type": "application/pdf", **options.pop("fields", {})},
                Conditions=conditions,
                ExpiresIn=expires,
            )
        )


@pytest.fixture(scope="module")
def endpoint(app: LocalRuntime) -> Iterator[Endpoint]:
    url = app.serve_aws()
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(signature_version="s3v4"),
    )
    s3.create_bucket(Bucket=BUCKET)
    yield Endpoint(url, s3)


def _post(form: dict[str, Any], content: bytes, **fields: str) -> requests.Response:
    """The form's fields first, then the file, as a browser posts it."""
    return requests.post(
        form["url"],
        data={**form["fields"], **fields},
        files={"file": ("a.pdf", content, "application/pdf")},
        timeout=30,
    )


def _error(answer: requests.Response) -> dict[str, str]:
    assert answer.headers["Content-Type"].startswith("application/xml"), answer.text
    root = ElementTree.fromstring(answer.content)
    assert root.tag == "Error" and root.findtext("RequestId") and root.findtext("HostId")
    return {child.tag: child.text or "" for child in root}


def _tamper(form: dict[str, Any]) -> dict[str, Any]:
    """The same form with a policy the client widened (the signature left as it was)."""
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if "content-length-range" not in c]
    fields = {**form["fields"], "policy": base64.b64encode(json.dumps(policy).encode()).decode()}
    return {**form, "fields": fields}


def _without(form: dict[str, Any], name: str) -> dict[str, Any]:
    return {**form, "fields": {k: v for k, v in form["fields"].items() if k != name}}


def _unknown_key(endpoint: Endpoint) -> dict[str, Any]:
    stranger = boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="AKIANOTKNOWNLOCALLY",
        aws_secret_access_key="whatever",
        config=Config(signature_version="s3v4"),
    )
    return dict(stranger.generate_presigned_post(Bucket=BUCKET, Key=PREFIX + "a.pdf"))


Case = tuple[str, Callable[[Endpoint], tuple[dict[str, Any], bytes, dict[str, str]]], int, str, str]
GOOD = b"%PDF-1.4\n" + b"x" * 20

#: (case, form and content, status, S3's code, a part of its message)
REFUSED: list[Case] = [
    (
        "too large",
        lambda e: (e.presigned(), b"x" * (MAX_SIZE + 1), {}),
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    ),
    (
        "empty",
        lambda e: (e.presigned(), b"", {}),
        400,
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed size",
    ),
    (
        "another content type",
        lambda e: (e.presigned(), GOOD, {"Content-Type": "text/html"}),
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy Condition failed: "
        '["eq", "$Content-Type", "application/pdf"]',
    ),
    (
        "a key outside the prefix",
        lambda e: (e.presigned(), GOOD, {"key": "uploads/t-999/a.pdf"}),
        403,
        "AccessDenied",
        'Policy Condition failed: ["starts-with", "$key", "uploads/t-123/"]',
    ),
    (
        "a key outside the prefix, signed",
        lambda e: (e.presigned(key="elsewhere/a.pdf"), GOOD, {}),
        403,
        "AccessDenied",
        'Policy Condition failed: ["starts-with", "$key", "uploads/t-123/"]',
    ),
    (
        "expired",
        lambda e: (e.presigned(expires=-1), GOOD, {}),
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    ),
    (
        "a tampered policy",
        lambda e: (_tamper(e.presigned()), b"x" * 500, {}),
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match",
    ),
    (
        "a forged signature",
        lambda e: (e.presigned(), GOOD, {"x-amz-signature": "0" * 64}),
        403,
        "SignatureDoesNotMatch",
        "Check your key and signing method.",
    ),
    (
        "an unknown access key",
        lambda e: (_unknown_key(e), GOOD, {}),
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    (
        "a field the policy does not cover",
        lambda e: (e.presigned(), GOOD, {"x-amz-meta-owner": "me"}),
        403,
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: x-amz-meta-owner",
    ),
    (
        "no signature",
        lambda e: (_without(e.presigned(), "x-amz-signature"), GOOD, {}),
        400,
        "InvalidArgument",
        "Bucket POST must contain a field named 'X-Amz-Signature'.",
    ),
    (
        "no key",
        lambda e: (_without(e.presigned(), "key"), GOOD, {}),
        400,
        "InvalidArgument",
        "Bucket POST must contain a field named 'key'.",
    ),
    (
        "anonymous",
        lambda e: ({"url": e.presigned()["url"], "fields": {"key": PREFIX + "a.pdf"}}, GOOD, {}),
        403,
        "AccessDenied",
        "Access Denied",
    ),
]


@pytest.mark.parametrize(
    ("case", "make", "status", "code", "message"), REFUSED, ids=[c[0] for c in REFUSED]
)
def test_given_a_form_post_that_breaks_its_policy_then_s3s_error_and_nothing_stored(
    endpoint: Endpoint,
    case: str,
    make: Callable[[Endpoint], tuple[dict[str, Any], bytes, dict[str, str]]],
    status: int,
    code: str,
    message: str,
) -> None:
    form, content, fields = make(endpoint)
    key = fields.get("key") or form["fields"].get("key") or PREFIX + "a.pdf"

    answer = _post(form, content, **fields)

    assert answer.status_code == status, f"{case}: {answer.status_code} {answer.text}"
    error = _error(answer)
    assert error["Code"] == code, error
    assert message in error["Message"], error
    listed = endpoint.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    assert key not in [item["Key"] for item in listed], case


def test_given_a_too_large_upload_then_s3_names_both_sizes(endpoint: Endpoint) -> None:
    error = _error(_post(endpoint.presigned(), b"x" * (MAX_SIZE + 5)))

    assert (error["ProposedSize"], error["MaxSizeAllowed"]) == (str(MAX_SIZE + 5), str(MAX_SIZE))


def test_given_a_tampered_policy_then_s3_shows_what_it_signed(endpoint: Endpoint) -> None:
    form = _tamper(endpoint.presigned())

    error = _error(_post(form, GOOD))

    assert error["StringToSign"] == form["fields"]["policy"]
    assert error["SignatureProvided"] == form["fields"]["x-amz-signature"]
    assert error["AWSAccessKeyId"] == "local"
    assert re.fullmatch(r"([0-9a-f]{2} )*[0-9a-f]{2}", error["StringToSignBytes"])


@pytest.mark.parametrize("size", [1, MAX_SIZE], ids=["smallest", "largest"])
def test_given_a_form_post_within_its_policy_then_it_is_stored(
    endpoint: Endpoint, size: int
) -> None:
    key = f"{PREFIX}within-{size}.pdf"
    content = (b"%PDF" + b"y" * size)[:size]

    answer = _post(endpoint.presigned(key=key), content)

    assert answer.status_code == 204, answer.text
    stored = endpoint.s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == content


def test_given_an_iam_users_key_then_its_secret_signs_the_policy(
    app: LocalRuntime, endpoint: Endpoint
) -> None:
    iam = app.client("iam")
    iam.create_user(UserName="uploader")
    created = iam.create_access_key(UserName="uploader")["AccessKey"]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id=created["AccessKeyId"],
        aws_secret_access_key=created["SecretAccessKey"],
        config=Config(signature_version="s3v4"),
    )
    form = Endpoint(endpoint.url, s3).presigned(key=PREFIX + "by-iam-user.pdf")

    assert _post(form, GOOD).status_code == 204
