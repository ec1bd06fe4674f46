"""Requests answered in this process skip SigV4 (moto checks no signature; signing was a
large share of the local gateway's CPU); S3's, and presigned URLs and POSTs, which other
processes use, are signed as always, and so is every request while no in-process AWS runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.config import Config
from moto import mock_aws

from aigw.local.services import signing


@pytest.fixture(autouse=True)
def installed() -> None:
    signing.install()


def authorization_of(client: Any, call: Any) -> list[str | None]:
    """The Authorization header of each request ``call`` sends through ``client``."""
    seen: list[str | None] = []

    def record(request: AWSPreparedRequest, **_: Any) -> None:
        seen.append(request.headers.get("Authorization"))

    client.meta.events.register_first("before-send", record)
    call()
    return seen


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_given_the_in_process_aws_when_a_client_calls_then_the_request_is_unsigned_and_answered(
    aws: None,
) -> None:
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    seen = authorization_of(dynamodb, dynamodb.list_tables)
    assert seen == [None]
    assert dynamodb.list_tables()["TableNames"] == []
    sts = boto3.client("sts", region_name="us-east-1")
    assert sts.get_caller_identity()["Account"] == "123456789012"


def test_given_the_in_process_aws_when_s3_urls_are_presigned_then_they_are_signed(
    aws: None,
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="uploads-bucket")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "uploads-bucket", "Key": "k"})
    assert "X-Amz-Signature" in parse_qs(urlparse(url).query)
    post = s3.generate_presigned_post("uploads-bucket", "k")
    assert "x-amz-signature" in post["fields"]
    s3.put_object(Bucket="uploads-bucket", Key="k", Body=b"kept")
    assert s3.get_object(Bucket="uploads-bucket", Key="k")["Body"].read() == b"kept"


def authorization_to_another_endpoint() -> str:
    """The Authorization header a DynamoDB ListTables to a localhost endpoint would carry
    (nothing listens there: the request is only prepared, then stopped)."""
    dynamodb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        endpoint_url="http://127.0.0.1:9",
    )
    seen: list[bytes | str | None] = []

    def record_and_stop(request: AWSPreparedRequest, **_: Any) -> Any:
        seen.append(request.headers.get("Authorization"))
        raise RuntimeError("stop before sending")

    dynamodb.meta.events.register_first("before-send", record_and_stop)
    with pytest.raises(RuntimeError, match="stop before sending"):
        dynamodb.list_tables()
    return seen[0].decode() if isinstance(seen[0], bytes) else str(seen[0])


def test_given_no_in_process_aws_when_a_request_is_made_then_it_is_signed() -> None:
    assert authorization_to_another_endpoint().startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
    )


def test_given_the_in_process_aws_when_a_client_has_another_endpoint_then_it_signs(
    aws: None,
) -> None:
    # Its requests are real HTTP (the served endpoint, another emulator): moto's server tells
    # DynamoDB from S3 by the signature's scope, and an unsigned ListTables came back as S3.
    assert authorization_to_another_endpoint().startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
    )
