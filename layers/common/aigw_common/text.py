"""Chunking and merging for the text-insights pipeline.

The workflow calls Comprehend and Translate through direct SDK integrations, so the text is
split into service-sized chunks before the execution starts (and a translation split again
inside it, by the SplitText function, since a translation can outgrow its source) and the
per-chunk answers are merged after it ends. Both halves live here because they must agree on
what an offset means: an index into a Python str, i.e. a Unicode code point, which is what
Comprehend's BeginOffset and EndOffset count.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

#: Below DetectSentiment's 5 KB (the smallest limit of the Comprehend calls per chunk: 100 KB
#: for the others) and TranslateText's 10,000 bytes, with room for a service that counts a
#: "KB" as 5,000 bytes; aigw_common.limits and its test hold the sources.
MAX_CHUNK_BYTES = 4500

# Sentence ends: . ! ? … (plus closing quotes or brackets) followed by whitespace; the CJK full
# stop, exclamation and question marks (plus closing brackets), which need no space after them;
# line breaks, which end paragraphs. Escaped because several look like ASCII characters.
_BOUNDARY = re.compile(
    r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*(?=\s)"
    r"|[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019\uff09]*"
    r"|[\r\n\u2028\u2029]"
)
_WHITESPACE = re.compile(r"\s+")
_ZWJ = "\u200d"

_SENTIMENTS = {
    "POSITIVE": "Positive",
    "NEGATIVE": "Negative",
    "NEUTRAL": "Neutral",
    "MIXED": "Mixed",
}
# max() keeps the first of equal values: ties go to the least committal label.
_TIE_ORDER = ("NEUTRAL", "MIXED", "NEGATIVE", "POSITIVE")
_NUMBER = (int, float)


@dataclass(frozen=True)
class Chunk:
    """A piece of the text small enough for one service call, and where it starts in the text."""

    text: str
    offset: int


def split_text(text: str, max_bytes: int = MAX_CHUNK_BYTES) -> list[Chunk]:
    """Split text into chunks of at most max_bytes UTF-8 bytes whose texts concatenate to it.

    Each chunk ends at the last sentence or paragraph end that fits, else after the last
    whitespace that fits, else between two characters (keeping combining sequences whole when
    the chunk can still be non-empty), so the services see text that reads naturally.
    """
    if max_bytes < 4:
        raise ValueError("max_bytes must be at least 4, the size of the longest UTF-8 character")
    if not text or text.isspace():
        raise ValueError("text is empty")
    try:
        text.encode()
    except UnicodeEncodeError as error:
        raise ValueError("text is not valid Unicode: it has an unpaired surrogate") from error
    content_end = len(text.rstrip())
    chunks = []
    start = 0
    while start < len(text):
        end = _chunk_end(text, start, max_bytes, content_end)
        chunks.append(Chunk(text[start:end], start))
        start = end
    return chunks


def _chunk_end(text: str, start: int, max_bytes: int, content_end: int) -> int:
    """Where the chunk starting at start ends: the best split point among those that fit.

    No chunk is whitespace only where that can be avoided: the services reject or misjudge it.
    """
    limit = start + _fitting_length(text, start, max_bytes)
    if limit == len(text):
        return limit
    if start < content_end - 1:
        limit = min(limit, content_end - 1)  # leave the last chunk more than trailing whitespace
    for end in (_last_boundary(text, start, limit), _last_whitespace(text, start, limit)):
        if end is not None and not text[start:end].isspace():
            return end
    return _character_boundary(text, start, limit)


def _fitting_length(text: str, start: int, max_bytes: int) -> int:
    """How many characters from start fit in max_bytes; looks at max_bytes characters at most."""
    window = text[start : start + max_bytes]  # every character takes at least one byte
    encoded = window.encode()
    if len(encoded) <= max_bytes:
        return len(window)
    cut = max_bytes
    while encoded[cut] & 0xC0 == 0x80:  # a continuation byte: the cut is inside a character
        cut -= 1
    return len(encoded[:cut].decode())


def _last_boundary(text: str, start: int, limit: int) -> int | None:
    """The end of the last sentence or paragraph in text[start:limit], with its whitespace."""
    end = None
    # One character past the limit, so that a sentence ending at the limit sees its space.
    for match in _BOUNDARY.finditer(text, start, min(limit + 1, len(text))):
        if match.end() <= limit:
            end = match.end()
    if end is None:
        return None
    while end < limit and text[end].isspace():
        end += 1
    return end


def _last_whitespace(text: str, start: int, limit: int) -> int | None:
    """The end of the last run of whitespace in text[start:limit]."""
    end = None
    for match in _WHITESPACE.finditer(text, start, limit):
        end = match.end()
    return end


def _character_boundary(text: str, start: int, limit: int) -> int:
    """The last index up to limit that does not split a character sequence shown as one."""
    end = limit
    while end > start and _extends_previous(text, end, start):
        end -= 1
    return end if end > start else limit  # one sequence longer than a chunk: cut it anyway


def _extends_previous(text: str, index: int, start: int) -> bool:
    """Whether text[index] belongs to the same displayed character as text[index - 1].

    start is where the chunk starts, which is never inside a sequence (a flag, for example).
    """
    char, previous = text[index], text[index - 1]
    if unicodedata.category(char) in ("Mn", "Mc", "Me"):  # combining marks, variation selectors
        return True
    if _ZWJ in (char, previous):
        return True
    if "\U0001f3fb" <= char <= "\U0001f3ff" or "\U000e0020" <= char <= "\U000e007f":
        return True  # emoji skin-tone modifiers and tag sequences (subdivision flags)
    if _is_regional_indicator(char) and _is_regional_indicator(previous):
        run = 0  # flags are pairs of regional indicators: split only after an even count
        while index - run > start and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _is_regional_indicator(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def merge_insights(raw: dict[str, Any], chunks: list[Chunk]) -> dict[str, Any]:
    """Merge the text-insights workflow's per-chunk answers into the normalized result.

    ``chunks`` are the submitted text's. A translated text is analysed in the chunks the
    workflow split the translation into (``raw["translation"]["chunks"]``, one result each).
    Offsets become offsets in the analysed text (the original text, or the concatenated
    translation), sentiment is the length-weighted mean. A raw result that does not match the
    chunks is a workflow bug, so it raises ValueError instead of producing a wrong result.
    """
    if not chunks:
        raise ValueError("there are no chunks to merge")
    if [chunk.offset for chunk in chunks] != _offsets(chunk.text for chunk in chunks):
        raise ValueError("chunks must be the consecutive pieces of one text, as split_text returns")
    results = _field(raw, "chunks", list, "raw")
    translation = _field(raw, "translation", (dict, type(None)), "raw")
    if translation is None:
        texts = [chunk.text for chunk in chunks]
        normalized_translation = None
    else:
        texts = _translated_texts(translation)
        normalized_translation = {
            "source": _field(translation, "source_language", str, "translation"),
            "target": _field(translation, "target_language", str, "translation"),
            "text": "".join(texts),
        }
    if len(results) != len(texts):
        raise ValueError(f"raw insights: {len(results)} chunk results for {len(texts)} chunks")
    analysed = "".join(texts)

    entities, key_phrases, pii = [], [], []
    for index, (result, text, offset) in enumerate(
        zip(results, texts, _offsets(texts), strict=True)
    ):
        where = f"chunks[{index}]"
        for item, at in _items(result, "entities", "Entities", where):
            located = _located(item, at, len(text), offset)
            entities.append(
                {"text": _field(item, "Text", str, at), "type": _field(item, "Type", str, at)}
                | located
            )
        for item, at in _items(result, "key_phrases", "KeyPhrases", where):
            located = _located(item, at, len(text), offset)
            key_phrases.append({"text": _field(item, "Text", str, at)} | located)
        for item, at in _items(result, "pii", "Entities", where):
            located = _located(item, at, len(text), offset)
            pii.append(
                {"type": _field(item, "Type", str, at)}
                | located
                | {"text": analysed[located["begin"] : located["end"]]}
            )

    return {
        "language": _top_language(raw),
        "translation": normalized_translation,
        "sentiment": _merge_sentiment(results, [len(text) for text in texts]),
        "entities": _by_position(entities),
        "key_phrases": _by_position(key_phrases),
        "pii": _by_position(pii),
        "stats": {"characters": len(analysed), "chunks": len(chunks)},
    }


def _offsets(texts: Iterable[str]) -> list[int]:
    """Where each of the consecutive texts starts in their concatenation."""
    return list(accumulate((len(text) for text in texts), initial=0))[:-1]


def _translated_texts(translation: dict[str, Any]) -> list[str]:
    translated = _field(translation, "chunks", list, "translation")
    if not translated:
        raise ValueError("raw insights: translation.chunks is empty")
    return [
        _field(item, "text", str, f"translation.chunks[{index}]")
        for index, item in enumerate(translated)
    ]


def _top_language(raw: dict[str, Any]) -> dict[str, Any]:
    languages = _field(_field(raw, "language", dict, "raw"), "Languages", list, "language")
    if not languages:
        raise ValueError("raw insights: language.Languages is empty")
    for index, item in enumerate(languages):
        _field(item, "LanguageCode", str, f"language.Languages[{index}]")
        _field(item, "Score", _NUMBER, f"language.Languages[{index}]")
    top = max(languages, key=lambda item: item["Score"])
    return {"code": top["LanguageCode"], "score": round(top["Score"], 4)}


def _merge_sentiment(results: list[Any], lengths: list[int]) -> dict[str, Any]:
    """Weight each chunk's scores by its length, so a short aside cannot outvote the text."""
    total = sum(lengths)
    if total == 0:
        raise ValueError("raw insights: the analysed text is empty")
    # Normalised weights first: a single chunk's weight is exactly 1.0, its scores unchanged.
    weights = [length / total for length in lengths]
    per_chunk = []
    for index, result in enumerate(results):
        where = f"chunks[{index}].sentiment"
        scores = _field(
            _field(result, "sentiment", dict, f"chunks[{index}]"), "SentimentScore", dict, where
        )
        per_chunk.append(
            {
                label: _field(scores, key, _NUMBER, f"{where}.SentimentScore")
                for label, key in _SENTIMENTS.items()
            }
        )
    mean = {
        label: math.fsum(
            weight * scores[label] for weight, scores in zip(weights, per_chunk, strict=True)
        )
        for label in _SENTIMENTS
    }
    return {
        "label": max(_TIE_ORDER, key=mean.__getitem__),
        "scores": {label.lower(): round(value, 4) for label, value in mean.items()},
    }


def _items(result: Any, field: str, key: str, where: str) -> list[tuple[dict[str, Any], str]]:
    """The items of one chunk's answer, each with its path for error messages."""
    items = _field(_field(result, field, dict, where), key, list, f"{where}.{field}")
    return [(item, f"{where}.{field}.{key}[{index}]") for index, item in enumerate(items)]


def _located(item: Any, where: str, length: int, offset: int) -> dict[str, Any]:
    """The item's score, and its offsets moved from its chunk into the analysed text."""
    begin = _field(item, "BeginOffset", int, where)
    end = _field(item, "EndOffset", int, where)
    if not 0 <= begin <= end <= length:
        raise ValueError(
            f"raw insights: {where} spans [{begin}, {end}) outside its chunk of {length} characters"
        )
    score = round(_field(item, "Score", _NUMBER, where), 4)
    return {"score": score, "begin": offset + begin, "end": offset + end}


def _by_position(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: (item["begin"], item["end"]))


def _field(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """mapping[key] if it is there with the right type; a clear ValueError otherwise."""
    if not isinstance(mapping, dict) or key not in mapping:
        raise ValueError(f"raw insights: {where} has no {key!r}")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"raw insights: {where}.{key} has the wrong type ({type(value).__name__})")
    return value
