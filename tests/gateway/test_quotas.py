"""Limits per tenant, enforced atomically: concurrent submissions against room for k admit
exactly k, a budget is never overspent by more than one job's estimate, every slot comes
back, and a refusal is 429 QuotaExceeded naming the limit, with Retry-After."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import Gateway, assert_documented_shape

from aigw.local.apis.rest_api import Response
from aigw.local.services.providers import ServiceError
from aigw.tenants import NewTenant, update_tenant

FEATURES = {
    "tenure_months": 3,
    "monthly_charges": 89.5,
    "support_calls": 6,
    "plan": "basic",
    "paperless_billing": True,
}


def limit(gateway: Gateway, tenant: NewTenant, **limits: Any) -> None:
    update_tenant(
        gateway.runtime.client("dynamodb"),
        gateway.runtime.physical_id("TenantsTable"),
        tenant.tenant_id,
        **limits,
    )


def usage(gateway: Gateway, tenant: NewTenant) -> dict[str, Any]:
    gateway.runtime.drain()
    return gateway.request("GET", "/usage", key=tenant.api_key).json()


def submit(
    gateway: Gateway, tenant: NewTenant, text: str = "Hold on, this takes a moment.", **kw: Any
) -> Response:
    body = {"pipeline": "text-insights", "input": {"text": text}}
    return gateway.request("POST", "/jobs", body, key=tenant.api_key, **kw)


def burst(gateway: Gateway, tenant: NewTenant, count: int) -> list[Response]:
    """``count`` submissions at once (a barrier lines the threads up)."""
    start = threading.Barrier(count)

    def one(_: int) -> Response:
        start.wait(30)
        return submit(gateway, tenant)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def wait_all(gateway: Gateway, tenant: NewTenant, answers: list[Response]) -> list[dict]:
    return [
        gateway.wait(answer.json()["job_id"], key=tenant.api_key, timeout=60)
        for answer in answers
        if answer.status == 202
    ]


# ---------------------------------------------------------------------------- concurrency


def test_given_room_for_10_when_50_submit_at_once_then_exactly_10_are_admitted(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("limits-burst")
    limit(gateway, tenant, max_concurrent_jobs=10)

    with gateway.held() as release:
        answers = burst(gateway, tenant, 50)
        during = usage(gateway, tenant)
        release.set()
        ended = wait_all(gateway, tenant, answers)

    admitted = [a for a in answers if a.status == 202]
    refused = [a for a in answers if a.status != 202]
    assert len(admitted) == 10
    assert {a.status for a in refused} == {429}
    for answer in refused:
        error = answer.json()["error"]
        assert (error["code"], error["limit"]) == ("QuotaExceeded", "max_concurrent_jobs")
        assert 1 <= int(answer.headers["Retry-After"]) <= 10  # a slot frees in seconds
        assert_documented_shape(answer.json(), "Error")
    assert during["limits"]["max_concurrent_jobs"] == {"limit": 10, "used": 10}
    assert [job["status"] for job in ended] == ["SUCCEEDED"] * 10
    listed = gateway.request("GET", "/jobs", key=tenant.api_key, query={"limit": "100"}).json()
    assert len(listed["jobs"]) == 10  # a refused submission leaves no job behind
    after = usage(gateway, tenant)
    assert after["limits"]["max_concurrent_jobs"]["used"] == 0
    assert after["limits"]["monthly_jobs"]["used"] == 10


def test_given_a_full_tenant_when_an_admitted_request_is_retried_then_the_same_job_not_429(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("limits-replay")
    limit(gateway, tenant, max_concurrent_jobs=1)

    with gateway.held():
        first = submit(gateway, tenant, headers={"Idempotency-Key": "order-1"})
        replay = submit(gateway, tenant, headers={"Idempotency-Key": "order-1"})
        other = submit(gateway, tenant)

    assert (first.status, replay.status, other.status) == (202, 202, 429)
    assert replay.json()["job_id"] == first.json()["job_id"]


def test_given_a_synchronous_run_then_it_takes_a_slot_like_a_job(gateway: Gateway) -> None:
    tenant = gateway.new_tenant("limits-run")
    limit(gateway, tenant, max_concurrent_jobs=1)
    run = {"input": {"model": "churn", "features": FEATURES}}

    with gateway.held():
        held = submit(gateway, tenant).json()["job_id"]
        refused = gateway.request("POST", "/run/predict", run, key=tenant.api_key)
    gateway.wait(held, key=tenant.api_key)  # its slot comes back when it is settled
    admitted = gateway.request("POST", "/run/predict", run, key=tenant.api_key)

    assert refused.status == 429
    assert refused.json()["error"]["limit"] == "max_concurrent_jobs"
    assert admitted.status == 200, admitted.body
    assert admitted.json()["usage"]["items"][0]["operation"] == "InvokeEndpoint"
    report = usage(gateway, tenant)
    assert report["jobs"] == 2  # the held job and the run; the refused run is not counted
    listed = gateway.request("GET", "/jobs", key=tenant.api_key).json()["jobs"]
    assert [job["job_id"] for job in listed] == [held]  # a run is not a job to list
    assert report["limits"]["max_concurrent_jobs"]["used"] == 0


def test_given_a_synchronous_run_that_fails_then_its_slot_comes_back_and_it_is_charged(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("limits-run-fails")
    limit(gateway, tenant, max_concurrent_jobs=1)
    run = {"input": {"model": "churn", "features": FEATURES}}

    def refuse(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("ModelError", "the model refused the request")

    with gateway.runtime.providers.override("sagemaker-runtime", "InvokeEndpoint", refuse):
        failed = gateway.request("POST", "/run/predict", run, key=tenant.api_key)
    report = usage(gateway, tenant)
    again = gateway.request("POST", "/run/predict", run, key=tenant.api_key)

    assert failed.status == 422, failed.body
    assert report["limits"]["max_concurrent_jobs"]["used"] == 0
    # It ran (the endpoint was called): its estimate, one SageMaker request, is charged.
    assert (report["jobs"], report["failed"]) == (1, 1)
    assert report["groups"][0]["units"] == {"sagemaker-runtime InvokeEndpoint (request)": 1}
    assert again.status == 200, again.body


# ---------------------------------------------------------------------------- LLM estimates

#: amazon.nova-micro-v1:0, the template's default model (price table, us-east-1).
NOVA_MICRO_INPUT_USD = 0.000000035
NOVA_MICRO_OUTPUT_USD = 0.00000014


def llm_estimate(text: str, max_tokens: int) -> float:
    """What an llm-generate job reserves, by hand: at most 4 UTF-8 bytes (tokens) a
    character plus 100 for the chat template in, ``max_tokens`` out."""
    return (len(text) * 4 + 100) * NOVA_MICRO_INPUT_USD + max_tokens * NOVA_MICRO_OUTPUT_USD


def test_given_an_llm_job_then_it_reserves_its_max_tokens_at_submit(gateway: Gateway) -> None:
    tenant = gateway.new_tenant("limits-llm")
    text = "Say hello."
    # Room for a job of 1,000 output tokens ($0.000145), not one of 4,000 ($0.000565).
    limit(gateway, tenant, monthly_budget_usd="0.0005")

    def generate(max_tokens: int) -> Response:
        body = {
            "pipeline": "llm-generate",
            "input": {"messages": [{"role": "user", "content": text}]},
            "options": {"max_tokens": max_tokens},
        }
        return gateway.request("POST", "/jobs", body, key=tenant.api_key)

    def refuse(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("ValidationException", "the model refused the request")

    too_long = generate(4000)
    with gateway.runtime.providers.override("bedrock-runtime", "Converse", refuse):
        admitted = generate(1000)
        job = gateway.wait(admitted.json()["job_id"], key=tenant.api_key)
    report = usage(gateway, tenant)

    assert too_long.status == 429
    assert too_long.json()["error"]["limit"] == "monthly_budget_usd"
    named = re.search(r"estimated cost \(\$([0-9.]+)\)", too_long.json()["error"]["message"])
    assert named and float(named.group(1)) == pytest.approx(llm_estimate(text, 4000))
    assert admitted.status == 202, admitted.body
    # It failed after it started: what it reserved is what it is charged.
    shown = gateway.request("GET", f"/jobs/{job['job_id']}", key=tenant.api_key).json()
    assert shown["usage"]["basis"] == "estimate"
    output = [item for item in shown["usage"]["items"] if item["unit"].endswith("output token")]
    assert [item["quantity"] for item in output] == [1000]
    assert shown["usage"]["ai_cost_usd"] == pytest.approx(llm_estimate(text, 1000))
    assert report["month_to_date_usd"] == pytest.approx(llm_estimate(text, 1000))
    assert report["limits"]["max_concurrent_jobs"]["used"] == 0


# ---------------------------------------------------------------------------- monthly limits


def test_given_a_monthly_job_limit_then_the_next_job_is_refused_until_next_month(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("limits-monthly")
    limit(gateway, tenant, monthly_jobs=2)

    answers = [submit(gateway, tenant) for _ in range(3)]
    wait_all(gateway, tenant, answers)

    assert [a.status for a in answers] == [202, 202, 429]
    assert answers[2].json()["error"]["limit"] == "monthly_jobs"
    # Retry-After: the first second of next month (UTC).
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 31 * 24 * 3600
    assert usage(gateway, tenant)["limits"]["monthly_jobs"] == {"limit": 2, "used": 2}


def test_given_a_job_estimated_over_the_whole_budget_then_it_is_refused_at_once(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("limits-too-big")
    limit(gateway, tenant, monthly_budget_usd="0.001")

    answer = submit(gateway, tenant, text="x" * 2_000)  # 5 calls of 20 units: $0.01

    assert answer.status == 429
    assert answer.json()["error"]["limit"] == "monthly_budget_usd"
    assert "over the monthly budget" in answer.json()["error"]["message"]


def test_given_a_budget_under_concurrency_then_it_is_never_overspent_by_more_than_one_estimate(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("limits-budget")
    # "Hold on, this takes a moment." is 3 units for each of 5 Comprehend calls: $0.0015
    # estimated and spent.
    estimate = 0.0015
    budget = 0.01  # room for 6 such jobs
    limit(gateway, tenant, monthly_budget_usd=str(budget))

    waves = []
    for _ in range(3):
        with gateway.held() as release:
            answers = burst(gateway, tenant, 12)
            release.set()
            wait_all(gateway, tenant, answers)
        waves.append(answers)
    report = usage(gateway, tenant)

    admitted = sum(a.status == 202 for answers in waves for a in answers)
    assert admitted == 6
    assert report["month_to_date_usd"] <= budget + estimate
    assert report["month_to_date_usd"] == pytest.approx(admitted * estimate)
    refused = [a.json()["error"] for answers in waves for a in answers if a.status == 429]
    assert {error["limit"] for error in refused} == {"monthly_budget_usd"}
    assert report["limits"]["monthly_budget_usd"]["used"] == pytest.approx(admitted * estimate)


def test_given_limits_then_the_usage_report_shows_each_with_its_use(gateway: Gateway) -> None:
    tenant = gateway.new_tenant("limits-report")
    limit(gateway, tenant, max_concurrent_jobs=4, monthly_budget_usd="12.5", monthly_jobs=100)

    limits = usage(gateway, tenant)["limits"]

    assert limits == {
        "max_concurrent_jobs": {"limit": 4, "used": 0},
        "monthly_budget_usd": {"limit": 12.5, "used": 0},
        "monthly_jobs": {"limit": 100, "used": 0},
    }


def test_given_a_limit_removed_then_the_tenant_is_unlimited_again(gateway: Gateway) -> None:
    tenant = gateway.new_tenant("limits-removed")
    limit(gateway, tenant, monthly_jobs=0)
    refused = submit(gateway, tenant)
    limit(gateway, tenant, monthly_jobs=None)

    admitted = submit(gateway, tenant)
    gateway.wait(admitted.json()["job_id"], key=tenant.api_key)

    assert (refused.status, admitted.status) == (429, 202)
