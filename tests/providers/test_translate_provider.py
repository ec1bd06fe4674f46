"""The local Translate: Apertium (installed by scripts/install_apertium.sh into .local, no root),
called as callers call it: a boto3 client."""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aigw.local.services.providers import ServiceError, registry
from aigw.providers import translate

ROOT = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location(
    "aws_shapes", Path(__file__).parents[1] / "gateway" / "aws_shapes.py"
)
assert _spec is not None and _spec.loader is not None
aws_shapes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aws_shapes)


def install_apertium() -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "install_apertium.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    install_apertium()
    saved = registry.lookup("translate", "TranslateText")
    translate.install(registry)
    try:
        with mock_aws():
            yield boto3.client("translate", region_name="us-east-1")
    finally:
        if saved is None:
            registry.unregister("translate", "TranslateText")
        else:
            registry.register("translate", "TranslateText", saved)


def _translate(client: Any, text: str, source: str, target: str) -> dict[str, Any]:
    response = client.translate_text(
        Text=text, SourceLanguageCode=source, TargetLanguageCode=target
    )
    response.pop("ResponseMetadata")
    aws_shapes.assert_output_shape("translate", "TranslateText", response)
    return response


def test_given_apertium_installed_when_the_script_runs_again_then_it_installs_nothing(
    client: Any,
) -> None:
    output = install_apertium()

    assert "already installed" in output


def test_given_a_spanish_sentence_when_translated_to_english_then_it_reads_as_english(
    client: Any,
) -> None:
    response = _translate(client, "El servicio fue terrible y la comida estaba fría.", "es", "en")

    words = response["TranslatedText"].lower()
    for word in ("service", "terrible", "cold"):
        assert word in words
    assert (response["SourceLanguageCode"], response["TargetLanguageCode"]) == ("es", "en")


def test_given_an_english_sentence_when_translated_to_spanish_then_it_reads_as_spanish(
    client: Any,
) -> None:
    response = _translate(client, "The house is big and the garden is beautiful.", "en", "es")

    assert "casa" in response["TranslatedText"].lower()
    assert "jardín" in response["TranslatedText"].lower()


def test_given_auto_when_translating_then_the_detected_language_is_reported(client: Any) -> None:
    response = _translate(client, "Buenos días, la habitación estaba muy limpia.", "auto", "en")

    assert response["SourceLanguageCode"] == "es"
    assert "room" in response["TranslatedText"].lower()


def test_given_an_unknown_word_when_translated_then_it_passes_through_unmarked(
    client: Any,
) -> None:
    response = _translate(client, "El zorglubio es rojo.", "es", "en")

    assert "*" not in response["TranslatedText"]
    assert "zorglubio" in response["TranslatedText"]


def test_given_a_pair_without_a_local_model_when_translated_then_unsupported_pair(
    client: Any,
) -> None:
    with pytest.raises(client.exceptions.UnsupportedLanguagePairException) as raised:
        client.translate_text(Text="Good morning", SourceLanguageCode="en", TargetLanguageCode="de")

    message = raised.value.response["Error"]["Message"]
    assert "no offline model exists for 'en' to 'de'" in message
    assert "en->es, es->en" in message


def test_given_text_over_translates_limit_when_translated_then_text_size_limit_exceeded(
    client: Any,
) -> None:
    with pytest.raises(client.exceptions.TextSizeLimitExceededException):
        client.translate_text(Text="hola " * 2001, SourceLanguageCode="es", TargetLanguageCode="en")


def test_given_no_apertium_when_translating_then_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(translate, "_FOUND", [])
    monkeypatch.setattr(translate, "find_apertium", lambda: None)

    with pytest.raises(ServiceError) as raised:
        translate.translate_text(
            {"Text": "Hola", "SourceLanguageCode": "es", "TargetLanguageCode": "en"}
        )

    assert raised.value.code == "UnsupportedLanguagePairException"
    assert "make apertium" in raised.value.message
