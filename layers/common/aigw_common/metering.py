"""What a job consumed, in the units the AI services bill, priced from the price table.

Every pipeline has two pure functions here:

- ``measure``: the calls a finished run actually made, read from the pipeline's execution
  input and raw output (the output records what was called: the chunks analysed, whether
  the language was detected or given, whether and what was translated, the pages Textract
  read). Whoever stores a result (finalize today) calls :func:`measure`.
- ``estimate``: the calls a run of this input may make, before it starts: what a job
  reserves against its tenant's budget, and what a job is charged when it ends without a
  result (Step Functions keeps no history of a failed Express execution, so the calls it
  made before failing cannot be observed; charging the estimate keeps a budget from being
  spent by failures it cannot see). Never lower than what ``measure`` finds for the same
  input, except where the input does not tell (a document's page count, a translation's
  length): see ``docs/governance.md``.

Units follow each service's billing unit: Comprehend 100-character units with a 3-unit
minimum per request, Translate characters of source text, Textract pages per API (text
detection, or analysis per feature), Rekognition images per API, SageMaker requests,
Bedrock input and output tokens per model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aigw_common.pricing import PriceTable

COMPREHEND_UNIT = "100-character unit"
#: Comprehend bills every request at least 3 units (300 characters).
COMPREHEND_MINIMUM_UNITS = 3
#: The languages text-insights sends to DetectPiiEntities (its PiiSupported choice).
PII_LANGUAGES = frozenset({"en", "es"})
#: The analysis of a text after translation: per chunk, at most this times the source's
#: characters is assumed (a translation is rarely half again as long as its source).
TRANSLATION_GROWTH = Decimal("1.5")
#: Documents: the text analysed is at most the pipeline's first 25,000 bytes, and a page
#: of dense text about 4,000 characters.
DOCUMENT_ANALYSED_CHARACTERS = 25_000
CHARACTERS_PER_PAGE = 4_000
#: A multi-page file (PDF, TIFF) is assumed to have a page per this many bytes (text PDFs
#: are smaller per page, scans larger); Textract's asynchronous APIs read 3,000 at most.
BYTES_PER_PAGE = 25_000
MAX_PAGES = 3_000
#: The chunk size text-insights splits text into (aigw_common.text).
CHUNK_BYTES = 4_500

MEASURED = "measured"
ESTIMATE = "estimate"


def comprehend_units(text: str) -> int:
    """Comprehend's billing units for one request on ``text``."""
    return max(COMPREHEND_MINIMUM_UNITS, math.ceil(len(text) / 100))


# ---------------------------------------------------------------------------- usage


@dataclass(frozen=True)
class UsageItem:
    service: str
    operation: str
    unit: str
    quantity: Decimal
    unit_price_usd: Decimal

    @property
    def cost_usd(self) -> Decimal:
        return self.quantity * self.unit_price_usd


@dataclass(frozen=True)
class Usage:
    """A job's usage: ``{"items", "ai_cost_usd", "cached", "basis"}`` (SPEC §6)."""

    items: tuple[UsageItem, ...] = ()
    cached: bool = False
    #: ``measured`` from the calls made, or the job's ``estimate`` (see the module doc).
    basis: str = MEASURED

    @property
    def ai_cost_usd(self) -> Decimal:
        return sum((item.cost_usd for item in self.items), Decimal(0))

    def as_estimate(self) -> Usage:
        return Usage(self.items, self.cached, ESTIMATE)

    def record(self) -> dict[str, Any]:
        """For DynamoDB: exact decimals."""
        return {
            "items": [
                {
                    "service": item.service,
                    "operation": item.operation,
                    "unit": item.unit,
                    "quantity": item.quantity,
                    "unit_price_usd": item.unit_price_usd,
                    "cost_usd": item.cost_usd,
                }
                for item in self.items
            ],
            "ai_cost_usd": self.ai_cost_usd,
            "cached": self.cached,
            "basis": self.basis,
        }

    def api(self) -> dict[str, Any]:
        """For JSON: numbers (quantities as integers where they are whole)."""
        record = self.record()
        record["items"] = [{**item, **_numbers(item)} for item in record["items"]]
        record["ai_cost_usd"] = float(record["ai_cost_usd"])
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Usage:
        return cls(
            items=tuple(
                UsageItem(
                    item["service"],
                    item["operation"],
                    item["unit"],
                    _decimal(item["quantity"]),
                    _decimal(item["unit_price_usd"]),
                )
                for item in record.get("items", [])
            ),
            cached=bool(record.get("cached", False)),
            basis=str(record.get("basis", MEASURED)),
        )


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _numbers(item: dict[str, Any]) -> dict[str, Any]:
    quantity = item["quantity"]
    return {
        "quantity": int(quantity) if quantity == quantity.to_integral_value() else float(quantity),
        "unit_price_usd": float(item["unit_price_usd"]),
        "cost_usd": float(item["cost_usd"]),
    }


def cached_usage() -> Usage:
    """A result served from the cache: no AI call, $0."""
    return Usage(items=(), cached=True)


# ---------------------------------------------------------------------------- the meter


@dataclass
class Meter:
    """Adds up calls by (service, operation, unit), pricing each from the table."""

    prices: PriceTable
    quantities: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)

    def add(self, service: str, operation: str, unit: str, quantity: float | Decimal) -> None:
        self.prices.price(service, operation, unit)  # an unpriced call fails here, not later
        key = (service, operation, unit)
        self.quantities[key] = self.quantities.get(key, Decimal(0)) + _decimal(quantity)

    def comprehend(self, operation: str, text_or_length: str | int) -> None:
        length = text_or_length if isinstance(text_or_length, int) else len(text_or_length)
        units = max(COMPREHEND_MINIMUM_UNITS, math.ceil(length / 100))
        self.add("comprehend", operation, COMPREHEND_UNIT, units)

    def usage(self, basis: str = MEASURED) -> Usage:
        items = tuple(
            UsageItem(*key, quantity, self.prices.price(*key).usd)
            for key, quantity in sorted(self.quantities.items())
        )
        return Usage(items=items, basis=basis)


@dataclass(frozen=True)
class ObjectFacts:
    """What the API knows of a document or image before the job runs (a HEAD of it)."""

    size: int
    content_type: str = ""
    etag: str = ""

    @property
    def single_page(self) -> bool:
        return self.content_type in ("image/png", "image/jpeg")


# ---------------------------------------------------------------------------- text


def _measure_text(meter: Meter, prepared: dict[str, Any], raw: dict[str, Any]) -> None:
    chunks = [chunk["text"] for chunk in prepared["chunks"]]
    if not chunks:
        return
    if prepared.get("language") is None:
        meter.comprehend("DetectDominantLanguage", chunks[0])
    translation = raw.get("translation")
    analysed = chunks
    if translation:
        for text in chunks:
            meter.add("translate", "TranslateText", "character", len(text))
        analysed = [chunk["text"] for chunk in translation["chunks"]]
    _measure_analysis(meter, analysed, raw.get("analysed_language"))


def _measure_analysis(
    meter: Meter, texts: Iterable[str | int], language: str | None, *, pii: bool | None = None
) -> None:
    with_pii = language in PII_LANGUAGES if pii is None else pii
    for text in texts:
        for operation in ("DetectSentiment", "DetectEntities", "DetectKeyPhrases"):
            meter.comprehend(operation, text)
        if with_pii:
            meter.comprehend("DetectPiiEntities", text)


def _estimate_text(
    meter: Meter, prepared: dict[str, Any], options: dict[str, Any], _: ObjectFacts | None
) -> None:
    lengths = [len(chunk["text"]) for chunk in prepared["chunks"]]
    if not lengths:
        return
    if prepared.get("language") is None:
        meter.comprehend("DetectDominantLanguage", lengths[0])
    target = prepared.get("target_language")
    if target is not None and target != prepared.get("language"):
        # Translated unless the text turns out to be in the target language already.
        for length in lengths:
            meter.add("translate", "TranslateText", "character", length)
        lengths = [math.ceil(length * TRANSLATION_GROWTH) for length in lengths]
    # The analysed language is not known yet: count PII detection, which costs the most.
    _measure_analysis(meter, lengths, None, pii=True)


# ---------------------------------------------------------------------------- documents


def _textract(meter: Meter, options: dict[str, Any], pages: int) -> None:
    features = sorted(set(options.get("features") or []))
    if not features:
        meter.add("textract", "StartDocumentTextDetection", "page", pages)
    for feature in features:
        meter.add("textract", "StartDocumentAnalysis", f"{feature} page", pages)


def _measure_document(
    meter: Meter, prepared: dict[str, Any], options: dict[str, Any], raw: dict[str, Any]
) -> None:
    _textract(meter, options, int(raw["document"]["pages"]))
    insights = raw.get("insights")
    if insights:
        analysed = {"chunks": raw["chunks"], "language": options.get("language")}
        _measure_text(meter, analysed, insights)


def _estimate_document(
    meter: Meter, prepared: dict[str, Any], options: dict[str, Any], facts: ObjectFacts | None
) -> None:
    size = facts.size if facts is not None else BYTES_PER_PAGE
    single = facts is not None and facts.single_page
    pages = 1 if single else min(MAX_PAGES, max(1, math.ceil(size / BYTES_PER_PAGE)))
    _textract(meter, options, pages)
    characters = min(DOCUMENT_ANALYSED_CHARACTERS, pages * CHARACTERS_PER_PAGE)
    chunks = [CHUNK_BYTES] * (characters // CHUNK_BYTES)
    if characters % CHUNK_BYTES:
        chunks.append(characters % CHUNK_BYTES)
    if not options.get("language"):
        meter.comprehend("DetectDominantLanguage", chunks[0])
    _measure_analysis(meter, chunks, None, pii=True)


# ---------------------------------------------------------------------------- images, models

IMAGE_OPERATIONS = ("DetectLabels", "DetectText", "DetectFaces", "DetectModerationLabels")


def _images(meter: Meter) -> None:
    for operation in IMAGE_OPERATIONS:
        meter.add("rekognition", operation, "image", 1)


def _predict(meter: Meter) -> None:
    meter.add("sagemaker-runtime", "InvokeEndpoint", "request", 1)


# ---------------------------------------------------------------------------- LLMs (Bedrock)

#: A cross-Region inference profile id is a geography and the model's id; Bedrock bills it
#: at the model's price in the source Region.
_PROFILE_GEOGRAPHY = re.compile(r"^(us|us-gov|eu|apac|ca|jp|au|global)\.")
#: Estimates: a token is at least a byte of text (byte-level tokenizers), and a chat
#: template wraps the prompt in a few dozen tokens more.
TEMPLATE_TOKENS = 100
#: document-summary's instructions and document text, for estimates (its first 25,000 bytes).
SUMMARY_DOCUMENT_BYTES = 25_000


def bedrock_unit(model: str, kind: str) -> str:
    """The price table's unit for a model's ``input`` or ``output`` tokens."""
    return f"{_PROFILE_GEOGRAPHY.sub('', model, count=1)} {kind} token"


def _measure_generation(meter: Meter, raw: dict[str, Any]) -> None:
    # The PII masking's DetectPiiEntities calls, one per text block, then the tokens of the
    # one model that answered (a throttled or failed attempt is not billed).
    for characters in raw.get("pii_blocks") or []:
        meter.comprehend("DetectPiiEntities", int(characters))
    tokens = raw.get("usage") or {}
    model = str(raw["model"])
    meter.add(
        "bedrock-runtime", "Converse", bedrock_unit(model, "input"), tokens.get("InputTokens", 0)
    )
    meter.add(
        "bedrock-runtime", "Converse", bedrock_unit(model, "output"), tokens.get("OutputTokens", 0)
    )


def _estimate_generation(meter: Meter, llm: dict[str, Any], blocks: list[int]) -> None:
    """``blocks``: the characters of each text block the model is sent (UTF-8 bytes bound a
    block's tokens, characters its Comprehend units)."""
    if llm.get("redact_pii"):
        for characters in blocks:
            meter.comprehend("DetectPiiEntities", characters)
    input_tokens = sum(blocks) * 4 + TEMPLATE_TOKENS  # at most 4 UTF-8 bytes a character
    output_tokens = int(llm["inference"]["MaxTokens"])

    def cost(model: str) -> Decimal:
        return (
            meter.prices.price("bedrock-runtime", "Converse", bedrock_unit(model, "input")).usd
            * input_tokens
            + meter.prices.price("bedrock-runtime", "Converse", bedrock_unit(model, "output")).usd
            * output_tokens
        )

    # Any model of the list may be the one that answers: reserve for the dearest.
    model = max(llm["models"], key=cost)
    meter.add("bedrock-runtime", "Converse", bedrock_unit(model, "input"), input_tokens)
    meter.add("bedrock-runtime", "Converse", bedrock_unit(model, "output"), output_tokens)


def _measure_llm_generate(
    meter: Meter, prepared: dict[str, Any], options: dict[str, Any], raw: dict[str, Any]
) -> None:
    _measure_generation(meter, raw)


def _estimate_llm_generate(
    meter: Meter, prepared: dict[str, Any], options: dict[str, Any], _: ObjectFacts | None
) -> None:
    blocks = [len(block["Text"]) for block in prepared["system"]]
    for message in prepared["messages"]:
        blocks += [len(block["Text"]) for block in message["Content"]]
    _estimate_generation(meter, prepared, blocks)


def _measure_document_summary(
    meter: Meter, prepared: dict[str, Any], options: dict[str, Any], raw: dict[str, Any]
) -> None:
    _textract(meter, {}, int(raw["document"]["pages"]))
    _measure_generation(meter, raw["summary"])


def _estimate_document_summary(
    meter: Meter, prepared: dict[str, Any], options: dict[str, Any], facts: ObjectFacts | None
) -> None:
    size = facts.size if facts is not None else BYTES_PER_PAGE
    single = facts is not None and facts.single_page
    pages = 1 if single else min(MAX_PAGES, max(1, math.ceil(size / BYTES_PER_PAGE)))
    _textract(meter, {}, pages)
    llm = prepared["llm"]
    characters = min(SUMMARY_DOCUMENT_BYTES, pages * CHARACTERS_PER_PAGE)
    blocks = [len(block["Text"]) for block in llm["system"]]
    blocks += [CHUNK_BYTES] * (characters // CHUNK_BYTES)
    if characters % CHUNK_BYTES:
        blocks.append(characters % CHUNK_BYTES)
    _estimate_generation(meter, llm, blocks)


# ---------------------------------------------------------------------------- entry points

Measure = Callable[[Meter, dict[str, Any], dict[str, Any], Any], None]
Estimate = Callable[[Meter, dict[str, Any], dict[str, Any], ObjectFacts | None], None]

MEASURES: dict[str, Measure] = {
    "text-insights": lambda meter, prepared, _options, raw: _measure_text(meter, prepared, raw),
    "document-insights": _measure_document,
    "image-insights": lambda meter, *_: _images(meter),
    "predict": lambda meter, *_: _predict(meter),
    "llm-generate": _measure_llm_generate,
    "document-summary": _measure_document_summary,
}
ESTIMATES: dict[str, Estimate] = {
    "text-insights": _estimate_text,
    "document-insights": _estimate_document,
    "image-insights": lambda meter, *_: _images(meter),
    "predict": lambda meter, *_: _predict(meter),
    "llm-generate": _estimate_llm_generate,
    "document-summary": _estimate_document_summary,
}


def measure(
    pipeline: str,
    prepared: dict[str, Any],
    options: dict[str, Any],
    raw_output: Any,
    prices: PriceTable,
) -> Usage:
    """The usage of a run that finished, from the calls its output shows were made."""
    meter = Meter(prices)
    MEASURES[pipeline](meter, prepared, options, raw_output)
    return meter.usage(MEASURED)


def estimate(
    pipeline: str,
    prepared: dict[str, Any],
    options: dict[str, Any],
    prices: PriceTable,
    facts: ObjectFacts | None = None,
) -> Usage:
    """The usage a run of this input may have, before it starts."""
    meter = Meter(prices)
    ESTIMATES[pipeline](meter, prepared, options, facts)
    return meter.usage(ESTIMATE)
