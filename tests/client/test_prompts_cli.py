"""Prompt templates and the LLM pipelines from the `aigw` command and the SDK, against a
running `aigw local` whose Bedrock is the real local model (aigw[llm]): what a user sees."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from client_helpers import Gateway

from aigw.cli import EXIT_API_ERROR, EXIT_USAGE
from aigw.client import AsyncClient, Client, ConflictError, NotFoundError

QUESTION = "What is the capital of {{country}}? Answer in one sentence."


def test_given_the_cli_when_a_prompt_is_created_versioned_run_and_deleted_then_each_step_shows(
    gateway: Gateway,
) -> None:
    created = gateway.cli("prompts", "create", "capital", "-t", QUESTION, "-O", "max_tokens=24")
    updated = gateway.cli(
        "prompts", "update", "capital", "-t", "Name the capital of {{country}}.", "--json"
    )
    listed = gateway.cli("prompts", "list")
    shown = gateway.cli("prompts", "show", "capital@1")
    ran = gateway.cli(
        "run",
        "llm-generate",
        "--prompt",
        "capital@1",
        "-V",
        "country=France",
        "-O",
        "temperature=0",
    )
    deleted = gateway.cli("prompts", "delete", "capital")
    gone = gateway.cli("prompts", "show", "capital")

    assert (created.returncode, created.stdout.strip()) == (0, "capital@1"), created.stderr
    assert json.loads(updated.stdout)["version"] == 2
    assert listed.stdout.splitlines()[0].split() == ["PROMPT", "LATEST", "UPDATED"]
    assert listed.stdout.splitlines()[1].split()[:2] == ["capital", "2"]
    assert "Prompt:    capital@1 (latest 2)" in shown.stdout
    assert "Variables: country" in shown.stdout and "  " + QUESTION in shown.stdout
    assert "Defaults:  max_tokens=24" in shown.stdout
    assert ran.returncode == 0, ran.stderr
    assert "Paris" in ran.stdout.splitlines()[0]
    assert "Model:  amazon.nova-micro-v1:0" in ran.stdout
    assert "Prompt: capital@1" in ran.stdout
    assert "Tokens: " in ran.stdout and " out" in ran.stdout
    assert deleted.stdout.strip() == "deleted capital"
    assert gone.returncode == EXIT_API_ERROR and "NotFound" in gone.stderr


def test_given_a_variable_without_a_prompt_when_run_then_a_usage_error(gateway: Gateway) -> None:
    ran = gateway.cli("run", "llm-generate", "Hello", "-V", "country=France")

    assert ran.returncode == EXIT_USAGE
    assert "--prompt and --var are for llm-generate" in ran.stderr


def test_given_a_message_when_submitted_and_waited_then_the_job_has_the_answer_and_its_tokens(
    gateway: Gateway,
) -> None:
    ran = gateway.cli(
        "submit",
        "llm-generate",
        "What is the capital of France? Answer in one sentence.",
        "-O",
        "max_tokens=16",
        "-O",
        "temperature=0",
        "--wait",
        "--json",
    )

    assert ran.returncode == 0, ran.stderr
    job = json.loads(ran.stdout)
    assert "Paris" in job["result"]["text"]
    tokens = {item["unit"]: item["quantity"] for item in job["usage"]["items"]}
    assert tokens["amazon.nova-micro-v1:0 input token"] == job["result"]["usage"]["input_tokens"]
    assert tokens["amazon.nova-micro-v1:0 output token"] == job["result"]["usage"]["output_tokens"]


def test_given_a_pdf_when_summarised_then_the_real_model_summarises_its_text(
    gateway: Gateway, invoice: Path
) -> None:
    ran = gateway.cli("run", "document-summary", str(invoice), "-O", "max_tokens=48", timeout=180)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("Document: 1 page, ")
    summary = ran.stdout.split("\n\n")[1]
    assert summary.strip()
    assert "Model:  amazon.nova-micro-v1:0" in ran.stdout


def test_given_the_sdk_when_prompts_are_managed_then_versions_stay_and_conflicts_are_typed(
    gateway: Gateway,
) -> None:
    variables = {"type": "object", "properties": {"topic": {"type": "string"}}}
    with Client(gateway.url, gateway.api_key) as client:
        first = client.create_prompt("haiku", "A haiku about {{topic}}.", variables)
        again = client.create_prompt("haiku", "A haiku about {{topic}}.", variables)
        with pytest.raises(ConflictError):
            client.create_prompt("haiku", "A limerick about {{topic}}.", variables)
        second = client.add_prompt_version(
            "haiku", "A limerick about {{topic}}.", variables, parameters={"max_tokens": 40}
        )
        one = client.prompt("haiku", version=1)
        names = [prompt.name for prompt in client.prompts(page_size=1)]
        client.delete_prompt("haiku")
        with pytest.raises(NotFoundError):
            client.prompt("haiku")

    assert (first.version, again.version, second.version) == (1, 1, 2)
    assert one.template == "A haiku about {{topic}}." and one.latest_version == 2
    assert second.parameters == {"max_tokens": 40}
    assert "haiku" in names


def test_given_the_async_sdk_when_a_prompt_is_run_then_the_model_answers(gateway: Gateway) -> None:
    async def scenario() -> tuple[str, int]:
        async with AsyncClient(gateway.url, gateway.api_key) as client:
            await client.create_prompt(
                "greeting",
                "Say hello to {{name}} in one short sentence.",
                {"type": "object", "properties": {"name": {"type": "string"}}},
            )
            answer = await client.run(
                "llm-generate",
                {"prompt": "greeting", "variables": {"name": "Ada"}},
                {"max_tokens": 16, "temperature": 0},
            )
            found = [prompt async for prompt in client.prompts()]
            await client.delete_prompt("greeting")
            return answer.result["text"], len(found)

    text, prompts = asyncio.run(scenario())

    assert text.strip()
    assert prompts >= 1
