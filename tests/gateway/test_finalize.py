"""finalize ends a job with the per-chunk answers a pipeline left in S3 merged into its
result, then deletes them: only the job's own, only once the job has ended, and a retry
after they are gone leaves the ended job as it was."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROOT, Gateway

from aigw.local.services.providers import ServiceError
from aigw_common.jobs import from_item

EVENT = json.loads((ROOT / "events" / "finalize_succeeded.json").read_text())
KINDS = ("entities", "key_phrases", "pii")


def _bucket(gateway: Gateway) -> str:
    return str(gateway.runtime.physical_id("DocumentsBucket"))


def _keys(gateway: Gateway, prefix: str) -> list[str]:
    listed = gateway.runtime.client("s3").list_objects_v2(Bucket=_bucket(gateway), Prefix=prefix)
    return [entry["Key"] for entry in listed.get("Contents", [])]


def _keys_once_deleted(gateway: Gateway, prefix: str, timeout: float = 10.0) -> list[str]:
    """The keys under ``prefix`` once they are gone, or those still there at ``timeout``:
    finalize deletes the answers just after it writes the job's end, which a client may
    read first."""
    deadline = time.monotonic() + timeout
    while (keys := _keys(gateway, prefix)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return keys


def _job(gateway: Gateway, tenant_id: str, job_id: str) -> dict[str, Any]:
    item = gateway.runtime.client("dynamodb").get_item(
        TableName=gateway.runtime.physical_id("JobsTable"),
        Key={"tenant_id": {"S": tenant_id}, "job_id": {"S": job_id}},
        ConsistentRead=True,
    )["Item"]
    return from_item(item)


def _seed(gateway: Gateway, tenant_id: str, job_id: str, status: str) -> None:
    gateway.runtime.client("dynamodb").put_item(
        TableName=gateway.runtime.physical_id("JobsTable"),
        Item={
            "tenant_id": {"S": tenant_id},
            "job_id": {"S": job_id},
            "pipeline": {"S": "text-insights"},
            "status": {"S": status},
            "created_at": {"S": "2026-12-07T10:32:41.118Z"},
            "updated_at": {"S": "2026-12-07T10:32:41.502Z"},
            "expires_at": {"N": "1796000000"},
        },
    )


def _job_with_answers(
    gateway: Gateway, status: str, keys: dict[str, str] | None = None
) -> tuple[dict[str, Any], str, str]:
    """A new job in ``status`` and the sample success event for it, its chunk's answers
    stored in S3 under ``keys`` (by kind; the job's own insights keys by default), as
    text-insights leaves them: the event, the tenant and the job."""
    event = copy.deepcopy(EVENT)
    event["job_id"] = str(uuid.uuid4())
    tenant_id, job_id = event["tenant_id"], event["job_id"]
    chunk = event["output"]["chunks"][0]
    for kind, key in (keys or _own_keys()).items():
        key = key.format(tenant=tenant_id, job=job_id)
        gateway.runtime.client("s3").put_object(
            Bucket=_bucket(gateway), Key=key, Body=json.dumps(chunk[kind]).encode()
        )
        chunk[kind] = key
    _seed(gateway, tenant_id, job_id, status)
    return event, tenant_id, job_id


def _finalize(gateway: Gateway, event: dict[str, Any]) -> Any:
    runtime = gateway.runtime
    return runtime.bridge.invoke(runtime.physical_id("FinalizeFunction"), event)


def _own_keys() -> dict[str, str]:
    return {kind: f"results/{{tenant}}/{{job}}/insights/0/{kind}.json" for kind in KINDS}


def test_given_stored_answers_when_the_job_succeeds_then_they_are_merged_and_deleted(
    gateway: Gateway,
) -> None:
    event, tenant_id, job_id = _job_with_answers(gateway, "RUNNING")
    prefix = f"results/{tenant_id}/{job_id}/"
    assert len(_keys(gateway, prefix)) == 3

    answer = _finalize(gateway, event)

    assert answer.function_error is None, answer.json()
    assert answer.json() == {"stored": True}
    job = _job(gateway, tenant_id, job_id)
    assert job["status"] == "SUCCEEDED"
    result = json.loads(job["result"])
    assert [entity["text"] for entity in result["entities"]] == ["Maria Lopez", "Acme Corp"]
    assert [entity["text"] for entity in result["pii"]] == ["Maria Lopez"]
    assert _keys(gateway, prefix) == []


def test_given_answers_stored_outside_the_jobs_prefix_then_they_are_read_but_kept(
    gateway: Gateway,
) -> None:
    keys = {
        **_own_keys(),
        "pii": "results/{tenant}/shared/pii.json",  # not this job's to delete
    }
    event, tenant_id, job_id = _job_with_answers(gateway, "RUNNING", keys)

    answer = _finalize(gateway, event)

    assert answer.json() == {"stored": True}
    result = json.loads(_job(gateway, tenant_id, job_id)["result"])
    assert [entity["text"] for entity in result["pii"]] == ["Maria Lopez"]
    assert _keys(gateway, f"results/{tenant_id}/{job_id}/") == []
    assert _keys(gateway, f"results/{tenant_id}/shared/") == [
        f"results/{tenant_id}/shared/pii.json"
    ]


def test_given_a_job_cancelled_meanwhile_then_its_answers_are_deleted_and_it_stays_cancelled(
    gateway: Gateway,
) -> None:
    event, tenant_id, job_id = _job_with_answers(gateway, "CANCELLED")

    answer = _finalize(gateway, event)

    assert answer.json() == {"stored": False}
    assert _job(gateway, tenant_id, job_id)["status"] == "CANCELLED"
    assert _keys(gateway, f"results/{tenant_id}/{job_id}/") == []


@contextmanager
def _gone_answered_as(gateway: Gateway, code: str) -> Iterator[None]:
    """A missing key answered as S3 answers finalize's role: ``NoSuchKey`` (404) to a caller
    allowed s3:ListBucket, what moto answers every caller; ``AccessDenied`` (403) to one
    without it, as finalize's role is on AWS."""
    if code == "NoSuchKey":
        yield
        return
    s3 = gateway.runtime.client("s3")

    def get_object(params: dict[str, Any]) -> dict[str, Any]:
        try:
            s3.head_object(Bucket=params["Bucket"], Key=params["Key"])
        except ClientError:
            raise ServiceError(code, "Access Denied") from None
        raise AssertionError(f"{params['Key']} is still there")

    with gateway.runtime.providers.override("s3", "GetObject", get_object):
        yield


@pytest.mark.parametrize("gone", ["NoSuchKey", "AccessDenied"])
def test_given_a_retry_after_the_answers_were_deleted_then_the_ended_job_is_unchanged(
    gateway: Gateway, gone: str
) -> None:
    event, tenant_id, job_id = _job_with_answers(gateway, "RUNNING")
    assert _finalize(gateway, event).json() == {"stored": True}
    before = _job(gateway, tenant_id, job_id)

    with _gone_answered_as(gateway, gone):
        retried = _finalize(gateway, event)

    assert retried.function_error is None, retried.json()
    assert retried.json() == {"stored": False}
    assert _job(gateway, tenant_id, job_id) == before


@pytest.mark.parametrize("gone", ["NoSuchKey", "AccessDenied"])
def test_given_missing_answers_for_a_running_job_then_finalize_fails_with_s3s_error(
    gateway: Gateway, gone: str
) -> None:
    event, tenant_id, job_id = _job_with_answers(gateway, "RUNNING")
    gateway.runtime.client("s3").delete_object(
        Bucket=_bucket(gateway), Key=f"results/{tenant_id}/{job_id}/insights/0/entities.json"
    )

    with _gone_answered_as(gateway, gone):
        answer = _finalize(gateway, event)

    assert answer.function_error == "Unhandled"
    assert answer.json()["errorType"] == gone
    assert _job(gateway, tenant_id, job_id)["status"] == "RUNNING"


@pytest.mark.parametrize("chunks", [1, 2])
def test_given_a_text_job_when_it_succeeds_then_no_intermediate_answer_is_left(
    gateway: Gateway, chunks: int
) -> None:
    text = "Please ask Jane Smith at jane@example.org for the great news. "
    if chunks > 1:
        text = "This sentence is only here to make the text long. " * 150 + text

    job = gateway.wait(gateway.submit("text-insights", {"text": text}))

    assert job["status"] == "SUCCEEDED", job
    assert job["result"]["stats"]["chunks"] == chunks
    assert [text[p["begin"] : p["end"]] for p in job["result"]["pii"]] == ["jane@example.org"]
    prefix = f"results/{gateway.tenant.tenant_id}/{job['job_id']}/"
    assert _keys_once_deleted(gateway, prefix) == []
