"""Prompt templates and the LLM pipelines (SPEC §7) on the offline runtime: the REST API,
llm-generate (sync and as a job) and document-summary, with Bedrock answered by the real
local model (aigw[llm]) through a recorder that sees every Converse request the state
machine makes and can answer a model with Bedrock's own errors (the other services are the
gateway tests' deterministic fakes)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import ROOT, Gateway, assert_documented_shape

from aigw.local.services.providers import ServiceError
from aigw.providers import bedrock

QUESTION = "What is the capital of France? Answer in one sentence."
PRIMARY = "amazon.nova-micro-v1:0"
FALLBACK = "amazon.nova-lite-v1:0"
#: Small answers: every generated token costs the real model about 30 ms on a busy machine.
SHORT = {"max_tokens": 16, "temperature": 0}
CAPITALS = {
    "name": "capital",
    "template": "What is the capital of {{country}}? Answer in one sentence.",
    "variables": {
        "type": "object",
        "properties": {"country": {"type": "string", "minLength": 2}},
        "required": ["country"],
    },
}


@dataclass
class RecordingBedrock:
    """Converse as the state machine calls it: recorded, then answered by the local model,
    or by ``failures[model_id]`` (a Bedrock error code) when one is set."""

    model: bedrock.LocalBedrock
    failures: dict[str, str] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def converse(self, params: dict[str, Any]) -> Any:
        with self.lock:
            self.calls.append(params)
        code = self.failures.get(params["modelId"])
        if code is not None:  # its HTTP status comes from botocore's model, as AWS sends it
            raise ServiceError(code, "Too many requests, please wait before trying again.")
        return self.model.converse(params)

    def models_called(self) -> list[str]:
        return [call["modelId"] for call in self.calls]

    def user_text(self, call: int = -1) -> str:
        return "\n".join(
            block["text"]
            for message in self.calls[call]["messages"]
            if message["role"] == "user"
            for block in message["content"]
        )


@pytest.fixture(scope="module")
def local_model() -> bedrock.LocalBedrock:
    if bedrock.default_model_path() is None:
        pytest.fail(f"these tests need the local model: {bedrock.INSTALL_HINT}")
    return bedrock.LocalBedrock(bedrock.LocalChatModel(bedrock.default_model_path()))


@pytest.fixture
def model(gateway: Gateway, local_model: bedrock.LocalBedrock) -> Iterator[RecordingBedrock]:
    recorder = RecordingBedrock(local_model)
    with gateway.runtime.providers.override("bedrock-runtime", "Converse", recorder.converse):
        yield recorder


def _create(gateway: Gateway, prompt: dict[str, Any]) -> Any:
    return gateway.request("POST", "/prompts", prompt)


def _items(usage: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    return {(i["service"], i["operation"], i["unit"]): i["quantity"] for i in usage["items"]}


def _submit(gateway: Gateway, pipeline: str, job_input: dict[str, Any], **options: Any) -> str:
    body: dict[str, Any] = {"pipeline": pipeline, "input": job_input, "options": options}
    answer = gateway.request("POST", "/jobs", body)
    assert answer.status == 202, answer.body
    return str(answer.json()["job_id"])


def _capitals(gateway: Gateway) -> None:
    gateway.request("DELETE", "/prompts/capital")
    assert _create(gateway, CAPITALS).status == 201


# ---------------------------------------------------------------------------- prompt templates


def test_given_a_prompt_when_versions_are_added_then_each_version_stays_as_it_was(
    gateway: Gateway,
) -> None:
    gateway.request("DELETE", "/prompts/faq")
    first = {**CAPITALS, "name": "faq", "parameters": {"max_tokens": 64}}
    created = _create(gateway, first)
    second = gateway.request(
        "PUT",
        "/prompts/faq",
        {
            "template": "Name the capital of {{country}}.",
            "system": "You answer in {{style}} style.",
            "variables": {
                "type": "object",
                "properties": {"country": {"type": "string"}, "style": {"default": "terse"}},
            },
            "model": FALLBACK,
        },
    )
    listed = gateway.request("GET", "/prompts").json()
    latest = gateway.request("GET", "/prompts/faq").json()
    one = gateway.request("GET", "/prompts/faq", query={"version": "1"}).json()

    assert created.status == 201, created.body
    assert created.json()["version"] == 1
    assert second.status == 201, second.body
    assert second.json()["version"] == 2
    assert {"name": "faq", "latest_version": 2} in [
        {"name": p["name"], "latest_version": p["latest_version"]} for p in listed["prompts"]
    ]
    assert latest["version"] == 2 and latest["model"] == FALLBACK
    assert one["version"] == 1 and one["latest_version"] == 2
    assert one["template"] == first["template"]
    assert one["parameters"] == {"max_tokens": 64}
    assert "system" not in one
    assert_documented_shape(one, "Prompt")
    assert_documented_shape(listed, "PromptList")


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"template": "Hello {{name}}"}, 400, "{{name}} is not declared in variables.properties"),
        ({"template": "Hello {{ country | upper }}"}, 400, "is not a placeholder"),
        ({"template": "Hi {{__import__('os')}}"}, 400, "is not a placeholder"),
        (
            {"variables": {"type": "object", "properties": {"country": {"type": "strin"}}}},
            400,
            "not a valid JSON Schema",
        ),
        ({"variables": {"type": "array"}}, 400, "must describe an object"),
        ({"model": "anthropic.claude-v9"}, 400, "is not a model this gateway may call"),
        ({"template": "€" * 20_000}, 413, "at most 50000 are accepted"),
        ({"name": "no spaces please"}, 400, ""),
    ],
    ids=["undeclared", "filter", "code", "bad-schema", "not-object", "model", "too-large", "name"],
)
def test_given_a_bad_prompt_when_created_then_a_typed_error_and_nothing_stored(
    gateway: Gateway, change: dict[str, Any], status: int, message: str
) -> None:
    answer = _create(gateway, {**CAPITALS, "name": "bad-prompt", **change})

    assert answer.status == status, answer.body
    assert answer.json()["error"]["code"] == (
        "PayloadTooLarge" if status == 413 else "InvalidInput"
    )
    assert message in answer.json()["error"]["message"]
    assert gateway.request("GET", "/prompts/bad-prompt").status == 404


def test_given_existing_and_missing_prompts_when_misused_then_conflict_and_not_found(
    gateway: Gateway,
) -> None:
    _capitals(gateway)

    again = _create(gateway, {**CAPITALS, "template": "Capital of {{country}}?"})
    missing_put = gateway.request(
        "PUT", "/prompts/nope", {k: CAPITALS[k] for k in ("template", "variables")}
    )
    missing_version = gateway.request("GET", "/prompts/capital", query={"version": "7"})
    other_tenant = gateway.request(
        "GET", "/prompts/capital", key=gateway.new_tenant("other").api_key
    )
    deleted = gateway.request("DELETE", "/prompts/capital")
    after = gateway.request("GET", "/prompts/capital")

    assert again.status == 409 and again.json()["error"]["code"] == "Conflict"
    assert missing_put.status == 404
    assert missing_version.status == 404
    assert "the latest is 1" in missing_version.json()["error"]["message"]
    assert other_tenant.status == 404
    assert deleted.status == 204
    assert after.status == 404


# ---------------------------------------------------------------------------- llm-generate


def test_given_a_prompt_template_when_run_synchronously_then_the_model_answers_the_rendered_prompt(
    gateway: Gateway, model: RecordingBedrock
) -> None:
    _capitals(gateway)

    answer = gateway.request(
        "POST",
        "/run/llm-generate",
        {"input": {"prompt": "capital@1", "variables": {"country": "France"}}, "options": SHORT},
    )

    assert answer.status == 200, answer.body
    result = answer.json()["result"]
    assert_documented_shape(result, "LlmGenerateResult")
    assert "Paris" in result["text"]
    assert result["model"] == PRIMARY
    assert result["fallback_used"] is False
    assert result["prompt"] == {"name": "capital", "version": 1}
    assert result["usage"]["input_tokens"] > 20 and result["usage"]["output_tokens"] > 0
    assert model.models_called() == [PRIMARY]
    assert model.user_text() == QUESTION
    assert model.calls[0]["inferenceConfig"] == {"maxTokens": 16, "temperature": 0}


def test_given_variables_that_break_the_schema_when_submitted_then_400_and_no_model_call(
    gateway: Gateway, model: RecordingBedrock
) -> None:
    _capitals(gateway)

    wrong_type = gateway.request(
        "POST",
        "/jobs",
        {"pipeline": "llm-generate", "input": {"prompt": "capital", "variables": {"country": 7}}},
    )
    missing = gateway.request(
        "POST",
        "/jobs",
        {"pipeline": "llm-generate", "input": {"prompt": "capital", "variables": {}}},
    )
    unknown_prompt = gateway.request(
        "POST",
        "/jobs",
        {"pipeline": "llm-generate", "input": {"prompt": "nothing@2", "variables": {}}},
    )

    assert wrong_type.status == 400
    assert (
        "input.variables.country: 7 is not of type 'string'"
        in wrong_type.json()["error"]["message"]
    )
    assert (
        missing.status == 400
        and "'country' is a required property" in missing.json()["error"]["message"]
    )
    assert (
        unknown_prompt.status == 400
        and "prompt 'nothing' not found" in unknown_prompt.json()["error"]["message"]
    )
    assert model.calls == []


def test_given_the_first_model_throttled_then_it_is_retried_then_the_fallback_answers(
    gateway: Gateway, model: RecordingBedrock
) -> None:
    model.failures[PRIMARY] = "ThrottlingException"

    job_id = _submit(
        gateway,
        "llm-generate",
        {"messages": [{"role": "user", "content": QUESTION}]},
        **SHORT,
        fallback_models=[FALLBACK],
    )
    job = gateway.wait(job_id)

    assert job["status"] == "SUCCEEDED", job
    # Retry: 2 more attempts of the throttled model (full jitter), then the next model.
    assert model.models_called() == [PRIMARY, PRIMARY, PRIMARY, FALLBACK]
    assert job["result"]["model"] == FALLBACK
    assert job["result"]["fallback_used"] is True
    assert "Paris" in job["result"]["text"]
    # Only the call that answered is billed: the fallback model's tokens, at its price.
    tokens = job["result"]["usage"]
    assert _items(job["usage"]) == {
        ("bedrock-runtime", "Converse", f"{FALLBACK} input token"): tokens["input_tokens"],
        ("bedrock-runtime", "Converse", f"{FALLBACK} output token"): tokens["output_tokens"],
    }
    assert job["usage"]["ai_cost_usd"] == pytest.approx(
        tokens["input_tokens"] * 0.00000006 + tokens["output_tokens"] * 0.00000024
    )


def test_given_every_model_unavailable_when_a_job_runs_then_it_fails_retryable_after_trying_each(
    gateway: Gateway, model: RecordingBedrock
) -> None:
    model.failures.update({PRIMARY: "ThrottlingException", FALLBACK: "ServiceUnavailableException"})

    job = gateway.wait(
        _submit(
            gateway,
            "llm-generate",
            {"messages": [{"role": "user", "content": "Hello"}]},
            **SHORT,
            fallback_models=[FALLBACK],
        )
    )

    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "ServiceUnavailable"
    assert job["error"]["retryable"] is True
    assert "BedrockRuntime.ServiceUnavailableException" in job["error"]["message"]
    assert model.models_called() == [PRIMARY] * 3 + [FALLBACK] * 3


def test_given_a_prompt_too_long_for_the_model_then_a_validation_error_tried_once(
    gateway: Gateway, model: RecordingBedrock
) -> None:
    long_text = "The quick brown fox jumps over the lazy dog. " * 800  # ~8,800 tokens

    job = gateway.wait(
        _submit(
            gateway,
            "llm-generate",
            {"messages": [{"role": "user", "content": long_text}]},
            **SHORT,
            fallback_models=[FALLBACK],
        )
    )

    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "InvalidInput"
    assert job["error"]["retryable"] is False
    assert "BedrockRuntime.ValidationException" in job["error"]["message"]
    assert "Input is too long for requested model." in job["error"]["message"]
    assert model.models_called() == [PRIMARY]  # neither retried nor fallen back


def test_given_redact_pii_when_a_job_runs_then_the_model_never_sees_the_pii(
    gateway: Gateway, model: RecordingBedrock
) -> None:
    job = gateway.wait(
        _submit(
            gateway,
            "llm-generate",
            {
                "system": "You write short replies. Escalations go to ops@example.com.",
                "messages": [
                    {"role": "user", "content": "Reply to jane.doe@example.org: her order shipped."}
                ],
            },
            **SHORT,
            redact_pii=True,
        )
    )

    assert job["status"] == "SUCCEEDED", job
    sent = model.calls[0]
    assert sent["messages"][0]["content"][0]["text"] == "Reply to [EMAIL]: her order shipped."
    assert sent["system"][0]["text"] == "You write short replies. Escalations go to [EMAIL]."
    assert "example" not in str(sent)
    assert job["result"]["pii_masked"] == 2
    assert gateway.fakes.calls["DetectPiiEntities"] >= 2
    items = _items(job["usage"])
    # One DetectPiiEntities call per block (59 and 49 characters: 3-unit minimum each).
    assert items[("comprehend", "DetectPiiEntities", "100-character unit")] == 6
    assert (
        items[("bedrock-runtime", "Converse", f"{PRIMARY} input token")]
        == (job["result"]["usage"]["input_tokens"])
    )


# ---------------------------------------------------------------------------- document-summary


def test_given_a_document_when_summarised_then_its_text_goes_to_the_model_after_the_instructions(
    gateway: Gateway, model: RecordingBedrock
) -> None:
    job = gateway.wait(
        _submit(
            gateway,
            "document-summary",
            {"document_base64": "JVBERi0xLjQK"},
            **{**SHORT, "max_tokens": 24},
        )
    )

    assert job["status"] == "SUCCEEDED", job
    result = job["result"]
    assert_documented_shape(result, "DocumentSummaryResult")
    assert result["document"]["pages"] >= 1 and result["document"]["url"].startswith("http")
    summary = result["summary"]
    assert summary["text"] and summary["model"] == PRIMARY
    assert summary["usage"]["input_tokens"] > 20
    sent = model.calls[-1]
    assert "INVOICE 2041" in model.user_text() and "billing@example.com" in model.user_text()
    items = _items(job["usage"])
    assert items[("textract", "StartDocumentTextDetection", "page")] == result["document"]["pages"]
    assert (
        items[("bedrock-runtime", "Converse", f"{PRIMARY} output token")]
        == (summary["usage"]["output_tokens"])
    )
    assert sent["system"][0]["text"].startswith("Summarise the document")


def test_given_a_document_without_text_when_summarised_then_it_fails_as_an_invalid_document(
    gateway: Gateway, model: RecordingBedrock
) -> None:
    saved = gateway.fakes.document_lines
    gateway.fakes.document_lines = []
    try:
        job = gateway.wait(
            _submit(gateway, "document-summary", {"document_base64": "JVBERi0xLjQK"})
        )
    finally:
        gateway.fakes.document_lines = saved

    assert job["status"] == "FAILED"
    assert job["error"]["code"] == "InvalidDocument"
    assert model.calls == []


def test_given_the_sample_mask_event_when_invoked_then_its_email_is_masked_and_the_findings_dropped(
    gateway: Gateway,
) -> None:
    event = json.loads((ROOT / "events" / "llm_pii.json").read_text())
    runtime = gateway.runtime

    answer = runtime.bridge.invoke(runtime.physical_id("LlmPiiFunction"), event)

    assert answer.function_error is None, answer.json()
    state = answer.json()
    assert "pii" not in state
    masked = state["input"]["messages"][0]["Content"][0]["Text"]
    assert masked == "Write to [EMAIL] that her order shipped."
    assert state["input"]["system"] == event["input"]["system"]
    assert state["input"]["pii_masked"] == 1
    assert state["input"]["pii_blocks"] == [34, 53]  # the characters Comprehend read


def test_given_the_same_definition_again_when_created_or_versioned_then_no_new_version(
    gateway: Gateway,
) -> None:
    _capitals(gateway)
    same = {k: CAPITALS[k] for k in ("template", "variables")}

    created_again = _create(gateway, CAPITALS)
    put_again = gateway.request("PUT", "/prompts/capital", same)

    assert created_again.status == 200 and created_again.json()["version"] == 1
    assert put_again.status == 200 and put_again.json()["version"] == 1
    assert gateway.request("GET", "/prompts/capital").json()["latest_version"] == 1
