"""The LLM pipelines' requests and results (SPEC §7), as pure functions.

``prepare_generate`` turns an ``llm-generate`` input (a prompt template reference with its
variables, or messages) and its options into the execution input the state machine sends to
Bedrock's Converse API: ``messages`` and ``system`` in Converse's shape (Step Functions'
aws-sdk integrations take PascalCase member names), the models to try in order, the
inference configuration, and whether PII is masked first. ``normalize_generation`` turns the
state machine's output into the documented result.

Sizes are bounded so that everything fits Step Functions' 256 KB state payload: at most
``MAX_PROMPT_BYTES`` of prompt text, at most ``MAX_OUTPUT_TOKENS`` tokens of answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aigw_common.errors import InvalidInput, PayloadTooLarge
from aigw_common.prompts import PromptVersion, check_models, parse_reference, render

#: Text sent to the model (system and messages, UTF-8): with the answer and the state
#: machine's own fields this stays well inside the 256 KB state payload.
MAX_PROMPT_BYTES = 100_000
MAX_OUTPUT_TOKENS = 4096
DEFAULT_MAX_TOKENS = 512
MAX_FALLBACK_MODELS = 3
#: Comprehend's DetectPiiEntities languages.
PII_LANGUAGES = ("en", "es")
DEFAULT_SUMMARY_INSTRUCTIONS = (
    "Summarise the document the user sends in a few sentences: what it is, who it concerns "
    "and its key facts and figures. Answer with the summary only."
)

PromptReader = Callable[[str, int | None], PromptVersion]


@dataclass(frozen=True)
class ModelCatalogue:
    """The Bedrock models the gateway may call (template parameters) and the default one."""

    models: list[str]
    default: str

    @classmethod
    def from_setting(cls, models: str, default: str) -> ModelCatalogue:
        names = [model.strip() for model in models.split(",") if model.strip()]
        return cls(models=names, default=default)


def model_settings(
    options: dict[str, Any], catalogue: ModelCatalogue, prompt: PromptVersion | None = None
) -> dict[str, Any]:
    """The models to try, the inference configuration and the redaction of a generation."""
    parameters = prompt.definition.parameters if prompt is not None else {}
    primary = options.get("model") or (prompt.definition.model if prompt else None)
    primary = primary or catalogue.default
    check_models([primary], catalogue.models, "options.model")
    fallbacks = list(options.get("fallback_models") or [])
    if len(fallbacks) > MAX_FALLBACK_MODELS:
        raise InvalidInput(f"options.fallback_models: at most {MAX_FALLBACK_MODELS} models")
    check_models(fallbacks, catalogue.models, "options.fallback_models")
    if primary in fallbacks or len(set(fallbacks)) != len(fallbacks):
        raise InvalidInput("options.fallback_models: each model at most once, not the model itself")

    def setting(name: str) -> Any:
        return options[name] if options.get(name) is not None else parameters.get(name)

    max_tokens = setting("max_tokens") or DEFAULT_MAX_TOKENS
    if not 1 <= max_tokens <= MAX_OUTPUT_TOKENS:
        raise InvalidInput(f"max_tokens: from 1 to {MAX_OUTPUT_TOKENS}")
    inference: dict[str, Any] = {"MaxTokens": max_tokens}
    for name, member in (("temperature", "Temperature"), ("top_p", "TopP")):
        if setting(name) is not None:
            inference[member] = setting(name)
    if setting("stop_sequences"):
        inference["StopSequences"] = list(setting("stop_sequences"))
    language = options.get("language") or "en"
    if options.get("redact_pii") and language not in PII_LANGUAGES:
        raise InvalidInput(
            f"options.language: PII can be masked in {' or '.join(PII_LANGUAGES)} text only"
        )
    return {
        "models": [primary, *fallbacks],
        "inference": inference,
        "redact_pii": bool(options.get("redact_pii")),
        "language": language,
        # Filled by the MaskPii step, when it runs: entities masked, characters read.
        "pii_masked": 0,
        "pii_blocks": [],
    }


def prepare_generate(
    pipeline_input: dict[str, Any],
    options: dict[str, Any],
    catalogue: ModelCatalogue,
    read_prompt: PromptReader,
) -> dict[str, Any]:
    """An llm-generate input (after its schema) as the state machine's execution input."""
    prompt: PromptVersion | None = None
    if "prompt" in pipeline_input:
        name, version = parse_reference(pipeline_input["prompt"])
        prompt = read_prompt(name, version)
        rendered = render(prompt, pipeline_input.get("variables"))
        system = [rendered.system] if rendered.system else []
        turns = [{"role": "user", "content": rendered.user}]
    else:
        system = [pipeline_input["system"]] if pipeline_input.get("system") else []
        turns = pipeline_input["messages"]
    _check_conversation(turns)
    size = sum(len(text.encode("utf-8")) for text in [*system, *(t["content"] for t in turns)])
    if size > MAX_PROMPT_BYTES:
        raise PayloadTooLarge(
            f"the prompt is {size} bytes of UTF-8; at most {MAX_PROMPT_BYTES} are accepted"
        )
    return {
        "messages": [
            {"Role": turn["role"], "Content": [{"Text": turn["content"]}]} for turn in turns
        ],
        "system": [{"Text": text} for text in system],
        **model_settings(options, catalogue, prompt),
        "prompt": {"name": prompt.name, "version": prompt.version} if prompt else None,
    }


def _check_conversation(turns: list[dict[str, Any]]) -> None:
    # Bedrock's own rules for Converse, checked before a job exists rather than after.
    if not turns or turns[0]["role"] != "user":
        raise InvalidInput("input.messages: the conversation must start with a user message")
    for index in range(1, len(turns)):
        if turns[index]["role"] == turns[index - 1]["role"]:
            raise InvalidInput(
                f"input.messages.{index}: roles must alternate between user and assistant"
            )
    for index, turn in enumerate(turns):
        if not turn["content"].strip():
            raise InvalidInput(f"input.messages.{index}.content: empty")


def prepare_summary(options: dict[str, Any], catalogue: ModelCatalogue) -> dict[str, Any]:
    """document-summary's model request, less the document text (added by its workflow)."""
    instructions = options.get("instructions") or DEFAULT_SUMMARY_INSTRUCTIONS
    return {"system": [{"Text": instructions}], **model_settings(options, catalogue)}


def normalize_generation(raw: dict[str, Any], prepared: dict[str, Any]) -> dict[str, Any]:
    """The documented result from llm-generate's output: the model's text, which model
    answered (after how many fell through), why it stopped and the tokens it counted."""
    usage = raw.get("usage") or {}
    result: dict[str, Any] = {
        "text": "".join(block.get("Text", "") for block in raw.get("content") or []),
        "model": raw["model"],
        "stop_reason": raw["stop_reason"],
        "usage": {
            "input_tokens": int(usage.get("InputTokens", 0)),
            "output_tokens": int(usage.get("OutputTokens", 0)),
        },
        "fallback_used": raw["model"] != prepared["models"][0],
    }
    if prepared.get("prompt"):
        result["prompt"] = prepared["prompt"]
    if prepared.get("redact_pii"):
        result["pii_masked"] = int(raw.get("pii_masked", 0))
    return result
