"""Metering: every AI call a job makes is counted in its service's billing unit and priced
from the dated price table; an operation without a price fails here, never costs $0.

The gateway tests run each pipeline on the offline runtime with the AI fakes and compare
the job's usage with the calls worked out by hand from the price table's lines."""

from __future__ import annotations

import base64
import datetime
import json
import re
from decimal import Decimal
from typing import Any

import botocore.session
import pytest
from conftest import ROOT, Gateway, assert_documented_shape, png

from aigw.local.services.providers import ProviderRegistry
from aigw_common import metering
from aigw_common.metering import ObjectFacts, Usage, estimate, measure
from aigw_common.pricing import TABLES, MissingPrice, PriceTable, price_table, regions

PRICES = price_table("us-east-1")
COMPREHEND = "100-character unit"
PNG = png()


def _items(usage: dict[str, Any]) -> dict[tuple[str, str, str], float]:
    return {(i["service"], i["operation"], i["unit"]): i["quantity"] for i in usage["items"]}


def _check_costs(usage: dict[str, Any]) -> None:
    """Each item's cost is quantity x unit price, and the job's cost their sum."""
    for item in usage["items"]:
        assert item["cost_usd"] == pytest.approx(item["quantity"] * item["unit_price_usd"])
    assert usage["ai_cost_usd"] == pytest.approx(sum(i["cost_usd"] for i in usage["items"]))


# ---------------------------------------------------------------------------- the price table


def test_given_every_price_table_then_each_line_is_dated_sourced_and_exact() -> None:
    assert "us-east-1" in regions()
    for region in regions():
        raw = json.loads((TABLES / f"{region}.json").read_text())
        assert raw["region"] == region
        datetime.date.fromisoformat(raw["as_of"])
        for line in raw["prices"]:
            assert re.fullmatch(r"https://aws\.amazon\.com/[a-z-]+/pricing/", line["source"]), line
            assert line["listed"], line
            assert Decimal(line["usd"]) >= 0
            # Prices are strings so they stay exact decimals.
            assert isinstance(line["usd"], str)


def _asl_sdk_operations() -> set[tuple[str, str]]:
    """Every (boto3 service, operation) an ASL file calls through an aws-sdk task."""
    names = {
        name.replace("-", ""): name
        for name in botocore.session.get_session().get_available_services()
    }
    found: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            resource = node.get("Resource")
            if isinstance(resource, str) and resource.startswith("arn:aws:states:::aws-sdk:"):
                service, action = resource.removeprefix("arn:aws:states:::aws-sdk:").split(":")
                action = action.split(".")[0]
                # text-insights stores each chunk's answers in the gateway's bucket, and
                # express-job-runner starts its pipeline (sfn): the gateway's own costs, not
                # AI calls a job is billed for (bench/ prices those).
                if service not in ("s3", "sfn"):
                    found.add((names[service], action[:1].upper() + action[1:]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in (ROOT / "statemachines").glob("*.asl.json"):
        walk(json.loads(path.read_text()))
    return found


def _provider_operations() -> set[tuple[str, str]]:
    """Every AI operation the offline providers answer (what the pipelines' Lambda functions
    call too: Textract's Start* and Get*)."""
    from aigw.providers import install_default_providers

    registry = ProviderRegistry()
    install_default_providers(registry).close()
    return {
        (service, operation)
        for service, operation in registry.registered()
        if service != "apigatewaymanagementapi"  # WebSocket pushes: gateway plumbing
    }


def test_given_every_operation_a_pipeline_can_call_then_the_price_table_prices_it() -> None:
    called = _asl_sdk_operations() | _provider_operations()
    assert ("comprehend", "DetectSentiment") in called  # the walk found the ASL's calls
    assert ("textract", "StartDocumentAnalysis") in called  # and the functions' calls

    unpriced = sorted(called - PRICES.operations())

    assert not unpriced, f"add these to price_tables/us-east-1.json: {unpriced}"


def test_given_an_unpriced_operation_when_metered_then_it_is_an_error_not_zero() -> None:
    meter = metering.Meter(PRICES)

    with pytest.raises(MissingPrice, match="no price for comprehend DetectSyntax"):
        meter.comprehend("DetectSyntax", "some text")


def test_given_a_region_without_a_table_then_loading_it_names_the_file_to_add() -> None:
    with pytest.raises(MissingPrice, match=r"eu-west-3\.json.*PricesRegion"):
        price_table("eu-west-3")


def test_given_the_text_pipeline_then_pii_is_metered_for_the_languages_its_asl_sends() -> None:
    asl = json.loads((ROOT / "statemachines" / "text-insights.asl.json").read_text())
    branches = asl["States"]["Analyse"]["ItemProcessor"]["States"]["AnalyseChunk"]["Branches"]
    choice = next(b for b in branches if b["StartAt"] == "PiiSupported")["States"]["PiiSupported"]
    languages = {rule["StringEquals"] for rule in choice["Choices"][0]["Or"]}

    assert languages == metering.PII_LANGUAGES


# ---------------------------------------------------------------------------- units


def test_given_short_and_long_texts_then_comprehend_units_have_a_three_unit_minimum() -> None:
    assert metering.comprehend_units("hi") == 3
    assert metering.comprehend_units("x" * 300) == 3
    assert metering.comprehend_units("x" * 301) == 4
    assert metering.comprehend_units("é" * 1_234) == 13  # characters, not UTF-8 bytes


def test_given_many_small_prices_then_the_cost_adds_up_exactly() -> None:
    meter = metering.Meter(PRICES)
    for _ in range(7):
        meter.add("translate", "TranslateText", "character", 1)

    usage = meter.usage()

    assert usage.ai_cost_usd == Decimal("0.000105")  # 7 x $0.000015, no float drift
    assert Usage.from_record(usage.record()) == usage


def test_given_a_document_of_unknown_length_then_the_estimate_assumes_pages_by_size() -> None:
    prepared = {"bucket": "b", "key": "k"}
    pdf = ObjectFacts(size=60_000, content_type="application/pdf")
    png = ObjectFacts(size=2_000_000, content_type="image/png")

    pdf_usage = estimate("document-insights", prepared, {}, PRICES, pdf)
    png_usage = estimate("document-insights", prepared, {"features": ["TABLES"]}, PRICES, png)

    pages = {(i.operation, i.unit): i.quantity for i in pdf_usage.items if i.service == "textract"}
    assert pages == {("StartDocumentTextDetection", "page"): 3}  # 60 kB at 25 kB a page
    tables = [(i.unit, i.quantity) for i in png_usage.items if i.service == "textract"]
    assert tables == [("TABLES page", 1)]  # a PNG is one page


def test_given_a_text_then_its_estimate_is_never_below_what_a_run_measures() -> None:
    prepared = {
        "chunks": [{"text": "x" * 4_000, "offset": 0}, {"text": "y" * 250, "offset": 4_000}],
        "language": None,
        "target_language": "es",
    }
    raw = {
        "analysed_language": "es",
        "translation": {"chunks": [{"text": "z" * 4_400}, {"text": "w" * 260}]},
    }

    measured = measure("text-insights", prepared, {}, raw, PRICES)
    estimated = estimate("text-insights", prepared, {}, PRICES)

    assert estimated.ai_cost_usd >= measured.ai_cost_usd
    assert estimated.basis == "estimate" and measured.basis == "measured"


# ---------------------------------------------------------------------------- on the gateway


def test_given_a_text_job_then_usage_counts_each_comprehend_call_in_100_character_units(
    gateway: Gateway,
) -> None:
    text = ("The support team answered quickly and fixed the invoice. " * 22)[:1_234]

    job = gateway.wait(gateway.submit("text-insights", {"text": text}))

    assert job["status"] == "SUCCEEDED", job
    # By hand: one chunk of 1,234 characters is 13 units; the language is detected (13
    # units), then sentiment, entities, key phrases and PII (English) 13 units each.
    assert _items(job["usage"]) == {
        ("comprehend", "DetectDominantLanguage", COMPREHEND): 13,
        ("comprehend", "DetectSentiment", COMPREHEND): 13,
        ("comprehend", "DetectEntities", COMPREHEND): 13,
        ("comprehend", "DetectKeyPhrases", COMPREHEND): 13,
        ("comprehend", "DetectPiiEntities", COMPREHEND): 13,
    }
    assert job["usage"]["ai_cost_usd"] == pytest.approx(65 * 0.0001)  # $0.0065
    assert job["usage"]["cached"] is False and job["usage"]["basis"] == "measured"
    _check_costs(job["usage"])
    assert_documented_shape(job["usage"], "Usage")


def test_given_a_translated_text_then_translate_characters_and_the_analysed_translation(
    gateway: Gateway,
) -> None:
    text = "The delivery was late but the driver was kind."  # 46 characters

    answer = gateway.request(
        "POST",
        "/jobs",
        {
            "pipeline": "text-insights",
            "input": {"text": text},
            "options": {"language": "en", "target_language": "es"},
        },
    )
    job = gateway.wait(answer.json()["job_id"])

    assert job["status"] == "SUCCEEDED", job
    # By hand: the language is given (no detection); 46 characters translated at
    # $0.000015; the fake's translation "[es] ..." (51 characters) is analysed: 3 units
    # (the minimum) for each of sentiment, entities, key phrases and PII (Spanish).
    assert _items(job["usage"]) == {
        ("translate", "TranslateText", "character"): 46,
        ("comprehend", "DetectSentiment", COMPREHEND): 3,
        ("comprehend", "DetectEntities", COMPREHEND): 3,
        ("comprehend", "DetectKeyPhrases", COMPREHEND): 3,
        ("comprehend", "DetectPiiEntities", COMPREHEND): 3,
    }
    assert job["usage"]["ai_cost_usd"] == pytest.approx(46 * 0.000015 + 12 * 0.0001)
    _check_costs(job["usage"])


def test_given_a_document_with_forms_and_tables_then_textract_pages_per_feature(
    gateway: Gateway,
) -> None:
    answer = gateway.request(
        "POST",
        "/jobs",
        {
            "pipeline": "document-insights",
            "input": {"document_base64": base64.b64encode(b"%PDF-1.4\n").decode()},
            "options": {"features": ["TABLES", "FORMS"]},
        },
    )
    job = gateway.wait(answer.json()["job_id"])

    assert job["status"] == "SUCCEEDED", job
    text = "\n".join(gateway.fakes.document_lines)
    assert len(text) < 300
    # By hand: one page analysed for FORMS ($0.05) and TABLES ($0.015); its text (under 300
    # characters) gets a language detection and the four analyses at 3 units each.
    assert _items(job["usage"]) == {
        ("textract", "StartDocumentAnalysis", "FORMS page"): 1,
        ("textract", "StartDocumentAnalysis", "TABLES page"): 1,
        ("comprehend", "DetectDominantLanguage", COMPREHEND): 3,
        ("comprehend", "DetectSentiment", COMPREHEND): 3,
        ("comprehend", "DetectEntities", COMPREHEND): 3,
        ("comprehend", "DetectKeyPhrases", COMPREHEND): 3,
        ("comprehend", "DetectPiiEntities", COMPREHEND): 3,
    }
    assert job["usage"]["ai_cost_usd"] == pytest.approx(0.05 + 0.015 + 15 * 0.0001)
    _check_costs(job["usage"])


def test_given_an_image_job_then_one_image_for_each_of_the_four_rekognition_calls(
    gateway: Gateway,
) -> None:
    job = gateway.wait(
        gateway.submit("image-insights", {"image_base64": base64.b64encode(PNG).decode()})
    )

    assert job["status"] == "SUCCEEDED", job
    assert _items(job["usage"]) == {
        ("rekognition", operation, "image"): 1
        for operation in ("DetectLabels", "DetectText", "DetectFaces", "DetectModerationLabels")
    }
    assert job["usage"]["ai_cost_usd"] == pytest.approx(4 * 0.001)


def test_given_a_prediction_job_then_one_sagemaker_request_priced_as_the_table_says(
    gateway: Gateway,
) -> None:
    features = {
        "tenure_months": 3,
        "monthly_charges": 89.5,
        "support_calls": 6,
        "plan": "basic",
        "paperless_billing": True,
    }

    job = gateway.wait(gateway.submit("predict", {"model": "churn", "features": features}))

    assert job["status"] == "SUCCEEDED", job
    assert _items(job["usage"]) == {("sagemaker-runtime", "InvokeEndpoint", "request"): 1}
    # A real-time endpoint is billed by the hour, not per request: the table says so.
    assert PRICES.price("sagemaker-runtime", "InvokeEndpoint", "request").usd == 0
    assert job["usage"]["ai_cost_usd"] == 0


def test_given_the_price_table_then_the_hand_computations_above_use_its_prices() -> None:
    table: PriceTable = PRICES
    assert table.price("comprehend", "DetectSentiment", COMPREHEND).usd == Decimal("0.0001")
    assert table.price("translate", "TranslateText", "character").usd == Decimal("0.000015")
    assert table.price("textract", "StartDocumentAnalysis", "FORMS page").usd == Decimal("0.05")
    assert table.price("textract", "StartDocumentAnalysis", "TABLES page").usd == Decimal("0.015")
    assert table.price("rekognition", "DetectLabels", "image").usd == Decimal("0.001")
