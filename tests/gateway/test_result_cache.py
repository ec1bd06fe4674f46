"""The result cache (SPEC §6) on the local gateway: opt-in per job or per tenant, keyed per
tenant on the canonical request (S3 inputs by ETag), with a TTL; a hit answers at once,
costs $0, calls no AI service, and still shows in the job list and the usage report."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from conftest import Gateway, assert_documented_shape, png

from aigw.tenants import NewTenant


def _text() -> str:
    # A text no other test submits: entries from other tests never answer it.
    return f"Great service and a wonderful stay, order {uuid.uuid4().hex[:8]}."


def _submit(
    gateway: Gateway,
    pipeline: str,
    pipeline_input: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    key: str = "default",
) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"pipeline": pipeline, "input": pipeline_input}
    if options is not None:
        body["options"] = options
    answer = gateway.request("POST", "/jobs", body, key=key)
    assert answer.status in (200, 202), answer.body
    return answer.status, answer.json()


def _ran(
    gateway: Gateway,
    pipeline: str,
    pipeline_input: dict[str, Any],
    options: Any = None,
    *,
    key: str = "default",
) -> dict[str, Any]:
    """A job that runs (a miss): submitted, 202, waited for until it succeeded."""
    status, submitted = _submit(gateway, pipeline, pipeline_input, options, key=key)
    assert status == 202, submitted
    job = gateway.wait(submitted["job_id"], key=key)
    assert job["status"] == "SUCCEEDED", job
    return job


def _calls(gateway: Gateway) -> int:
    return sum(gateway.fakes.calls.values())


def _tenant(gateway: Gateway, **settings: Any) -> NewTenant:
    tenant = gateway.new_tenant(f"cache-{uuid.uuid4().hex[:6]}")
    if settings:
        gateway.runtime.client("dynamodb").update_item(
            TableName=gateway.runtime.physical_id("TenantsTable"),
            Key={"tenant_id": {"S": tenant.tenant_id}},
            UpdateExpression="SET " + ", ".join(f"{name} = :{name}" for name in settings),
            ExpressionAttributeValues={
                f":{name}": {"BOOL": value} if isinstance(value, bool) else {"N": str(value)}
                for name, value in settings.items()
            },
        )
    return tenant


def _entries(gateway: Gateway, tenant_id: str) -> list[dict[str, Any]]:
    return gateway.runtime.client("dynamodb").query(
        TableName=gateway.runtime.physical_id("ResultCacheTable"),
        KeyConditionExpression="tenant_id = :tenant",
        ExpressionAttributeValues={":tenant": {"S": tenant_id}},
        ConsistentRead=True,
    )["Items"]


def test_given_a_cached_job_when_the_same_request_comes_again_then_the_result_at_once_for_0(
    gateway: Gateway,
) -> None:
    text = _text()
    first = _ran(gateway, "text-insights", {"text": text}, {"cache": True})
    calls = _calls(gateway)

    status, hit = _submit(gateway, "text-insights", {"text": text}, {"cache": True})

    assert status == 200
    assert hit["status"] == "SUCCEEDED" and hit["cached"] is True
    assert hit["result"] == first["result"]
    assert hit["usage"] == {"items": [], "ai_cost_usd": 0, "cached": True, "basis": "measured"}
    assert hit["job_id"] != first["job_id"]
    assert _calls(gateway) == calls  # no AI call
    assert_documented_shape(hit, "SubmittedJob")
    assert first.get("cached") is not True and first["usage"]["ai_cost_usd"] > 0
    shown = gateway.request("GET", f"/jobs/{hit['job_id']}").json()
    assert shown["cached"] is True and shown["result"] == first["result"]
    listed = gateway.request("GET", "/jobs", query={"limit": "5"}).json()["jobs"]
    assert hit["job_id"] in [job["job_id"] for job in listed]


def test_given_no_cache_option_nor_tenant_default_then_identical_jobs_each_run(
    gateway: Gateway,
) -> None:
    text = _text()
    _ran(gateway, "text-insights", {"text": text})
    calls = _calls(gateway)

    second = _ran(gateway, "text-insights", {"text": text})

    assert _calls(gateway) > calls
    assert "cached" not in second
    assert second["usage"]["ai_cost_usd"] > 0


def test_given_a_cached_result_when_a_job_opts_out_or_changes_an_option_then_it_runs(
    gateway: Gateway,
) -> None:
    text = _text()
    _ran(gateway, "text-insights", {"text": text}, {"cache": True})

    opted_out = _ran(gateway, "text-insights", {"text": text}, {"cache": False})
    other_options = _ran(
        gateway, "text-insights", {"text": text}, {"cache": True, "language": "en"}
    )

    assert "cached" not in opted_out and "cached" not in other_options


def test_given_two_tenants_with_identical_requests_then_they_never_share_an_entry(
    gateway: Gateway,
) -> None:
    text = _text()
    other = _tenant(gateway)
    _ran(gateway, "text-insights", {"text": text}, {"cache": True})
    calls = _calls(gateway)

    theirs = _ran(gateway, "text-insights", {"text": text}, {"cache": True}, key=other.api_key)
    status, their_hit = _submit(
        gateway, "text-insights", {"text": text}, {"cache": True}, key=other.api_key
    )

    assert _calls(gateway) > calls  # the other tenant's first request ran
    assert "cached" not in theirs
    assert status == 200 and their_hit["cached"] is True  # and its own entry answers it
    assert len(_entries(gateway, other.tenant_id)) == 1


def test_given_a_tenant_that_caches_by_default_then_its_jobs_are_cached_for_its_ttl(
    gateway: Gateway,
) -> None:
    tenant = _tenant(gateway, cache_by_default=True, cache_ttl_seconds=600)
    text = _text()
    before = time.time()
    _ran(gateway, "text-insights", {"text": text}, key=tenant.api_key)

    status, hit = _submit(gateway, "text-insights", {"text": text}, key=tenant.api_key)
    opted_out = _ran(gateway, "text-insights", {"text": text}, {"cache": False}, key=tenant.api_key)

    assert status == 200 and hit["cached"] is True
    assert "cached" not in opted_out
    (entry,) = _entries(gateway, tenant.tenant_id)
    expires = int(entry["expires_at"]["N"])
    assert int(before) + 600 <= expires <= time.time() + 600


def test_given_an_expired_entry_then_the_job_runs_again(gateway: Gateway) -> None:
    """DynamoDB's TTL deletes an expired item within days, not at once: reads check it."""
    tenant = _tenant(gateway)
    text = _text()
    _ran(gateway, "text-insights", {"text": text}, {"cache": True}, key=tenant.api_key)
    (entry,) = _entries(gateway, tenant.tenant_id)
    gateway.runtime.client("dynamodb").update_item(
        TableName=gateway.runtime.physical_id("ResultCacheTable"),
        Key={"tenant_id": entry["tenant_id"], "cache_key": entry["cache_key"]},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    calls = _calls(gateway)

    again = _ran(gateway, "text-insights", {"text": text}, {"cache": True}, key=tenant.api_key)

    assert "cached" not in again and _calls(gateway) > calls
    (renewed,) = _entries(gateway, tenant.tenant_id)
    assert int(renewed["expires_at"]["N"]) > time.time()


def test_given_an_s3_input_then_it_counts_by_etag_not_by_uri(gateway: Gateway) -> None:
    tenant = _tenant(gateway)
    s3 = gateway.runtime.client("s3")
    bucket = gateway.runtime.physical_id("DocumentsBucket")

    def upload(name: str, content: bytes) -> dict[str, str]:
        key = f"uploads/{tenant.tenant_id}/{name}/photo.png"
        s3.put_object(Bucket=bucket, Key=key, Body=content, ContentType="image/png")
        return {"s3_uri": f"s3://{bucket}/{key}"}

    photo = upload("a", png())
    _ran(gateway, "image-insights", photo, {"cache": True}, key=tenant.api_key)
    same_file = upload("b", png())
    status, hit = _submit(gateway, "image-insights", same_file, {"cache": True}, key=tenant.api_key)
    assert status == 200 and hit["cached"] is True

    changed = upload("a", png(120, 90))  # the first URI, other content
    job = _ran(gateway, "image-insights", changed, {"cache": True}, key=tenant.api_key)

    assert "cached" not in job


def test_given_a_cache_hit_then_usage_counts_it_as_a_hit_for_0(gateway: Gateway) -> None:
    tenant = _tenant(gateway)
    text = _text()
    _ran(gateway, "text-insights", {"text": text}, {"cache": True}, key=tenant.api_key)
    _submit(gateway, "text-insights", {"text": text}, {"cache": True}, key=tenant.api_key)

    deadline = time.monotonic() + 30
    while True:
        report = gateway.request(
            "GET", "/usage", query={"group_by": "pipeline"}, key=tenant.api_key
        ).json()
        if report["jobs"] == 2:
            break
        assert time.monotonic() < deadline, report
        time.sleep(0.05)

    (group,) = report["groups"]
    assert (group["jobs"], group["cache_hits"]) == (2, 1)
    assert group["cost_usd"] == report["month_to_date_usd"] > 0
    # Only the job that ran took a slot and counts against the month's limits.
    assert report["limits"]["monthly_jobs"]["used"] == 1
    assert report["limits"]["max_concurrent_jobs"]["used"] == 0


def test_given_an_idempotency_key_when_a_hit_is_retried_then_the_same_job(
    gateway: Gateway,
) -> None:
    text = _text()
    _ran(gateway, "text-insights", {"text": text}, {"cache": True})
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"pipeline": "text-insights", "input": {"text": text}, "options": {"cache": True}}

    first = gateway.request("POST", "/jobs", body, headers=headers)
    retried = gateway.request("POST", "/jobs", body, headers=headers)

    assert first.status == retried.status == 200
    assert first.json()["job_id"] == retried.json()["job_id"]


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_given_a_cache_option_that_is_not_a_boolean_then_400(gateway: Gateway, value: Any) -> None:
    answer = gateway.request(
        "POST",
        "/jobs",
        {
            "pipeline": "text-insights",
            "input": {"text": "Hi there, how are you today?"},
            "options": {"cache": value},
        },
    )

    assert answer.status == 400
    assert "options.cache" in answer.json()["error"]["message"]


def test_given_a_result_too_large_for_dynamodb_then_the_hit_gets_its_own_copy_from_s3(
    gateway: Gateway,
) -> None:
    """Results over 32 KB live in S3 (items stop at 400 KB); a hit's job owns a copy, so it
    outlives nothing it points at."""
    tenant = _tenant(gateway)
    words = "we met Acme Corp and Globex Inc there. " * 600 + _text()  # ~1,200 entities
    first = _ran(gateway, "text-insights", {"text": words}, {"cache": True}, key=tenant.api_key)
    assert "result_url" in first and "result" not in first

    status, hit = _submit(
        gateway, "text-insights", {"text": words}, {"cache": True}, key=tenant.api_key
    )

    assert status == 200 and hit["cached"] is True and "result_url" in hit
    dynamodb, s3 = gateway.runtime.client("dynamodb"), gateway.runtime.client("s3")
    bucket = gateway.runtime.physical_id("DocumentsBucket")

    def stored(job_id: str) -> bytes:
        item = dynamodb.get_item(
            TableName=gateway.runtime.physical_id("JobsTable"),
            Key={"tenant_id": {"S": tenant.tenant_id}, "job_id": {"S": job_id}},
        )["Item"]
        return s3.get_object(Bucket=bucket, Key=item["result_key"]["S"])["Body"].read()

    assert stored(hit["job_id"]) == stored(first["job_id"])
    fetched = requests.get(hit["result_url"], timeout=10)
    assert fetched.status_code == 200 and len(fetched.json()["entities"]) == 1200
    (entry,) = _entries(gateway, tenant.tenant_id)
    assert "result" not in entry and entry["result_key"]["S"].endswith(f"{first['job_id']}.json")


def test_given_a_cached_run_when_run_again_then_the_result_at_once_for_0_and_counted_as_a_hit(
    gateway: Gateway,
) -> None:
    tenant = _tenant(gateway)
    body = {"input": {"text": _text()}, "options": {"cache": True}}
    first = gateway.request("POST", "/run/text-insights", body, key=tenant.api_key)
    assert first.status == 200, first.body
    calls = _calls(gateway)

    again = gateway.request("POST", "/run/text-insights", body, key=tenant.api_key)

    assert again.status == 200, again.body
    assert again.json()["cached"] is True
    assert again.json()["result"] == first.json()["result"]
    assert again.json()["usage"]["ai_cost_usd"] == 0
    assert first.json()["usage"]["ai_cost_usd"] > 0 and not first.json().get("cached")
    assert _calls(gateway) == calls
    assert_documented_shape(again.json(), "RunResult")
    deadline = time.monotonic() + 30
    while (report := gateway.request("GET", "/usage", key=tenant.api_key).json())["jobs"] < 2:
        assert time.monotonic() < deadline, report
        time.sleep(0.05)
    assert (report["jobs"], report["cache_hits"]) == (2, 1)


def test_given_a_cached_job_then_the_identical_run_is_answered_from_it(gateway: Gateway) -> None:
    tenant = _tenant(gateway)
    text = _text()
    job = _ran(gateway, "text-insights", {"text": text}, {"cache": True}, key=tenant.api_key)
    calls = _calls(gateway)

    run = gateway.request(
        "POST",
        "/run/text-insights",
        {"input": {"text": text}, "options": {"cache": True}},
        key=tenant.api_key,
    )

    assert run.status == 200 and run.json()["cached"] is True
    assert run.json()["result"] == job["result"]
    assert _calls(gateway) == calls
