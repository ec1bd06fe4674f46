"""The sample events in events/ are accepted by their handlers, on the offline runtime.

They are what a developer feeds `sam local invoke -e` or reads to learn an event's shape,
so they must stay true to the handlers. What the events name (the tenant "acme" with the
sample API key, its jobs, the WebSocket connection) is seeded first. The text job's events
tell one story: submitted, read, finalized, streamed, pushed over a WebSocket. (The
document, Textract, predict and PII-masking events are run by test_document_pipeline.py,
test_predict_pipeline.py and test_llm_pipelines.py.)
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Gateway

from aigw_common.jobs import from_item, sweep_fields

EVENTS = ROOT / "events"
TENANT = "acme"
TEXT_JOB = "01HWZ06SCY7F9H1K3M5P7R9T1V"  # the text job of api_get_job, finalize_*, ...
DOCUMENT_JOB = "01J9ZQ4V7K3M8N2P5R6S7T8V9W"  # the document job of the Textract events
CONNECTION = "L0SM9cOFvHcCIhw="


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def invoke(gateway: Gateway, function: str, event: dict[str, Any]) -> Any:
    """Invoke a function by logical id; the handler's answer, failing on a function error."""
    runtime = gateway.runtime
    result = runtime.bridge.invoke(runtime.physical_id(function), event)
    assert result.function_error is None, result.json()
    return result.json()


def table(gateway: Gateway, logical_id: str) -> str:
    return str(gateway.runtime.physical_id(logical_id))


def stored_job(gateway: Gateway, job_id: str) -> dict[str, Any]:
    item = gateway.runtime.client("dynamodb").get_item(
        TableName=table(gateway, "JobsTable"),
        Key={"tenant_id": {"S": TENANT}, "job_id": {"S": job_id}},
        ConsistentRead=True,
    )["Item"]
    return from_item(item)


def seed_job(gateway: Gateway, job_id: str, pipeline: str, status: str) -> None:
    gateway.runtime.client("dynamodb").put_item(
        TableName=table(gateway, "JobsTable"),
        Item={
            "tenant_id": {"S": TENANT},
            "job_id": {"S": job_id},
            "pipeline": {"S": pipeline},
            "status": {"S": status},
            "created_at": {"S": "2024-05-03T10:32:41.118Z"},
            "updated_at": {"S": "2024-05-03T10:32:41.502Z"},
            "expires_at": {"N": "1717324361"},
        },
    )


@pytest.fixture(scope="module")
def sample_key(gateway: Gateway) -> str:
    """The sample events' API key, made the key of tenant "acme"; returns it."""
    key = sample("authorizer_rest.json")["headers"]["x-api-key"]
    usage_key = sample("api_submit_job.json")["requestContext"]["identity"]["apiKey"]
    gateway.runtime.client("dynamodb").put_item(
        TableName=table(gateway, "TenantsTable"),
        Item={
            "tenant_id": {"S": TENANT},
            "name": {"S": "Acme"},
            "status": {"S": "active"},
            "api_key_hash": {"S": hashlib.sha256(key.encode()).hexdigest()},
            "usage_key": {"S": usage_key},
            "created_at": {"S": "2024-05-01T08:00:00Z"},
        },
    )
    return key


# ---------------------------------------------------------------------------- authorizer


@pytest.mark.parametrize(
    ("event", "api_id"),
    [("authorizer_rest.json", "a1b2c3d4e5"), ("authorizer_websocket.json", "w9x8y7z6v5")],
)
def test_given_an_authorizer_sample_when_invoked_then_the_tenant_is_allowed_on_its_whole_api(
    gateway: Gateway, sample_key: str, event: str, api_id: str
) -> None:
    answer = invoke(gateway, "AuthorizerFunction", sample(event))

    assert answer["principalId"] == TENANT
    assert answer["context"]["tenant_id"] == TENANT
    [statement] = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == f"arn:aws:execute-api:eu-west-1:123456789012:{api_id}/v1/*"
    assert answer["usageIdentifierKey"]


# ---------------------------------------------------------------------------- REST API


def test_given_the_submit_sample_when_invoked_then_a_job_is_queued_and_runs_to_success(
    gateway: Gateway, sample_key: str
) -> None:
    answer = invoke(gateway, "ApiFunction", sample("api_submit_job.json"))

    assert answer["statusCode"] == 202, answer
    submitted = json.loads(answer["body"])
    assert submitted["status"] == "QUEUED"
    assert gateway.wait(submitted["job_id"], key=sample_key)["status"] == "SUCCEEDED"


def test_given_the_get_job_sample_when_invoked_then_the_tenants_job_is_returned(
    gateway: Gateway,
) -> None:
    seed_job(gateway, TEXT_JOB, "text-insights", "RUNNING")

    answer = invoke(gateway, "ApiFunction", sample("api_get_job.json"))

    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["job_id"] == TEXT_JOB


# ---------------------------------------------------------------------------- job-runner helpers


def test_given_the_finalize_success_sample_then_the_job_succeeds_with_its_normalized_result(
    gateway: Gateway,
) -> None:
    seed_job(gateway, TEXT_JOB, "text-insights", "RUNNING")

    answer = invoke(gateway, "FinalizeFunction", sample("finalize_succeeded.json"))

    assert answer == {"stored": True}
    job = stored_job(gateway, TEXT_JOB)
    assert job["status"] == "SUCCEEDED"
    result = json.loads(job["result"])
    assert result["sentiment"]["label"] == "POSITIVE"
    assert [entity["text"] for entity in result["pii"]] == ["Maria Lopez"]


def test_given_the_finalize_failure_sample_then_the_job_fails_with_the_pipelines_own_error(
    gateway: Gateway,
) -> None:
    seed_job(gateway, TEXT_JOB, "text-insights", "RUNNING")

    answer = invoke(gateway, "FinalizeFunction", sample("finalize_failed.json"))

    assert answer == {"stored": True}
    job = stored_job(gateway, TEXT_JOB)
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "InputTooLarge"
    assert job["error"]["retryable"] is False


def test_given_the_reconciler_sample_then_the_stuck_document_job_fails_as_timed_out(
    gateway: Gateway,
) -> None:
    seed_job(gateway, DOCUMENT_JOB, "document-insights", "RUNNING")

    answer = invoke(gateway, "ReconcilerFunction", sample("reconciler.json"))

    assert answer == {"changed": True}
    job = stored_job(gateway, DOCUMENT_JOB)
    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "Timeout"


def test_given_the_sweep_sample_then_a_lost_express_job_times_out_and_leaves_the_index(
    gateway: Gateway,
) -> None:
    """Given a text job of the Express runner, RUNNING past its deadline (its execution
    gone), when the scheduled sweep runs, then it is TIMED_OUT with a retryable Timeout and
    no longer in the sweep index; a second sweep changes nothing."""
    job_id = "01HX0K2M4P6R8T0V2X4Z6B8D0F"
    seed_job(gateway, job_id, "text-insights", "RUNNING")
    gone = datetime.datetime(2024, 5, 3, 10, 32, 41, tzinfo=datetime.UTC)
    gateway.runtime.client("dynamodb").update_item(
        TableName=table(gateway, "JobsTable"),
        Key={"tenant_id": {"S": TENANT}, "job_id": {"S": job_id}},
        UpdateExpression="SET sweep_shard = :shard, sweep_at = :at",
        ExpressionAttributeValues={
            ":shard": {"S": sweep_fields(job_id, gone)["sweep_shard"]},
            ":at": {"S": sweep_fields(job_id, gone)["sweep_at"]},
        },
    )

    first = invoke(gateway, "ReconcilerFunction", sample("reconciler_sweep.json"))
    again = invoke(gateway, "ReconcilerFunction", sample("reconciler_sweep.json"))

    assert first == {"ended": 1} and again == {"ended": 0}
    job = stored_job(gateway, job_id)
    assert job["status"] == "TIMED_OUT"
    assert job["error"]["code"] == "Timeout" and job["error"]["retryable"] is True
    assert "sweep_shard" not in job and "sweep_at" not in job


# ---------------------------------------------------------------------------- events and push


def test_given_the_stream_sample_then_one_event_per_status_change_is_published(
    gateway: Gateway,
) -> None:
    answer = invoke(gateway, "JobEventsFunction", sample("job_events.json"))

    assert answer == {"published": 3}  # QUEUED, RUNNING, SUCCEEDED; a TTL removal is not one
    gateway.runtime.drain()


def test_given_the_settle_sample_twice_then_the_job_is_counted_once_in_its_day(
    gateway: Gateway,
) -> None:
    # Its own tenant: the other samples' text job (the same id) is settled as it ends too.
    event = json.loads(json.dumps(sample("settle.json")).replace(f'"{TENANT}"', '"t-settle"'))

    first = invoke(gateway, "SettleFunction", event)
    again = invoke(gateway, "SettleFunction", event)

    assert (first, again) == ({"settled": 1}, {"settled": 0})
    day = gateway.runtime.client("dynamodb").get_item(
        TableName=table(gateway, "UsageTable"),
        Key={"tenant_id": {"S": "t-settle"}, "sk": {"S": "day#2024-05-03#text-insights"}},
        ConsistentRead=True,
    )["Item"]
    assert from_item(day)["jobs"] == 1
    assert from_item(day)["cost_usd"] == 0.0012  # 4 analyses of a 98-character text, 3 units


def test_given_the_websocket_samples_in_order_then_a_subscriber_is_pushed_until_it_leaves(
    gateway: Gateway,
) -> None:
    seed_job(gateway, TEXT_JOB, "text-insights", "RUNNING")
    pushed = gateway.fakes.pushed
    pushed.pop(CONNECTION, None)

    assert invoke(gateway, "WebSocketFunction", sample("websocket_connect.json")) == {
        "statusCode": 200
    }
    invoke(gateway, "WebSocketFunction", sample("websocket_subscribe.json"))
    assert pushed[CONNECTION] == [{"type": "job.status", "job_id": TEXT_JOB, "status": "RUNNING"}]

    assert invoke(gateway, "NotifierFunction", sample("notifier.json")) == {"sent": 1}
    assert pushed[CONNECTION][-1]["status"] == "SUCCEEDED"

    invoke(gateway, "WebSocketFunction", sample("websocket_unsubscribe.json"))
    assert invoke(gateway, "NotifierFunction", sample("notifier.json")) == {"sent": 0}

    invoke(gateway, "WebSocketFunction", sample("websocket_disconnect.json"))
    remaining = gateway.runtime.client("dynamodb").query(
        TableName=table(gateway, "ConnectionsTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"conn#{CONNECTION}"}},
    )
    assert remaining["Items"] == []


def test_given_the_split_text_sample_then_the_translation_comes_back_whole_in_chunks(
    gateway: Gateway,
) -> None:
    event = sample("split_text.json")

    answer = invoke(gateway, "SplitTextFunction", event)

    assert answer["source_language"] == event["source_language"]
    assert answer["target_language"] == event["target_language"]
    text = "".join(chunk["text"] for chunk in event["chunks"])
    assert "".join(chunk["text"] for chunk in answer["chunks"]) == text


def test_given_every_sample_event_then_one_of_these_tests_or_a_pipeline_test_runs_it() -> None:
    here = Path(__file__).read_text()
    elsewhere = "".join(
        (Path(__file__).parent / name).read_text()
        for name in (
            "test_document_pipeline.py",
            "test_predict_pipeline.py",
            "test_llm_pipelines.py",
        )
    )

    unused = [path.name for path in EVENTS.glob("*.json") if path.name not in here + elsewhere]

    assert unused == []
