"""DetectEntities with spaCy's English NER (the ``aigw[models]`` extra), called through boto3."""

from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from aigw.providers import ner

_spec = importlib.util.spec_from_file_location(
    "aws_shapes", Path(__file__).parents[1] / "gateway" / "aws_shapes.py"
)
assert _spec is not None and _spec.loader is not None
aws_shapes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aws_shapes)

SENTENCE = "Angela Merkel met executives from Siemens in Berlin on 12 March 2024 and paid $45."


def _entities(client: Any, sentence: str, language: str = "en") -> list[dict[str, Any]]:
    response = client.detect_entities(Text=sentence, LanguageCode=language)
    response.pop("ResponseMetadata")
    aws_shapes.assert_output_shape("comprehend", "DetectEntities", response)
    entities: list[dict[str, Any]] = response["Entities"]
    assert all(sentence[e["BeginOffset"] : e["EndOffset"]] == e["Text"] for e in entities)
    assert all(0 < e["Score"] <= 1 for e in entities)
    return entities


def test_given_spacy_and_the_english_model_installed_when_asked_then_ner_is_available() -> None:
    assert ner.available()


def test_given_a_person_an_organisation_and_a_city_when_detecting_entities_then_typed_with_offsets(
    comprehend: Any,
) -> None:
    entities = _entities(comprehend, SENTENCE)

    named = [
        (e["Type"], e["Text"], e["BeginOffset"], e["EndOffset"])
        for e in entities
        if e["Type"] in {"PERSON", "ORGANIZATION", "LOCATION"}
    ]
    assert named == [
        ("PERSON", "Angela Merkel", 0, 13),
        ("ORGANIZATION", "Siemens", 34, 41),
        ("LOCATION", "Berlin", 45, 51),
    ]
    assert {e["Score"] for e in entities if e["Type"] == "PERSON"} == {ner.SCORE}


def test_given_a_date_and_an_amount_when_spacy_also_finds_them_then_the_rules_answer_stays(
    comprehend: Any,
) -> None:
    entities = _entities(comprehend, SENTENCE)

    ruled = [
        (e["Type"], e["Text"], e["Score"]) for e in entities if e["Type"] in {"DATE", "QUANTITY"}
    ]
    assert ruled == [("DATE", "12 March 2024", 0.95), ("QUANTITY", "$45", 0.95)]
    assert [e["BeginOffset"] for e in entities] == sorted(e["BeginOffset"] for e in entities)


def test_given_an_impossible_date_when_spacy_reads_a_date_then_only_the_city_is_found(
    comprehend: Any,
) -> None:
    entities = _entities(comprehend, "It was 31 February 2024 in Paris.")

    assert [(e["Type"], e["Text"], e["BeginOffset"]) for e in entities] == [
        ("LOCATION", "Paris", 27)
    ]


def test_given_spacy_reported_unavailable_when_detecting_entities_then_the_rules_answer(
    comprehend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ner, "available", lambda: False)

    entities = _entities(comprehend, SENTENCE)

    assert [(e["Type"], e["Text"], e["BeginOffset"], e["EndOffset"]) for e in entities] == [
        ("DATE", "12 March 2024", 55, 68),
        ("QUANTITY", "$45", 78, 81),
    ]


def test_given_spanish_text_when_detecting_entities_then_only_the_rules_answer(
    comprehend: Any,
) -> None:
    sentence = "Angela Merkel visitó Siemens en Berlín el 12 de marzo de 2024."

    entities = _entities(comprehend, sentence, language="es")

    assert [(e["Type"], e["Text"]) for e in entities] == [("DATE", "12 de marzo de 2024")]


def test_given_calls_from_several_threads_when_finding_entities_then_all_agree() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ner.entities, [SENTENCE] * 16))

    assert all(answer == answers[0] for answer in answers)
    assert ("PERSON", 0, 13) in {(e.type, e.begin, e.end) for e in answers[0]}


def test_given_overlapping_rule_and_model_spans_when_merged_then_the_rule_wins() -> None:
    rules = [ner.Entity(10, 22, "QUANTITY", 0.95)]
    model = [
        ner.Entity(0, 5, "PERSON", ner.SCORE),
        ner.Entity(10, 18, "QUANTITY", ner.SCORE),  # inside the rule's span
        ner.Entity(19, 22, "ORGANIZATION", ner.SCORE),  # "EUR" read as an organisation
        ner.Entity(30, 46, "DATE", ner.SCORE),  # vetoed: an impossible date
    ]

    merged = ner.merge(rules, model, vetoed=[(30, 46)])

    assert merged == [ner.Entity(0, 5, "PERSON", ner.SCORE), *rules]


def test_given_numbered_lines_when_detecting_entities_then_bare_numbers_are_not_reported(
    comprehend: Any,
) -> None:
    sentence = "\n".join(f"Line {line} of page 7" for line in range(20))

    assert _entities(comprehend, sentence) == []
