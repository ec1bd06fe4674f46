"""The default offline Comprehend providers, called as callers call them: a boto3 client."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name

_spec = importlib.util.spec_from_file_location(
    "aws_shapes", Path(__file__).parents[1] / "gateway" / "aws_shapes.py"
)
assert _spec is not None and _spec.loader is not None
aws_shapes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aws_shapes)


def _call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    response = getattr(client, xform_name(operation))(**params)
    response.pop("ResponseMetadata")
    aws_shapes.assert_output_shape("comprehend", operation, response)
    return response


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("sentence", "language"),
    [
        ("The weather was lovely and we walked along the river all afternoon.", "en"),
        ("El servicio fue excelente y la comida estaba muy rica.", "es"),
        ("Le personnel était aimable et la chambre était très propre.", "fr"),
    ],
)
def test_given_a_sentence_when_detecting_language_then_its_language_comes_first(
    comprehend: Any, sentence: str, language: str
) -> None:
    response = _call(comprehend, "DetectDominantLanguage", Text=sentence)

    assert response["Languages"][0]["LanguageCode"] == language
    assert response["Languages"][0]["Score"] > 0.9
    assert len(response["Languages"]) <= 3


@pytest.mark.parametrize(
    ("text", "language"),
    [
        # langdetect alone answers Slovenian and Slovak for the first two.
        ("I love it", "en"),
        ("ok", "en"),
        ("The food was cold", "en"),
        # Short texts in other languages keep their language.
        ("Das ist gut", "de"),
        ("Muy bueno", "es"),
    ],
)
def test_given_a_short_text_when_detecting_language_then_common_english_is_english(
    comprehend: Any, text: str, language: str
) -> None:
    response = _call(comprehend, "DetectDominantLanguage", Text=text)

    assert response["Languages"][0]["LanguageCode"] == language
    assert sum(entry["Score"] for entry in response["Languages"]) <= 1.0001


def test_given_a_short_foreign_text_with_some_english_words_then_it_is_not_made_english(
    comprehend: Any,
) -> None:
    # "no" and "me" are English words too; two of three is not enough.
    response = _call(comprehend, "DetectDominantLanguage", Text="No me gusta")

    assert response["Languages"][0]["LanguageCode"] != "en"


def test_given_blank_text_when_detecting_language_then_invalid_request(comprehend: Any) -> None:
    with pytest.raises(comprehend.exceptions.InvalidRequestException):
        comprehend.detect_dominant_language(Text="   ")


# --------------------------------------------------------------------------- sentiment


@pytest.mark.parametrize(
    ("review", "sentiment"),
    [
        (
            "The hotel was dirty, the staff were rude and the food was awful. Never again.",
            "NEGATIVE",
        ),
        (
            "A wonderful stay! The staff were lovely and the room was spotless. Recommended.",
            "POSITIVE",
        ),
        ("The food was good but the service was terrible.", "MIXED"),
    ],
)
def test_given_a_review_when_detecting_sentiment_then_it_has_the_obvious_label(
    comprehend: Any, review: str, sentiment: str
) -> None:
    response = _call(comprehend, "DetectSentiment", Text=review, LanguageCode="en")

    scores = response["SentimentScore"]
    assert response["Sentiment"] == sentiment
    assert max(scores, key=scores.get) == sentiment.capitalize()
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-3)


def test_given_german_text_when_detecting_sentiment_then_the_modeled_error_says_why(
    comprehend: Any,
) -> None:
    with pytest.raises(comprehend.exceptions.UnsupportedLanguageException) as raised:
        comprehend.detect_sentiment(Text="Das Hotel war schmutzig.", LanguageCode="de")

    assert "only knows English" in raised.value.response["Error"]["Message"]


def test_given_text_over_5000_bytes_when_detecting_sentiment_then_size_limit_error(
    comprehend: Any,
) -> None:
    with pytest.raises(comprehend.exceptions.TextSizeLimitExceededException):
        comprehend.detect_sentiment(Text="é" * 2501, LanguageCode="en")


# --------------------------------------------------------------------------- PII

PII_TEXT = (
    "Write to jane.doe@example.com or pay with card 4111 1111 1111 1111 "
    "(not 4111 1111 1111 1112) into IBAN GB82 WEST 1234 5698 7654 32 EUR. "
    "The server is 192.168.10.254, not 999.1.1.1; her SSN is 123-45-6789, not 666-12-3456."
)


def test_given_text_with_pii_when_detecting_then_each_value_is_found_at_its_offsets(
    comprehend: Any,
) -> None:
    response = _call(comprehend, "DetectPiiEntities", Text=PII_TEXT, LanguageCode="en")

    found = [(e["Type"], PII_TEXT[e["BeginOffset"] : e["EndOffset"]]) for e in response["Entities"]]
    assert found == [
        ("EMAIL", "jane.doe@example.com"),
        ("CREDIT_DEBIT_NUMBER", "4111 1111 1111 1111"),
        ("INTERNATIONAL_BANK_ACCOUNT_NUMBER", "GB82 WEST 1234 5698 7654 32"),
        ("IP_ADDRESS", "192.168.10.254"),
        ("SSN", "123-45-6789"),
    ]


def test_given_a_phone_and_a_url_when_detecting_pii_in_spanish_then_both_are_found(
    comprehend: Any,
) -> None:
    sentence = "Llámame al +34 912 345 678 o visita https://example.es/contacto."

    response = _call(comprehend, "DetectPiiEntities", Text=sentence, LanguageCode="es")

    found = [(e["Type"], sentence[e["BeginOffset"] : e["EndOffset"]]) for e in response["Entities"]]
    assert found == [("PHONE", "+34 912 345 678"), ("URL", "https://example.es/contacto")]


# --------------------------------------------------------------------------- key phrases


def test_given_a_paragraph_when_detecting_key_phrases_then_the_main_phrase_is_found(
    comprehend: Any,
) -> None:
    paragraph = (
        "Customers praised the solar panel installation. The solar panel installation was "
        "finished in two days, and the electricity bill of the office dropped by a third."
    )

    response = _call(comprehend, "DetectKeyPhrases", Text=paragraph, LanguageCode="en")

    phrases = response["KeyPhrases"]
    assert all(paragraph[p["BeginOffset"] : p["EndOffset"]] == p["Text"] for p in phrases)
    assert all(0 <= p["Score"] <= 1 for p in phrases)
    best = [p for p in phrases if p["Score"] == 1.0]
    assert [(p["Text"], p["BeginOffset"]) for p in best] == [
        ("solar panel installation", 22),
        ("solar panel installation", 52),
    ]
    assert "electricity bill" in {p["Text"] for p in phrases}


def test_given_french_text_when_detecting_key_phrases_then_unsupported_language(
    comprehend: Any,
) -> None:
    with pytest.raises(comprehend.exceptions.UnsupportedLanguageException):
        comprehend.detect_key_phrases(Text="La chambre était propre.", LanguageCode="fr")


# --------------------------------------------------------------------------- entities

RULE_TYPES = {"DATE", "QUANTITY"}


def test_given_a_date_and_amounts_when_detecting_entities_then_they_are_found(
    comprehend: Any,
) -> None:
    sentence = "Invoice 2041 dated 12 March 2024: total due 1,234.00 EUR, a 5% discount on $45."

    response = _call(comprehend, "DetectEntities", Text=sentence, LanguageCode="en")

    # With spaCy (aigw[models]) other types may come too: "Invoice 2041" as an ORGANIZATION.
    found = [(e["Type"], e["Text"]) for e in response["Entities"] if e["Type"] in RULE_TYPES]
    assert found == [
        ("DATE", "12 March 2024"),
        ("QUANTITY", "1,234.00 EUR"),
        ("QUANTITY", "5%"),
        ("QUANTITY", "$45"),
    ]
    assert all(
        sentence[e["BeginOffset"] : e["EndOffset"]] == e["Text"] for e in response["Entities"]
    )


def test_given_an_impossible_date_when_detecting_entities_then_nothing_is_invented(
    comprehend: Any,
) -> None:
    response = _call(
        comprehend, "DetectEntities", Text="It was 31 February 2024 in Paris.", LanguageCode="en"
    )

    # spaCy (aigw[models]) finds Paris; the impossible date is reported by neither.
    assert [e for e in response["Entities"] if e["Type"] in RULE_TYPES] == []
