"""aigw.Client and aigw.AsyncClient against a running `aigw local`."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from pathlib import Path

import pytest
from client_helpers import Gateway, closed_port_url

import aigw
from aigw.client import JobUpdate
from aigw.client.models import DocumentInsightsResult, Job, TextInsightsResult


def _client(gateway: Gateway, **options: object) -> aigw.Client:
    return aigw.Client(gateway.url, gateway.api_key, ws_url=gateway.ws_url, **options)  # type: ignore[arg-type]


def test_given_a_pdf_when_uploaded_submitted_and_waited_for_then_its_insights_arrive(
    gateway: Gateway, invoice: Path
) -> None:
    updates: list[JobUpdate] = []
    with _client(gateway) as client:
        job_input = client.upload(invoice)
        submitted = client.submit("document-insights", job_input, {"language": "en"})
        job = client.wait(submitted, timeout=60, on_update=updates.append)

    assert job_input["s3_uri"].startswith("s3://") and job_input["s3_uri"].endswith("invoice.pdf")
    assert job.status == "SUCCEEDED", job.error
    assert isinstance(job.result, DocumentInsightsResult)
    assert job.result.document.pages == 1
    assert job.result.insights is not None
    assert ("1,234.00 EUR", "QUANTITY") in [(e.text, e.type) for e in job.result.insights.entities]
    assert updates[-1].status == "SUCCEEDED"
    assert "websocket" in {update.source for update in updates}


def test_given_a_text_when_run_then_the_typed_result_comes_back(gateway: Gateway) -> None:
    text = "The hotel was dirty and the staff were rude. Email me at jane@example.com."
    with _client(gateway) as client:
        answer = client.run("text-insights", {"text": text})

    result = TextInsightsResult.model_validate(answer.result)
    assert answer.status == "SUCCEEDED"
    assert result.sentiment.label == "NEGATIVE"
    assert [(span.type, text[span.begin : span.end]) for span in result.pii] == [
        ("EMAIL", "jane@example.com")
    ]


def test_given_more_jobs_than_a_page_when_listed_then_each_is_seen_once_newest_first(
    gateway: Gateway,
) -> None:
    with _client(gateway) as client:
        submitted = [
            client.submit("text-insights", {"text": f"Review number {n} is fine."}).job_id
            for n in range(7)
        ]
        pages = list(client.pages(pipeline="text-insights", page_size=3))
        listed = [job.job_id for job in client.list(pipeline="text-insights", page_size=3)]

    assert len(pages) >= 3
    assert len(listed) == len(set(listed))
    assert set(submitted) <= set(listed)
    assert [i for i in listed if i in submitted] == submitted[::-1]


def test_given_a_running_job_when_cancelled_then_it_ends_cancelled(
    gateway: Gateway, long_document: Path
) -> None:
    with _client(gateway) as client:
        submitted = client.submit("document-insights", client.upload(long_document))
        cancelled = client.cancel(submitted)
        ended = client.wait(submitted, timeout=30)

    assert cancelled.status == "CANCELLED"
    assert ended.status == "CANCELLED"


def test_given_an_unreachable_websocket_when_waiting_then_the_client_polls(
    gateway: Gateway, invoice: Path
) -> None:
    updates: list[JobUpdate] = []
    client = aigw.Client(gateway.url, gateway.api_key, ws_url=closed_port_url("ws"))
    with client:
        document = base64.b64encode(invoice.read_bytes()).decode()
        submitted = client.submit(
            "document-insights", {"document_base64": document}, {"language": "en"}
        )
        job = client.wait(submitted, timeout=60, on_update=updates.append)

    assert job.status == "SUCCEEDED"
    assert {update.source for update in updates} == {"poll"}


def test_given_a_short_timeout_when_waiting_then_a_wait_timeout_error_names_the_job(
    gateway: Gateway, long_document: Path
) -> None:
    with _client(gateway) as client:
        submitted = client.submit("document-insights", client.upload(long_document))
        started = time.monotonic()
        with pytest.raises(aigw.WaitTimeoutError) as raised:
            client.wait(submitted, timeout=0.2)
        waited = time.monotonic() - started
        client.cancel(submitted)

    assert raised.value.job_id == submitted.job_id
    assert isinstance(raised.value, TimeoutError)
    assert waited < 5


def test_given_an_unknown_job_when_fetched_then_the_error_carries_code_and_request_id(
    gateway: Gateway,
) -> None:
    with _client(gateway) as client, pytest.raises(aigw.NotFoundError) as raised:
        client.get("01M0000000000000000000000Z")

    assert raised.value.status == 404
    assert raised.value.code == "NotFound"
    assert raised.value.request_id
    assert raised.value.request_id in str(raised.value)


def test_given_invalid_input_when_submitted_then_an_invalid_input_error_is_raised(
    gateway: Gateway,
) -> None:
    with _client(gateway) as client, pytest.raises(aigw.InvalidInputError) as raised:
        client.submit("text-insights", {"words": "no text field"})

    assert raised.value.status == 400


def test_given_one_idempotency_key_when_submitted_twice_then_one_job_is_made(
    gateway: Gateway,
) -> None:
    key = uuid.uuid4().hex
    with _client(gateway) as client:
        first = client.submit(
            "text-insights", {"text": "The same request, twice."}, idempotency_key=key
        )
        second = client.submit(
            "text-insights", {"text": "The same request, twice."}, idempotency_key=key
        )
        with pytest.raises(aigw.ConflictError):
            client.submit(
                "text-insights", {"text": "Another body, not the same."}, idempotency_key=key
            )

    assert first.job_id == second.job_id


def test_given_a_wrong_key_when_calling_then_unauthorized_is_raised(gateway: Gateway) -> None:
    client = aigw.Client(gateway.url, "aigw_not-a-key-0123456789")
    with client, pytest.raises(aigw.UnauthorizedError) as raised:
        client.pipelines()

    assert raised.value.code == "Unauthorized"


def test_given_the_async_client_when_a_job_is_submitted_waited_and_listed_then_it_succeeded(
    gateway: Gateway,
) -> None:
    async def scenario() -> tuple[Job, list[str], dict[str, object]]:
        async with aigw.AsyncClient(gateway.url, gateway.api_key, ws_url=gateway.ws_url) as client:
            submitted = await client.submit("text-insights", {"text": "What a lovely day it was."})
            job = await client.wait(submitted, timeout=30)
            listed = [listed.job_id async for listed in client.list(page_size=2, limit=5)]
            return job, listed, await client.result(job)

    job, listed, result = asyncio.run(scenario())

    assert job.status == "SUCCEEDED"
    assert job.job_id in listed
    assert result["sentiment"]["label"] == "POSITIVE"  # type: ignore[index]


def test_given_both_clients_when_models_are_listed_then_the_churn_model_and_its_features(
    gateway: Gateway,
) -> None:
    async def listed() -> aigw.ModelList:
        async with aigw.AsyncClient(gateway.url, gateway.api_key) as client:
            return await client.models()

    with _client(gateway) as client:
        models = client.models()

    assert models == asyncio.run(listed())
    churn = next(model for model in models.models if model.name == "churn")
    assert churn.labels == ["stay", "churn"]
    assert "plan" in churn.features_schema["properties"]
    assert [llm.id for llm in models.llm_models if llm.default] == ["amazon.nova-micro-v1:0"]
