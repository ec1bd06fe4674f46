"""The job API end to end: HTTP request → authorizer → API function → job-runner →
pipeline → finalize → job record → events, on the offline runtime with AI fakes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from conftest import Gateway, assert_documented_shape

from aigw.cli import main as aigw

# ---------------------------------------------------------------------------- text jobs


def test_given_a_text_job_when_submitted_then_it_succeeds_with_the_normalized_result(
    gateway: Gateway,
) -> None:
    text = "Honestly, the Acme Corp service was terrible and slow. Write to help@example.com."

    answer = gateway.request(
        "POST", "/jobs", {"pipeline": "text-insights", "input": {"text": text}}
    )

    assert answer.status == 202
    submitted = answer.json()
    assert submitted["status"] == "QUEUED"
    assert submitted["links"]["self"] == f"/v1/jobs/{submitted['job_id']}"
    job = gateway.wait(submitted["job_id"])
    assert job["status"] == "SUCCEEDED", job
    result = job["result"]
    assert result["language"]["code"] == "en"
    assert result["sentiment"]["label"] == "NEGATIVE"
    assert [(e["text"], e["type"]) for e in result["entities"]] == [("Acme Corp", "ORGANIZATION")]
    assert [text[p["begin"] : p["end"]] for p in result["pii"]] == ["help@example.com"]
    # 81 characters: 3 units (Comprehend's minimum) for each of the 5 Comprehend calls.
    assert job["usage"]["ai_cost_usd"] == pytest.approx(5 * 3 * 0.0001)
    assert job["progress"] == {"step": "done", "percent": 100}
    assert_documented_shape(job, "Job")
    assert_documented_shape(result, "TextInsightsResult")


def test_given_a_long_text_when_run_then_chunks_are_merged_with_correct_offsets(
    gateway: Gateway,
) -> None:
    filler = "This sentence is only here to make the text long. " * 150  # > 4,500 bytes
    text = filler + "Please ask Jane Smith at jane@example.org for the great news."

    job = gateway.wait(gateway.submit("text-insights", {"text": text}))

    assert job["status"] == "SUCCEEDED", job
    result = job["result"]
    assert result["stats"]["chunks"] >= 2
    assert [text[e["begin"] : e["end"]] for e in result["entities"]] == ["Jane Smith"]
    assert [text[p["begin"] : p["end"]] for p in result["pii"]] == ["jane@example.org"]


def test_given_a_text_in_spanish_with_a_target_language_then_it_is_translated_first(
    gateway: Gateway,
) -> None:
    answer = gateway.request(
        "POST",
        "/run/text-insights",
        {"input": {"text": "El servicio es muy bueno."}, "options": {"target_language": "en"}},
    )

    assert answer.status == 200, answer.body
    result = answer.json()["result"]
    assert result["language"]["code"] == "es"
    assert result["translation"]["target"] == "en"
    assert result["translation"]["text"].startswith("[en] ")


def test_given_a_language_pair_without_a_model_when_run_then_a_typed_error(
    gateway: Gateway,
) -> None:
    answer = gateway.request(
        "POST",
        "/run/text-insights",
        {"input": {"text": "El servicio es muy bueno."}, "options": {"target_language": "de"}},
    )

    assert answer.status == 422
    error = answer.json()["error"]
    assert error["code"] == "InvalidInput"
    assert "UnsupportedLanguage" in error["message"]


def test_given_an_express_pipeline_when_run_synchronously_then_the_result_is_in_the_answer(
    gateway: Gateway,
) -> None:
    answer = gateway.request(
        "POST", "/run/text-insights", {"input": {"text": "What a great and fast service!"}}
    )

    assert answer.status == 200, answer.body
    body = answer.json()
    assert (body["pipeline"], body["status"]) == ("text-insights", "SUCCEEDED")
    assert body["result"]["sentiment"]["label"] == "POSITIVE"


# ---------------------------------------------------------------------------- the API contract


def test_given_no_api_key_then_401_in_the_error_shape(gateway: Gateway) -> None:
    answer = gateway.request("GET", "/pipelines", key=None)

    assert answer.status == 401
    error = answer.json()["error"]
    assert error["code"] == "Unauthorized"
    assert error["request_id"] == answer.request_id


def test_given_a_wrong_api_key_then_401(gateway: Gateway) -> None:
    assert gateway.request("GET", "/pipelines", key="aigw_not-a-key").status == 401


def test_given_a_pending_or_suspended_tenant_then_403(gateway: Gateway) -> None:
    pending = gateway.new_tenant("waiting", status="pending")
    suspended = gateway.new_tenant("naughty", status="suspended")

    for tenant in (pending, suspended):
        answer = gateway.request("GET", "/pipelines", key=tenant.api_key)
        assert answer.status == 403
        assert answer.json()["error"]["code"] == "Forbidden"


def test_given_the_pipelines_route_then_each_has_mode_and_input_schema(gateway: Gateway) -> None:
    answer = gateway.request("GET", "/pipelines")

    assert answer.status == 200
    pipelines = {p["name"]: p for p in answer.json()["pipelines"]}
    assert set(pipelines) == {
        "text-insights",
        "document-insights",
        "image-insights",
        "predict",
        "llm-generate",
        "document-summary",
    }
    assert pipelines["document-insights"]["mode"] == "async"
    assert pipelines["document-summary"]["mode"] == "async"
    assert pipelines["llm-generate"]["mode"] == "sync"
    assert pipelines["text-insights"]["input_schema"]["required"] == ["text"]


def test_given_malformed_json_then_400_invalid_input(gateway: Gateway) -> None:
    answer = gateway.request("POST", "/jobs", '{"pipeline": "text-insights", ')

    assert answer.status == 400
    assert answer.json()["error"]["code"] == "InvalidInput"


def test_given_a_schema_violation_then_400_naming_the_field(gateway: Gateway) -> None:
    answer = gateway.request("POST", "/jobs", {"pipeline": "text-insights", "input": {"txt": "x"}})

    assert answer.status == 400
    error = answer.json()["error"]
    assert error["code"] == "InvalidInput"
    assert "txt" in error["message"]


def test_given_an_unknown_pipeline_then_400_for_jobs_and_404_for_runs(gateway: Gateway) -> None:
    job = gateway.request("POST", "/jobs", {"pipeline": "poetry", "input": {"text": "x"}})
    run = gateway.request("POST", "/run/poetry", {"input": {"text": "x"}})

    assert job.status == 400
    assert run.status in (400, 404)
    assert run.json()["error"]["code"] in ("InvalidInput", "NotFound")


def test_given_an_oversize_inline_text_then_413(gateway: Gateway) -> None:
    text = "ü" * 13_000  # 26,000 bytes of UTF-8, under the schema's character limit

    answer = gateway.request(
        "POST", "/jobs", {"pipeline": "text-insights", "input": {"text": text}}
    )

    assert answer.status == 413
    assert answer.json()["error"]["code"] == "PayloadTooLarge"


def test_given_another_tenants_job_then_404_as_if_it_did_not_exist(gateway: Gateway) -> None:
    other = gateway.new_tenant("other")
    job_id = gateway.submit(
        "text-insights", {"text": "great. Thanks for reading."}, key=other.api_key
    )

    mine = gateway.request("GET", f"/jobs/{job_id}")
    cancel = gateway.request("DELETE", f"/jobs/{job_id}")

    assert mine.status == 404
    assert cancel.status == 404
    assert mine.json()["error"]["code"] == "NotFound"


def test_given_an_idempotency_key_when_retried_then_the_same_job_and_one_execution(
    gateway: Gateway,
) -> None:
    """The pipeline runs once: on job-runner the execution name makes a second start a
    no-op; on express-job-runner (Express does not deduplicate names) a second execution
    finds the job RUNNING under another execution and runs nothing."""
    key = uuid.uuid4().hex
    text = f"A good day, {key}. Thanks for reading."
    body = {"pipeline": "text-insights", "input": {"text": text}}
    detections: list[str] = []  # this job's language detections (other jobs may be running)

    def detect(params: dict[str, Any]) -> dict[str, Any]:
        if key in params["Text"]:
            detections.append(key)
        return gateway.fakes.detect_dominant_language(params)

    with gateway.runtime.providers.override("comprehend", "DetectDominantLanguage", detect):
        first = gateway.request("POST", "/jobs", body, headers={"Idempotency-Key": key})
        second = gateway.request("POST", "/jobs", body, headers={"Idempotency-Key": key})
        job_id = first.json()["job_id"]
        job = gateway.wait(job_id)

    assert (first.status, second.status) == (202, 202)
    assert second.json()["job_id"] == job_id
    assert job["status"] == "SUCCEEDED"
    assert len(detections) == 1


def test_given_an_idempotency_key_with_another_body_then_409(gateway: Gateway) -> None:
    key = uuid.uuid4().hex

    first = gateway.request(
        "POST",
        "/jobs",
        {"pipeline": "text-insights", "input": {"text": "one. Thanks for reading."}},
        headers={"Idempotency-Key": key},
    )
    second = gateway.request(
        "POST",
        "/jobs",
        {"pipeline": "text-insights", "input": {"text": "two. Thanks for reading."}},
        headers={"Idempotency-Key": key},
    )

    assert first.status == 202
    assert second.status == 409
    assert second.json()["error"]["code"] == "Conflict"


def test_given_more_jobs_than_a_page_then_next_token_pages_through_all_newest_first(
    gateway: Gateway,
) -> None:
    tenant = gateway.new_tenant("pager")
    submitted = [
        gateway.submit("text-insights", {"text": f"job {n} is good, thank you"}, key=tenant.api_key)
        for n in range(7)
    ]

    seen: list[str] = []
    token = None
    for _ in range(10):
        query = {"limit": "3", **({"next_token": token} if token else {})}
        page = gateway.request("GET", "/jobs", key=tenant.api_key, query=query).json()
        seen += [job["job_id"] for job in page["jobs"]]
        token = page.get("next_token")
        if not token:
            break

    assert seen == list(reversed(submitted))


def test_given_a_bad_next_token_then_400(gateway: Gateway) -> None:
    answer = gateway.request("GET", "/jobs", query={"next_token": "not-a-token!"})

    assert answer.status == 400


def test_given_a_status_filter_then_only_those_jobs(gateway: Gateway) -> None:
    tenant = gateway.new_tenant("filter")
    done = gateway.submit(
        "text-insights", {"text": "fine. Thanks for reading."}, key=tenant.api_key
    )
    gateway.wait(done, key=tenant.api_key)

    page = gateway.request("GET", "/jobs", key=tenant.api_key, query={"status": "SUCCEEDED"}).json()

    assert [job["job_id"] for job in page["jobs"]] == [done]
    assert json.dumps(page).count("tenant_id") == 0  # the tenant never leaks into answers


def test_given_a_deployed_stack_when_the_admin_creates_a_tenant_then_its_key_works(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    apigateway = gateway.runtime.client("apigateway")
    plan = apigateway.create_usage_plan(name="tenants")["id"]
    # A stand-in stack with the outputs the admin command reads from the real one.
    outputs_only = {
        "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "TenantsTableName": {"Value": gateway.runtime.physical_id("TenantsTable")},
            "TenantUsagePlanId": {"Value": plan},
        },
    }
    gateway.runtime.client("cloudformation").create_stack(
        StackName="aigw-admin-test", TemplateBody=json.dumps(outputs_only)
    )

    status = aigw(
        ["tenants", "create", "globex", "--stack", "aigw-admin-test", "--region", "us-east-1"]
    )

    assert status == 0
    printed = capsys.readouterr().out
    key = next(line.split()[-1] for line in printed.splitlines() if line.startswith("api_key"))
    assert gateway.request("GET", "/pipelines", key=key).status == 200
    assert len(apigateway.get_usage_plan_keys(usagePlanId=plan)["items"]) == 1


def test_given_the_gateway_template_then_everything_but_api_gateway_runs_in_moto(
    gateway: Gateway,
) -> None:
    not_run = {rtype for _, rtype, _ in gateway.runtime.report.not_run}

    assert not_run <= {
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::UsagePlan",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Deployment",
        "AWS::ApiGatewayV2::Stage",
    }
    alarms = gateway.runtime.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert {alarm["AlarmName"] for alarm in alarms} >= {
        "aigw-local-Api5xxAlarm",
        "aigw-local-JobFailureRateAlarm",
        "aigw-local-JobDurationAlarm",
    }
