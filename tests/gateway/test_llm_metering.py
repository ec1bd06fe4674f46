"""Metering of the LLM pipelines: Bedrock tokens per model, priced from the price table; the
estimate a job reserves is never below what a run measures (aigw_common.metering)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

from aigw_common.llm import ModelCatalogue, prepare_generate
from aigw_common.metering import ObjectFacts, bedrock_unit, estimate, measure
from aigw_common.pricing import price_table

PRICES = price_table("us-east-1")
MODELS = ModelCatalogue(
    models=["amazon.nova-micro-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"],
    default="amazon.nova-micro-v1:0",
)


def _template_default(name: str) -> list[str]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(Path(ROOT / "template.yaml").read_text(), Loader=Loader)
    return [value for value in template["Parameters"][name]["Default"].split(",") if value]


def _items(usage: Any) -> dict[tuple[str, str, str], Any]:
    return {(i.service, i.operation, i.unit): i.quantity for i in usage.items}


def test_given_the_templates_default_models_then_each_has_input_and_output_prices() -> None:
    for model in _template_default("BedrockModels"):
        for kind in ("input", "output"):
            PRICES.price("bedrock-runtime", "Converse", bedrock_unit(model, kind))


def test_given_an_inference_profile_then_it_is_priced_as_its_model() -> None:
    assert (
        bedrock_unit("us.amazon.nova-micro-v1:0", "input") == "amazon.nova-micro-v1:0 input token"
    )
    assert bedrock_unit("global.anthropic.claude-3-haiku-20240307-v1:0", "output") == (
        "anthropic.claude-3-haiku-20240307-v1:0 output token"
    )


def test_given_a_generation_then_its_tokens_are_billed_at_the_answering_models_prices() -> None:
    raw = {
        "model": "amazon.nova-micro-v1:0",
        "content": [{"Text": "Paris."}],
        "stop_reason": "end_turn",
        "usage": {"InputTokens": 1000, "OutputTokens": 500, "TotalTokens": 1500},
        "pii_blocks": [120, 40],
    }

    usage = measure("llm-generate", {}, {}, raw, PRICES)

    assert _items(usage) == {
        ("bedrock-runtime", "Converse", "amazon.nova-micro-v1:0 input token"): 1000,
        ("bedrock-runtime", "Converse", "amazon.nova-micro-v1:0 output token"): 500,
        ("comprehend", "DetectPiiEntities", "100-character unit"): 3 + 3,
    }
    # $0.000035 per 1,000 input tokens, $0.00014 per 1,000 output, $0.0001 a Comprehend unit.
    assert usage.ai_cost_usd == Decimal("0.000035") + Decimal("0.00007") + Decimal("0.0006")


def test_given_fallbacks_then_the_estimate_covers_the_dearest_model_and_max_tokens() -> None:
    prepared = prepare_generate(
        {"messages": [{"role": "user", "content": "x" * 2000}], "system": "Be brief."},
        {"max_tokens": 300, "redact_pii": True, "fallback_models": [MODELS.models[1]]},
        MODELS,
        lambda *_: pytest.fail("no prompt is read"),
    )
    worst = {
        "model": MODELS.models[1],
        "usage": {"InputTokens": 2000 + 9 + 100, "OutputTokens": 300},
        "pii_blocks": [9, 2000],
    }

    reserved = estimate("llm-generate", prepared, {}, PRICES)
    measured = measure("llm-generate", prepared, {}, worst, PRICES)

    assert reserved.ai_cost_usd >= measured.ai_cost_usd
    haiku_output = ("bedrock-runtime", "Converse", f"{MODELS.models[1]} output token")
    assert _items(reserved)[haiku_output] == 300


def test_given_a_document_summary_then_textract_pages_and_the_summary_tokens() -> None:
    prepared = {
        "bucket": "b",
        "key": "k",
        "llm": prepare_generate(
            {"messages": [{"role": "user", "content": "doc"}]},
            {"max_tokens": 200},
            MODELS,
            None,  # type: ignore[arg-type]
        ),
    }
    raw = {
        "document": {"pages": 2, "characters": 5000},
        "summary": {
            "model": "amazon.nova-micro-v1:0",
            "usage": {"InputTokens": 1300, "OutputTokens": 120},
        },
    }

    usage = measure("document-summary", prepared, {}, raw, PRICES)
    reserved = estimate("document-summary", prepared, {}, PRICES, ObjectFacts(size=60_000))

    assert _items(usage)[("textract", "StartDocumentTextDetection", "page")] == 2
    assert (
        _items(usage)[("bedrock-runtime", "Converse", "amazon.nova-micro-v1:0 input token")] == 1300
    )
    assert reserved.ai_cost_usd >= usage.ai_cost_usd
