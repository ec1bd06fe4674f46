"""The state directory of `aigw local --state-dir`, in-process: what is saved, what comes back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigw.local.runtime import LocalRuntime
from aigw.local.state import StateError, StateStore
from aigw.local_gateway.jobs import interrupt_unfinished_jobs

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


def _job(job_id: str, status: str) -> dict:
    return {
        "tenant_id": {"S": "t-1"},
        "job_id": {"S": job_id},
        "status": {"S": status},
        "pipeline": {"S": "text-insights"},
        "created_at": {"S": "2026-11-27T10:00:00.000Z"},
        "updated_at": {"S": "2026-11-27T10:00:00.000Z"},
        "blob": {"B": b"\x00\xffbinary"},
    }


def test_given_saved_state_when_restored_then_items_objects_and_bytes_are_identical(
    tmp_path: Path,
) -> None:
    with LocalRuntime(TEMPLATE) as runtime:
        dynamodb, s3 = runtime.client("dynamodb"), runtime.client("s3")
        jobs, bucket = runtime.physical_id("JobsTable"), runtime.physical_id("DocumentsBucket")
        dynamodb.put_item(TableName=jobs, Item=_job("done", "SUCCEEDED"))
        s3.put_object(
            Bucket=bucket,
            Key="uploads/t-1/a.pdf",
            Body=b"%PDF-1.4 x",
            ContentType="application/pdf",
        )
        s3.put_object(Bucket=bucket, Key="uploads/t-1/gone.pdf", Body=b"old")
        store = StateStore(runtime, tmp_path)
        store.save()
        s3.delete_object(Bucket=bucket, Key="uploads/t-1/gone.pdf")
        store.save()

    with LocalRuntime(TEMPLATE) as runtime:
        counts = StateStore(runtime, tmp_path).restore()
        dynamodb, s3 = runtime.client("dynamodb"), runtime.client("s3")
        jobs, bucket = runtime.physical_id("JobsTable"), runtime.physical_id("DocumentsBucket")
        item = dynamodb.get_item(
            TableName=jobs, Key={"tenant_id": {"S": "t-1"}, "job_id": {"S": "done"}}
        )
        stored = s3.get_object(Bucket=bucket, Key="uploads/t-1/a.pdf")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]

    assert counts == {"items": 1, "objects": 1}
    assert item["Item"] == _job("done", "SUCCEEDED")
    assert stored["Body"].read() == b"%PDF-1.4 x"
    assert stored["ContentType"] == "application/pdf"
    # A deleted object stays deleted, and its bytes are gone from the directory too.
    assert keys == ["uploads/t-1/a.pdf"]
    assert len(list((tmp_path / "buckets" / "DocumentsBucket" / "objects").iterdir())) == 1


def test_given_a_job_running_at_stop_when_restored_then_it_is_failed_as_interrupted(
    tmp_path: Path,
) -> None:
    with LocalRuntime(TEMPLATE) as runtime:
        jobs = runtime.physical_id("JobsTable")
        runtime.client("dynamodb").put_item(TableName=jobs, Item=_job("busy", "RUNNING"))
        StateStore(runtime, tmp_path).save()

    with LocalRuntime(TEMPLATE) as runtime:
        StateStore(runtime, tmp_path).restore()
        interrupted = interrupt_unfinished_jobs(runtime)
        jobs = runtime.physical_id("JobsTable")
        item = runtime.client("dynamodb").get_item(
            TableName=jobs, Key={"tenant_id": {"S": "t-1"}, "job_id": {"S": "busy"}}
        )["Item"]

    assert interrupted == 1
    assert item["status"] == {"S": "FAILED"}
    assert item["error"]["M"]["code"] == {"S": "Interrupted"}
    assert item["error"]["M"]["retryable"] == {"BOOL": True}
    assert item["updated_at"]["S"] > "2026-11-27T10:00:00.000Z"


def test_given_a_state_dir_of_another_format_when_restored_then_a_clear_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 99}))

    with LocalRuntime(TEMPLATE) as runtime, pytest.raises(StateError, match="format 99"):
        StateStore(runtime, tmp_path).restore()
