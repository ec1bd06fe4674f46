"""Usage per tenant: every job is settled once from the Jobs table's stream, whatever way it
ends (its slot and reservation released, its cost charged, the day's aggregates counted),
and GET /v1/usage reports it by day, pipeline or service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import ROOT, Gateway, assert_documented_shape

from aigw.local.services.providers import ServiceError
from aigw.tenants import NewTenant

FEATURES = {
    "tenure_months": 3,
    "monthly_charges": 89.5,
    "support_calls": 6,
    "plan": "basic",
    "paperless_billing": True,
}


def usage(gateway: Gateway, tenant: NewTenant, **query: str) -> dict[str, Any]:
    gateway.runtime.drain()
    answer = gateway.request("GET", "/usage", key=tenant.api_key, query=query or None)
    assert answer.status == 200, answer.body
    return answer.json()


def run_job(gateway: Gateway, tenant: NewTenant, pipeline: str, job_input: dict) -> dict:
    job_id = gateway.submit(pipeline, job_input, key=tenant.api_key)
    return gateway.wait(job_id, key=tenant.api_key)


# ---------------------------------------------------------------------------- the report


def test_given_jobs_of_two_pipelines_then_usage_adds_them_up_by_day_pipeline_and_service(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("usage-report")
    texts = [
        run_job(gateway, tenant, "text-insights", {"text": "Great work, thank you."})
        for _ in range(2)
    ]
    prediction = run_job(gateway, tenant, "predict", {"model": "churn", "features": FEATURES})
    assert [job["status"] for job in [*texts, prediction]] == ["SUCCEEDED"] * 3, texts
    cost = sum(job["usage"]["ai_cost_usd"] for job in [*texts, prediction])
    # The day the jobs ran (taken at import, a full run crossing midnight UTC failed here).
    today = prediction["updated_at"][:10]

    by_day = usage(gateway, tenant)
    by_pipeline = usage(gateway, tenant, group_by="pipeline", **{"from": today, "to": today})
    by_service = usage(gateway, tenant, group_by="service")

    assert by_day["jobs"] == 3 and by_day["failed"] == 0 and by_day["currency"] == "USD"
    assert by_day["cost_usd"] == pytest.approx(cost)
    assert [(g["key"], g["jobs"]) for g in by_day["groups"]] == [(today, 3)]
    assert by_day["month_to_date_usd"] == pytest.approx(cost)
    assert by_day["month_reserved_usd"] == pytest.approx(0)
    pipelines = {g["key"]: g for g in by_pipeline["groups"]}
    assert {key: g["jobs"] for key, g in pipelines.items()} == {"predict": 1, "text-insights": 2}
    # "Great work, thank you." is 3 units (the minimum) for each of 5 Comprehend calls, twice.
    assert (
        pipelines["text-insights"]["units"]["comprehend DetectSentiment (100-character unit)"] == 6
    )
    assert pipelines["predict"]["units"] == {"sagemaker-runtime InvokeEndpoint (request)": 1}
    services = {g["key"]: g for g in by_service["groups"]}
    assert services["comprehend"]["jobs"] == 2
    assert services["comprehend"]["cost_usd"] == pytest.approx(2 * 15 * 0.0001)
    assert services["sagemaker-runtime"]["cost_usd"] == 0
    assert by_day["limits"]["max_concurrent_jobs"] == {"limit": None, "used": 0}
    assert by_day["limits"]["monthly_jobs"] == {"limit": None, "used": 3}
    for report in (by_day, by_pipeline, by_service):
        assert_documented_shape(report, "UsageReport")


def test_given_a_period_without_jobs_then_an_empty_report_not_an_error(gateway: Gateway) -> None:
    tenant = gateway.new_tenant("usage-empty")

    report = usage(gateway, tenant, **{"from": "2025-01-01", "to": "2025-01-31"})

    assert (report["from"], report["to"], report["jobs"], report["groups"]) == (
        "2025-01-01",
        "2025-01-31",
        0,
        [],
    )


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"group_by": "week"}, "group_by"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "366 days"),
    ],
)
def test_given_a_bad_usage_query_then_400_naming_the_parameter(
    gateway: Gateway, query: dict[str, str], named: str
) -> None:
    answer = gateway.request("GET", "/usage", query=query)

    assert answer.status == 400, answer.body
    assert answer.json()["error"]["code"] == "InvalidInput"
    assert named in answer.json()["error"]["message"]


def test_given_another_tenants_jobs_then_they_are_not_in_my_usage(gateway: Gateway) -> None:
    mine, theirs = gateway.new_tenant("usage-mine"), gateway.new_tenant("usage-theirs")
    run_job(gateway, theirs, "text-insights", {"text": "Their job, not mine at all."})

    assert usage(gateway, mine)["jobs"] == 0
    assert usage(gateway, theirs)["jobs"] == 1


# ---------------------------------------------------------------------------- settling once


def test_given_the_end_of_a_job_delivered_again_then_it_is_settled_only_once(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("usage-once")
    job = run_job(gateway, tenant, "text-insights", {"text": "Counted once, and only once."})
    before = usage(gateway, tenant)
    dynamodb = gateway.runtime.client("dynamodb")
    key = {"tenant_id": {"S": tenant.tenant_id}, "job_id": {"S": job["job_id"]}}
    item = dynamodb.get_item(
        TableName=gateway.runtime.physical_id("JobsTable"), Key=key, ConsistentRead=True
    )["Item"]
    record = {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": key,
            "OldImage": {**item, "status": {"S": "RUNNING"}},
            "NewImage": item,
        },
    }

    answer = gateway.runtime.bridge.invoke(
        gateway.runtime.physical_id("SettleFunction"), {"Records": [record, record]}
    )

    assert answer.function_error is None, answer.json()
    assert answer.json() == {"settled": 0}
    assert usage(gateway, tenant) == before


# ---------------------------------------------------------------------------- every way to end


def test_given_a_job_that_fails_after_running_then_it_is_charged_its_estimate(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("usage-failed")

    def refuse(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("TextSizeLimitExceededException", "too long", status_code=400)

    with gateway.runtime.providers.override("comprehend", "DetectKeyPhrases", refuse):
        job = run_job(gateway, tenant, "text-insights", {"text": "It breaks halfway through."})
    report = usage(gateway, tenant)

    assert job["status"] == "FAILED"
    shown = gateway.request("GET", f"/jobs/{job['job_id']}", key=tenant.api_key).json()
    # The calls made before the failure are not observable: the estimate is charged, which
    # for a 26-character English text is 3 units for detection and each of 4 analyses.
    assert shown["usage"]["basis"] == "estimate"
    assert shown["usage"]["ai_cost_usd"] == pytest.approx(5 * 3 * 0.0001)
    assert report["failed"] == 1
    assert report["cost_usd"] == pytest.approx(shown["usage"]["ai_cost_usd"])
    assert report["limits"]["max_concurrent_jobs"]["used"] == 0


@contextmanager
def _textract_released(gateway: Gateway) -> Iterator[None]:
    try:
        yield
    finally:
        gateway.fakes.textract_outcome = "SUCCEEDED"


def test_given_jobs_that_succeed_fail_are_cancelled_or_killed_then_every_slot_comes_back(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("usage-slots")
    sfn = gateway.runtime.client("stepfunctions")
    runner = gateway.runtime.arn("JobRunnerStateMachine")
    ended = [run_job(gateway, tenant, "text-insights", {"text": "This one is fine, thanks."})]

    def broken(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("InternalServerException", "broken", status_code=500)

    with gateway.runtime.providers.override("comprehend", "DetectSentiment", broken):
        ended.append(
            run_job(gateway, tenant, "text-insights", {"text": "This one is broken, sadly."})
        )
    # The killed job is a document job, held waiting for Textract: it runs on job-runner
    # (text jobs run Express-first), whose execution can be stopped from outside.
    gateway.fakes.textract_outcome = "HOLD"
    with gateway.held(), _textract_released(gateway):
        cancelled = gateway.submit(
            "text-insights", {"text": "Cancel me before I finish."}, key=tenant.api_key
        )
        killed = gateway.submit(
            "document-insights", {"document_base64": "JVBERi0K"}, key=tenant.api_key
        )
        for job_id in (cancelled, killed):
            gateway.running(job_id, key=tenant.api_key)
        assert usage(gateway, tenant)["limits"]["max_concurrent_jobs"]["used"] == 2
        gateway.request("DELETE", f"/jobs/{cancelled}", key=tenant.api_key)
        execution = next(
            e["executionArn"]
            for e in sfn.list_executions(stateMachineArn=runner)["executions"]
            if e["name"].endswith(killed)
        )
        # Outside the API and the workflow's Catch: the reconciler hears of it.
        sfn.stop_execution(executionArn=execution, error="Operator", cause="killed by hand")
        ended += [gateway.wait(job_id, key=tenant.api_key) for job_id in (cancelled, killed)]
    report = usage(gateway, tenant)

    assert [job["status"] for job in ended] == ["SUCCEEDED", "FAILED", "CANCELLED", "CANCELLED"]
    assert report["limits"]["max_concurrent_jobs"]["used"] == 0
    assert report["month_reserved_usd"] == pytest.approx(0)
    assert report["jobs"] == 4 and report["failed"] == 3
    # Those that ended without a result get theirs when settled, moments after they end.
    shown = [
        gateway.request("GET", f"/jobs/{j['job_id']}", key=tenant.api_key).json() for j in ended
    ]
    assert [job["usage"]["basis"] for job in shown] == ["measured", *["estimate"] * 3]


def test_given_a_run_record_that_expires_before_it_ended_then_its_slot_still_comes_back(
    gateway: Gateway,
) -> None:
    sample = json.loads((ROOT / "events" / "settle.json").read_text())
    record = sample["Records"][0]
    tenant = gateway.new_tenant("usage-expired")
    # Admitted: it holds a slot (what the API's admission transaction wrote).
    gateway.runtime.client("dynamodb").put_item(
        TableName=gateway.runtime.physical_id("UsageTable"),
        Item={
            "tenant_id": {"S": tenant.tenant_id},
            "sk": {"S": "active"},
            "active_jobs": {"N": "1"},
        },
    )
    image = {**record["dynamodb"]["OldImage"], "tenant_id": {"S": tenant.tenant_id}}
    image["job_id"] = {"S": "run#01HWZ06SCY7F9H1K3M5P7R9T1V"}
    removed = {"eventName": "REMOVE", "dynamodb": {"Keys": {}, "OldImage": image}}

    answer = gateway.runtime.bridge.invoke(
        gateway.runtime.physical_id("SettleFunction"), {"Records": [removed]}
    )

    assert answer.json() == {"settled": 1}
    report = usage(gateway, tenant, **{"from": "2024-05-03", "to": "2024-05-03"})
    # It was RUNNING when its record expired: its estimate is charged, its slot released.
    assert report["jobs"] == 1 and report["failed"] == 1
    assert report["cost_usd"] == pytest.approx(0.0012)
    assert report["limits"]["max_concurrent_jobs"]["used"] == 0
