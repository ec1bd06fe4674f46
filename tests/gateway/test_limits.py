"""The AWS limits the gateway sizes its work by, read from botocore's models where they are,
and a translated text that outgrows its source still analysed within Comprehend's limits."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import botocore.session
import requests
from conftest import Gateway

from aigw.local.lambdas.bridge import SYNC_REQUEST_PAYLOAD_BYTES
from aigw.local.services.providers import ServiceError
from aigw.providers import documents as local_documents
from aigw.providers import images as local_images
from aigw.providers import text as local_comprehend
from aigw.providers import translate as local_translate
from aigw_common import limits
from aigw_common.pipelines import MAX_INLINE_BYTES, catalogue
from aigw_common.text import MAX_CHUNK_BYTES

_MODELS = botocore.session.get_session()


def _member(service: str, operation: str, member: str) -> Any:
    model = _MODELS.get_service_model(service).operation_model(operation)
    return model.input_shape.members[member]


def _documented_kb(service: str, operation: str) -> int:
    """The "maximum string size is N KB" of an operation's Text member, in KB."""
    documentation = _member(service, operation, "Text").documentation
    found = re.search(r"(?:maximum string size is|less than) (\d+) KB", documentation)
    assert found, documentation
    return int(found.group(1))


# ------------------------------------------------------------------------------ the numbers


def test_given_comprehends_models_then_the_per_document_limits_are_theirs() -> None:
    assert (
        _documented_kb("comprehend", "DetectSentiment") * 1000 == limits.COMPREHEND_SENTIMENT_BYTES
    )
    for operation in ("DetectEntities", "DetectKeyPhrases", "DetectPiiEntities"):
        assert _documented_kb("comprehend", operation) * 1000 == limits.COMPREHEND_TEXT_BYTES
    assert _documented_kb("comprehend", "DetectDominantLanguage") * 1000 == (
        limits.COMPREHEND_TEXT_BYTES
    )


def test_given_translates_model_then_the_request_limit_is_its_10000_bytes() -> None:
    text = _member("translate", "TranslateText", "Text")

    assert "maximum of 10,000 bytes" in text.documentation
    assert text.metadata["max"] == limits.TRANSLATE_TEXT_BYTES == 10_000


def test_given_rekognitions_model_then_image_bytes_are_limited_to_5_mib() -> None:
    image = _MODELS.get_service_model("rekognition").shape_for("Image")

    assert image.members["Bytes"].metadata["max"] == limits.REKOGNITION_IMAGE_BYTES


def test_given_the_limits_then_a_chunk_fits_every_call_made_with_it() -> None:
    """A chunk goes to DetectSentiment (the smallest limit) and, translated, to TranslateText."""
    assert limits.COMPREHEND_SENTIMENT_BYTES <= limits.COMPREHEND_TEXT_BYTES
    assert MAX_CHUNK_BYTES < limits.COMPREHEND_SENTIMENT_BYTES
    assert MAX_CHUNK_BYTES < limits.TRANSLATE_TEXT_BYTES


def test_given_detect_dominant_languages_model_then_it_wants_20_characters() -> None:
    documentation = _member("comprehend", "DetectDominantLanguage", "Text").documentation

    assert f"at least {limits.LANGUAGE_DETECTION_MIN_CHARACTERS} characters" in documentation


PIPELINES_WITH_FILES = ("document-insights", "image-insights", "document-summary")


def test_given_the_inline_limit_then_the_largest_inline_request_fits_lambdas_payload() -> None:
    """A request reaches the API function as a Lambda event: the largest inline file, base64
    in the JSON body, leaves room under Lambda's 6 MB for the headers and request context."""
    schemas = [catalogue()[name].input_schema["properties"] for name in PIPELINES_WITH_FILES]
    longest = {field.get("maxLength") for schema in schemas for field in schema.values()} - {None}
    room_for_the_rest = 64 * 1024

    assert longest == {4 * -(-MAX_INLINE_BYTES // 3)}  # the base64 of MAX_INLINE_BYTES
    assert max(longest) + 1_000 + room_for_the_rest < limits.LAMBDA_SYNC_PAYLOAD_BYTES
    assert limits.LAMBDA_SYNC_PAYLOAD_BYTES < limits.API_GATEWAY_PAYLOAD_BYTES
    assert SYNC_REQUEST_PAYLOAD_BYTES == limits.LAMBDA_SYNC_PAYLOAD_BYTES  # the local Lambda's


def _inline_pdf_job(size: int) -> dict[str, Any]:
    pdf = b"%PDF-1.7\n" + bytes(size - 9)
    document = base64.b64encode(pdf).decode()
    return {"pipeline": "document-insights", "input": {"document_base64": document}}


def _jobs(gateway: Gateway) -> list[dict[str, Any]]:
    return gateway.request("GET", "/jobs", query={"limit": "100"}).json()["jobs"]


def test_given_a_body_between_lambdas_6_mb_and_api_gateways_10_mb_then_413_before_the_function(
    gateway: Gateway,
) -> None:
    # A 5 MB PDF sent inline: about 7 MB of JSON, which API Gateway takes (10 MB) and Lambda
    # refuses (6 MB) before the API function runs; API Gateway answers, in the API's shape.
    body = json.dumps(_inline_pdf_job(5 * 1024 * 1024))
    assert limits.LAMBDA_SYNC_PAYLOAD_BYTES < len(body) < limits.API_GATEWAY_PAYLOAD_BYTES
    before = _jobs(gateway)

    answer = gateway.request("POST", "/jobs", body)

    assert answer.status == 413
    assert answer.gateway_error == "REQUEST_TOO_LARGE"
    error = answer.json()["error"]
    assert error["code"] == "PayloadTooLarge"
    assert "6 MB" in error["message"] and "POST /v1/uploads" in error["message"]
    assert answer.headers["Access-Control-Allow-Origin"]
    assert _jobs(gateway) == before


def test_given_an_inline_file_over_3_mb_in_a_body_lambda_takes_then_the_api_says_to_upload_it(
    gateway: Gateway,
) -> None:
    answer = gateway.request("POST", "/jobs", _inline_pdf_job(MAX_INLINE_BYTES + 1))

    assert answer.status == 413
    assert answer.gateway_error is None  # the API function's own answer
    error = answer.json()["error"]
    assert error["code"] == "PayloadTooLarge"
    assert "POST /v1/uploads" in error["message"]


def test_given_the_local_providers_then_they_refuse_what_aws_refuses() -> None:
    assert local_comprehend.SENTIMENT_MAX_BYTES == limits.COMPREHEND_SENTIMENT_BYTES
    assert local_comprehend.TEXT_MAX_BYTES == limits.COMPREHEND_TEXT_BYTES
    assert local_translate.MAX_TEXT_BYTES == limits.TRANSLATE_TEXT_BYTES
    assert local_images.MAX_BYTES == limits.REKOGNITION_IMAGE_BYTES
    assert local_images.MAX_S3_BYTES == limits.REKOGNITION_S3_IMAGE_BYTES
    assert local_documents.MAX_IMAGE_BYTES == limits.TEXTRACT_IMAGE_BYTES
    assert local_documents.MAX_PAGES == limits.TEXTRACT_MAX_PAGES


# ------------------------------------------------------------------------------ a translation


COMPREHEND_LIMITS = {
    "DetectSentiment": limits.COMPREHEND_SENTIMENT_BYTES,
    "DetectEntities": limits.COMPREHEND_TEXT_BYTES,
    "DetectKeyPhrases": limits.COMPREHEND_TEXT_BYTES,
    "DetectPiiEntities": limits.COMPREHEND_TEXT_BYTES,
    "DetectDominantLanguage": limits.COMPREHEND_TEXT_BYTES,
}


def _as_aws(
    operation: str, most: int, answer: Callable[[dict[str, Any]], dict[str, Any]], sizes: list[int]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The fake's answer, or what AWS answers to a text over the operation's limit."""

    def provider(params: dict[str, Any]) -> dict[str, Any]:
        size = len(params["Text"].encode())
        sizes.append(size)
        if size > most:
            raise ServiceError(
                "TextSizeLimitExceededException",
                f"Input text size exceeds limit. Max length of request text allowed is {most} "
                f"bytes while in this request the text size is {size} bytes",
            )
        return answer(params)

    return provider


def _spanish(params: dict[str, Any]) -> dict[str, Any]:
    """A "translation" a third longer than its source, as Spanish often is: lower-case words
    grow an accented syllable; names stay as they are."""
    grown = re.sub(r"\b[a-z]+\b", lambda word: word.group() + "ción", params["Text"])
    return {
        "TranslatedText": grown,
        "SourceLanguageCode": params["SourceLanguageCode"],
        "TargetLanguageCode": params["TargetLanguageCode"],
    }


@contextmanager
def _enforcing_limits(gateway: Gateway, sizes: dict[str, list[int]]) -> Iterator[None]:
    fakes = gateway.fakes
    answers = {
        "DetectSentiment": fakes.detect_sentiment,
        "DetectEntities": fakes.detect_entities,
        "DetectKeyPhrases": fakes.detect_key_phrases,
        "DetectPiiEntities": fakes.detect_pii_entities,
        "DetectDominantLanguage": fakes.detect_dominant_language,
    }
    with ExitStack() as stack:
        for operation, most in COMPREHEND_LIMITS.items():
            provider = _as_aws(operation, most, answers[operation], sizes.setdefault(operation, []))
            stack.enter_context(
                gateway.runtime.providers.override("comprehend", operation, provider)
            )
        translate = _as_aws(
            "TranslateText",
            limits.TRANSLATE_TEXT_BYTES,
            _spanish,
            sizes.setdefault("Translate", []),
        )
        stack.enter_context(
            gateway.runtime.providers.override("translate", "TranslateText", translate)
        )
        yield


def test_given_24000_bytes_of_english_translated_to_longer_spanish_then_every_call_fits(
    gateway: Gateway,
) -> None:
    """The issue's case: 24,000 bytes of English whose Spanish translation grows past
    5,000 bytes a chunk. The translation is split again, so DetectSentiment never sees more
    than its 5,000 bytes, and offsets land in the translation."""
    sentence = "the service was good and the staff were kind to every guest here. "
    body = sentence * (23_900 // len(sentence))
    english = body + "Our thanks go to Maria Lopez."
    assert 23_900 < len(english.encode()) <= 24_000
    sizes: dict[str, list[int]] = {}

    with _enforcing_limits(gateway, sizes):
        job = gateway.wait(_submit(gateway, english), timeout=60)

    assert job["status"] == "SUCCEEDED", job
    assert max(sizes["DetectSentiment"]) <= limits.COMPREHEND_SENTIMENT_BYTES
    assert max(sizes["Translate"]) <= 4500  # the source chunks
    result = requests.get(job["result_url"], timeout=10).json()  # too large to keep inline
    translation = result["translation"]["text"]
    assert len(translation.encode()) > 30_000  # it really grew
    [name] = [entity for entity in result["entities"] if entity["text"] == "Maria Lopez"]
    assert translation[name["begin"] : name["end"]] == "Maria Lopez"


def _submit(gateway: Gateway, text: str) -> str:
    answer = gateway.request(
        "POST",
        "/jobs",
        {
            "pipeline": "text-insights",
            "input": {"text": text},
            "options": {"language": "en", "target_language": "es"},
        },
    )
    assert answer.status == 202, answer.body
    return str(answer.json()["job_id"])
