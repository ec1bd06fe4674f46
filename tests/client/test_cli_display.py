"""How `aigw` shows results to people: one summary per pipeline's result shape."""

from __future__ import annotations

import io

from aigw.client import JobUpdate
from aigw.client.display import Progress, money, summary, usage_summary


def test_given_an_image_result_when_summarised_then_labels_have_their_confidence() -> None:
    result = {
        "labels": [{"name": "Cat", "confidence": 97.25}, {"name": "Sofa", "confidence": 81.0}],
        "text": [{"text": "EXIT", "confidence": 99.0}],
        "faces": [
            {"confidence": 99.9, "box": {"left": 0.1, "top": 0.2, "width": 0.3, "height": 0.4}}
        ],
        "moderation": [],
    }

    lines = summary("image-insights", result).splitlines()

    assert lines[:4] == ["Labels:", "  NAME  CONFIDENCE", "  Cat   97.2%", "  Sofa  81.0%"]
    assert "Faces: 1" in lines
    assert "  99.9% at left 0.10, top 0.20, 0.30 x 0.40" in lines
    assert lines[-1] == "Moderation: none"


def test_given_a_prediction_when_summarised_then_labels_are_ranked_by_score() -> None:
    result = {
        "model": "churn",
        "prediction": {"label": "churn", "score": 0.8, "scores": {"stay": 0.2, "churn": 0.8}},
    }

    text = summary("predict", result)

    assert "Prediction: churn (0.80)" in text
    assert text.splitlines()[-2:] == ["churn  0.80", "stay   0.20"]


def test_given_a_blank_document_when_summarised_then_it_says_no_text_was_found() -> None:
    result = {
        "document": {"bucket": "b", "key": "k", "pages": 2, "characters": 0, "truncated": False},
        "insights": None,
    }

    assert summary("document-insights", result).splitlines() == [
        "Document:  2 pages, 0 characters",
        "Extraction: s3://b/k",
        "No text found.",
    ]


def test_given_no_terminal_when_a_job_progresses_then_each_change_is_one_plain_line() -> None:
    stream = io.StringIO()

    with Progress("01J", stream, live=False) as progress:
        progress(JobUpdate("01J", "RUNNING", "textract", 40))
        progress(JobUpdate("01J", "SUCCEEDED", "done", 100))

    lines = stream.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "job 01J: RUNNING, step textract, 40%",
        "job 01J: SUCCEEDED",
    ]


def test_given_a_jobs_usage_when_summarised_then_its_cost_and_calls_in_one_line() -> None:
    usage = {
        "items": [
            {"operation": "TranslateText", "unit": "character", "quantity": 46},
            {"operation": "DetectSentiment", "unit": "100-character unit", "quantity": 3},
        ],
        "ai_cost_usd": 0.00099,
        "cached": False,
        "basis": "measured",
    }

    line = usage_summary(usage)

    assert line == (
        "$0.00099: TranslateText 46 x character, DetectSentiment 3 x 100-character unit"
    )
    assert usage_summary({**usage, "basis": "estimate"}).startswith("$0.00099 (estimate): ")
    assert usage_summary({"items": [], "ai_cost_usd": 0, "cached": True}).startswith("$0 ")


def test_given_amounts_of_money_then_sub_cent_costs_keep_their_digits() -> None:
    assert [money(v) for v in (0, 0.0065, 0.1, 12.4, 1234.5)] == [
        "$0",
        "$0.0065",
        "$0.10",
        "$12.40",
        "$1,234.50",
    ]
