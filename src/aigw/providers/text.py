"""Comprehend's real-time text operations, answered offline by small real models and rules.

- ``DetectDominantLanguage``: langdetect (55 languages, seeded so answers are repeatable);
  the top 3 candidates. Blank text, or text without letters, is an InvalidRequestException.
- ``DetectSentiment``: VADER, English only; any other language is an
  UnsupportedLanguageException that says so, never a guess.
- ``DetectPiiEntities`` (en, es): regular expressions plus validators. EMAIL, URL,
  PHONE (international ``+`` numbers and North American formats), CREDIT_DEBIT_NUMBER (Luhn),
  INTERNATIONAL_BANK_ACCOUNT_NUMBER (mod-97), IP_ADDRESS (IPv4 with valid octets; not IPv6)
  and SSN (dashed US format, invalid areas 000/666/9xx excluded). Names, addresses and the
  other Comprehend PII types are not found.
- ``DetectKeyPhrases`` (en): RAKE: candidate phrases are runs of words between stopwords and
  punctuation, scored by word degree/frequency; the best ``MAX_KEY_PHRASES`` distinct
  phrases, every occurrence, with a score relative to the best phrase.
- ``DetectEntities`` (en, es): rules first. DATE: ISO dates, ``12 March 2024``,
  ``March 12, 2024``, ``12 de marzo de 2024``, ``12/03/2024`` and weekday names (English,
  Spanish). QUANTITY: amounts with a currency symbol or code (``$45``, ``1,234.00 EUR``),
  percentages and numbers with a unit (``3 kg``). With the ``aigw[models]`` extra, English
  also gets spaCy's small model's PERSON, ORGANIZATION, LOCATION, EVENT, TITLE,
  COMMERCIAL_ITEM and OTHER (``ner.py``; score 0.8, small-model mistakes included); the
  rules win where they overlap. Without it, no names: capitalised words alone do not say
  which type an entity is, and a wrong type is worse than none.

Limits follow Comprehend's: 5,000 UTF-8 bytes for sentiment, 100 KB for the others.
"""

from __future__ import annotations

import calendar
import functools
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aigw.local import outside_service_time
from aigw.local.services.providers import ServiceError

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from aigw.local.services.providers import ProviderRegistry

Params = dict[str, Any]
Span = tuple[int, int]

SENTIMENT_MAX_BYTES = 5000
TEXT_MAX_BYTES = 100_000
MAX_KEY_PHRASES = 10

# --------------------------------------------------------------------------- shared checks


def _text(params: Params, operation: str, max_bytes: int = TEXT_MAX_BYTES) -> str:
    text: str = params["Text"]
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise ServiceError(
            "TextSizeLimitExceededException",
            f"{operation} accepts at most {max_bytes} bytes of UTF-8 text; this is {size}",
        )
    return text


def _require_language(params: Params, supported: Iterable[str], why: str) -> str:
    language: str = params["LanguageCode"]
    if language not in supported:
        raise ServiceError("UnsupportedLanguageException", f"{why}, not {language!r}")
    return language


# --------------------------------------------------------------------------- language

_LANGDETECT_LOCK = threading.Lock()
# langdetect's codes that differ from Comprehend's (RFC 5646).
_LANGUAGE_CODES = {"zh-cn": "zh", "zh-tw": "zh-TW"}


@functools.cache
def _langdetect() -> Callable[[str], list[Any]]:
    """Load langdetect's profiles once, on first use (0.3 s), under a lock: the state
    machine's parallel branches call in from several threads and its loader is not safe.
    Loading is not the service's time (see ``outside_service_time``)."""
    with outside_service_time(), _LANGDETECT_LOCK:
        from langdetect import DetectorFactory, detect_langs, detector_factory

        DetectorFactory.seed = 0  # langdetect samples randomly; a seed makes it repeatable
        detector_factory.init_factory()
        return detect_langs


def detect_dominant_language(params: Params) -> Params:
    text = _text(params, "DetectDominantLanguage")
    if not text.strip():
        raise ServiceError("InvalidRequestException", "the text is empty or only whitespace")
    from langdetect.lang_detect_exception import LangDetectException

    try:
        candidates = _langdetect()(text)
    except LangDetectException as error:  # e.g. only digits and punctuation
        raise ServiceError(
            "InvalidRequestException", f"no language can be detected in this text: {error}"
        ) from error
    languages = [
        {"LanguageCode": _LANGUAGE_CODES.get(c.lang, c.lang), "Score": round(c.prob, 4)}
        for c in candidates[:3]
    ]
    english = _short_english_share(text)
    if english is not None and languages[0]["LanguageCode"] != "en":
        # What English does not take is left to the others, in their proportions.
        others = [
            {"LanguageCode": language["LanguageCode"], "Score": round(score, 4)}
            for language in languages
            if language["LanguageCode"] != "en"
            and (score := language["Score"] * (1 - english)) >= 0.0001
        ]
        languages = [{"LanguageCode": "en", "Score": round(english, 4)}, *others[:2]]
    return {"Languages": languages}


# langdetect's character n-grams misread short English ("I love it" as Slovenian, "ok" as
# Slovak); Comprehend does not. For a short text whose words are mostly common English words
# (these, or words of VADER's English lexicon), English is the answer.
_SHORT_TEXT_WORDS = 12
_ENGLISH_SHARE = 0.75
_COMMON_ENGLISH = """
a about after again all also am an and any are as at be because been before but by
can could day did do does done for from get got had has have he her here him his how
i if in into is it its just know like look lot make me more most much my new no not
now of ok okay on one only or other our out over please really right said same see
she so some still such thank thanks than that the their them then there these they
thing this those time to too up us very want was way we well were what when where
which while who why will with would yes yet you your
"""
_ENGLISH_WORDS = frozenset(_COMMON_ENGLISH.split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _short_english_share(text: str) -> float | None:
    """The share of common English words in a short text, when it is over the bar."""
    words = [word.lower() for word in _WORD.findall(text)]
    if not words or len(words) > _SHORT_TEXT_WORDS:
        return None
    lexicon = _vader().lexicon
    known = sum(1 for word in words if word in _ENGLISH_WORDS or word in lexicon)
    share = known / len(words)
    return share if share >= _ENGLISH_SHARE else None


# --------------------------------------------------------------------------- sentiment

# VADER's own thresholds for its compound score.
_COMPOUND_THRESHOLD = 0.05
# MIXED when the weaker of positive/negative is this large, and this close to the stronger.
_MIXED_MIN = 0.1
_MIXED_BALANCE = 0.4


@functools.cache
def _vader() -> SentimentIntensityAnalyzer:
    with outside_service_time():  # loading the lexicon on first use
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        return SentimentIntensityAnalyzer()


def sentiment_from_vader(scores: dict[str, float]) -> Params:
    """Map VADER's pos/neg/neu/compound to Comprehend's label and four scores summing to 1.

    The label gets a confidence of at least 0.5 (so it is always the top score, as in
    Comprehend); the rest is shared in proportion to VADER's other parts, where the overlap
    of positive and negative counts as mixed.
    """
    positive, negative, neutral = scores["pos"], scores["neg"], scores["neu"]
    compound = scores["compound"]
    shared = min(positive, negative)
    if shared >= _MIXED_MIN and shared / max(positive, negative) >= _MIXED_BALANCE:
        label, confidence = "MIXED", 0.5 + 0.5 * shared / max(positive, negative)
    elif compound >= _COMPOUND_THRESHOLD:
        label, confidence = "POSITIVE", 0.5 + 0.5 * compound
    elif compound <= -_COMPOUND_THRESHOLD:
        label, confidence = "NEGATIVE", 0.5 - 0.5 * compound
    else:
        label, confidence = "NEUTRAL", 1.0 - 0.5 * abs(compound) / _COMPOUND_THRESHOLD
    parts = {
        "Positive": positive - shared,
        "Negative": negative - shared,
        "Neutral": neutral,
        "Mixed": 2 * shared,
    }
    key = label.capitalize()
    confidence = max(confidence, parts.pop(key))
    rest, total = 1.0 - confidence, sum(parts.values())
    result = {name: rest * part / total if total else rest / 3 for name, part in parts.items()}
    result[key] = confidence
    return {
        "Sentiment": label,
        "SentimentScore": {name: round(result[name], 4) for name in _SCORE_ORDER},
    }


_SCORE_ORDER = ("Positive", "Negative", "Neutral", "Mixed")


def detect_sentiment(params: Params) -> Params:
    text = _text(params, "DetectSentiment", SENTIMENT_MAX_BYTES)
    _require_language(params, {"en"}, "the local sentiment model (VADER) only knows English")
    return sentiment_from_vader(_vader().polarity_scores(text))


# --------------------------------------------------------------------------- PII


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _iban_valid(iban: str) -> bool:
    if not 15 <= len(iban) <= 34:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+")
_URL_TRAILING = ".,;:!?)]}'\""
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8}\b")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
    r"|(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4})(?![\w-])"
)


def _urls(text: str) -> Iterable[Span]:
    for match in _URL.finditer(text):
        end = match.end()
        while end > match.start() and text[end - 1] in _URL_TRAILING:
            end -= 1
        yield match.start(), end


def _cards(text: str) -> Iterable[Span]:
    for match in _CARD.finditer(text):
        if _luhn_valid(re.sub(r"\D", "", match.group())):
            yield match.span()


def _ibans(text: str) -> Iterable[Span]:
    # The pattern may swallow a following group (a currency code, say): try shorter prefixes.
    for match in _IBAN.finditer(text):
        groups = match.group().split(" ")
        for count in range(len(groups), 0, -1):
            candidate = " ".join(groups[:count])
            if _iban_valid(candidate.replace(" ", "")):
                yield match.start(), match.start() + len(candidate)
                break


def _ipv4s(text: str) -> Iterable[Span]:
    for match in _IPV4.finditer(text):
        if all(int(octet) <= 255 for octet in match.group().split(".")):
            yield match.span()


def _phones(text: str) -> Iterable[Span]:
    for match in _PHONE.finditer(text):
        if 7 <= len(re.sub(r"\D", "", match.group())) <= 15:
            yield match.span()


def _matches(pattern: re.Pattern[str]) -> Callable[[str], Iterable[Span]]:
    return lambda text: (match.span() for match in pattern.finditer(text))


# In priority order: a span overlapping one found earlier is not reported again.
_PII_FINDERS: list[tuple[str, float, Callable[[str], Iterable[Span]]]] = [
    ("EMAIL", 0.99, _matches(_EMAIL)),
    ("URL", 0.99, _urls),
    ("INTERNATIONAL_BANK_ACCOUNT_NUMBER", 0.99, _ibans),
    ("CREDIT_DEBIT_NUMBER", 0.99, _cards),
    ("SSN", 0.99, _matches(_SSN)),
    ("IP_ADDRESS", 0.99, _ipv4s),
    ("PHONE", 0.85, _phones),
]


def _overlaps(span: Span, taken: list[Span]) -> bool:
    return any(span[0] < end and begin < span[1] for begin, end in taken)


def detect_pii_entities(params: Params) -> Params:
    text = _text(params, "DetectPiiEntities")
    _require_language(params, {"en", "es"}, "DetectPiiEntities supports only 'en' and 'es'")
    found: list[tuple[Span, str, float]] = []
    for kind, score, finder in _PII_FINDERS:
        for span in finder(text):
            if not _overlaps(span, [taken for taken, _, _ in found]):
                found.append((span, kind, score))
    return {
        "Entities": [
            {"Score": score, "Type": kind, "BeginOffset": begin, "EndOffset": end}
            for (begin, end), kind, score in sorted(found)
        ]
    }


# --------------------------------------------------------------------------- key phrases

_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves also may might must shall us let get got said say says many much well even
    still yet ever every via per""".split()  # noqa: SIM905 (a word list reads better as text)
)
_WORD = re.compile(r"[^\W\d_](?:[\w'-]*\w)?|\d+(?:[.,]\d+)*")
_PHRASE_GAP = re.compile(r"[ \t]+")
_MAX_PHRASE_WORDS = 4


def _candidate_phrases(text: str) -> list[list[re.Match[str]]]:
    """Runs of non-stopwords separated only by spaces: stopwords and punctuation end a run."""
    phrases: list[list[re.Match[str]]] = []
    run: list[re.Match[str]] = []
    for word in _WORD.finditer(text):
        joined = bool(run) and _PHRASE_GAP.fullmatch(text, run[-1].end(), word.start())
        if not joined and run:
            phrases.append(run)
            run = []
        if word.group().lower() in _STOPWORDS:
            if run:
                phrases.append(run)
                run = []
        else:
            run.append(word)
    if run:
        phrases.append(run)
    return [
        phrase
        for phrase in phrases
        if len(phrase) <= _MAX_PHRASE_WORDS
        and any(not word.group()[0].isdigit() for word in phrase)
        and (len(phrase) > 1 or len(phrase[0].group()) > 2)
    ]


def detect_key_phrases(params: Params) -> Params:
    text = _text(params, "DetectKeyPhrases")
    _require_language(params, {"en"}, "the local key phrase extractor only knows English")
    phrases = _candidate_phrases(text)
    frequency: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for phrase in phrases:
        for word in phrase:
            frequency[word.group().lower()] += 1
            degree[word.group().lower()] += len(phrase)
    scores: dict[str, float] = {}
    occurrences: defaultdict[str, list[Span]] = defaultdict(list)
    for phrase in phrases:
        key = " ".join(word.group().lower() for word in phrase)
        scores[key] = sum(degree[w] / frequency[w] for w in key.split(" "))
        occurrences[key].append((phrase[0].start(), phrase[-1].end()))
    best = sorted(scores, key=lambda key: (-scores[key], occurrences[key][0]))[:MAX_KEY_PHRASES]
    top = max(scores.values(), default=1.0)
    return {
        "KeyPhrases": sorted(
            (
                {
                    "Score": round(scores[key] / top, 4),
                    "Text": text[begin:end],
                    "BeginOffset": begin,
                    "EndOffset": end,
                }
                for key in best
                for begin, end in occurrences[key]
            ),
            key=lambda phrase: phrase["BeginOffset"],
        )
    }


# --------------------------------------------------------------------------- entities

_MONTHS = {
    **{name.lower(): number for number, name in enumerate(calendar.month_name) if number},
    **{name.lower(): number for number, name in enumerate(calendar.month_abbr) if number},
    **{
        name: number
        for number, name in enumerate(
            [
                *("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto"),
                *("septiembre", "octubre", "noviembre", "diciembre"),
            ],
            start=1,
        )
    },
    "sept": 9,
}
_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    "|lunes|martes|miércoles|miercoles|jueves|viernes|sábado|sabado|domingo"
)
_DATE_PATTERNS = [
    re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b"),
    re.compile(
        rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)? (?:de )?{_MONTH},? (?:de )?(?P<year>\d{{4}})\b",
        re.I,
    ),
    re.compile(rf"\b{_MONTH} (?P<day>\d{{1,2}})(?:st|nd|rd|th)?,? (?P<year>\d{{4}})\b", re.I),
    re.compile(r"\b(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<year>\d{4})\b"),
    re.compile(rf"\b(?:{_WEEKDAYS})\b", re.I),
]
_NUMBER = r"\d{1,3}(?:[,.\u00a0]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_CURRENCY_CODES = "EUR|USD|GBP|JPY|CHF|CAD|AUD|CNY|INR|MXN|BRL|SEK|NOK|DKK|PLN"
_UNITS = (
    "kg|g|mg|km|m|cm|mm|ft|lb|lbs|oz|ml|kWh|kW|W|V|GB|MB|KB|TB|ms|min|h"
    "|hours?|minutes?|seconds?|days?|weeks?|months?|years?|km/h|mph|°C|°F"
    "|percent|per cent|por ciento|horas?|días?|dias?|semanas?|meses|mes|años?"
)
_QUANTITY = re.compile(
    rf"(?:[$€£¥]|\b(?:{_CURRENCY_CODES}) ?)(?:{_NUMBER})\b"
    rf"|\b(?:{_NUMBER})(?: ?(?:[$€£¥%]|\b(?:{_CURRENCY_CODES}|{_UNITS})\b))"
)


def _valid_date(match: re.Match[str]) -> bool:
    fields = match.groupdict()
    if "year" not in fields:
        return True  # a weekday name
    year = int(fields["year"])
    if "a" in fields:  # 12/03/2024: a date if either day/month order makes one
        a, b = int(fields["a"]), int(fields["b"])
        return _real_day(year, b, a) or _real_day(year, a, b)
    month = fields["month"]
    number = int(month) if month.isdigit() else _MONTHS[month.lower()]
    return _real_day(year, number, int(fields["day"]))


def _real_day(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def detect_entities(params: Params) -> Params:
    from aigw.providers import ner

    text = _text(params, "DetectEntities")
    language = _require_language(
        params, {"en", "es"}, "the local entity rules know only 'en' and 'es'"
    )
    found: list[tuple[Span, str]] = []
    candidates = [
        (match.span(), "DATE")
        for pattern in _DATE_PATTERNS
        for match in pattern.finditer(text)
        if _valid_date(match)
    ] + [(match.span(), "QUANTITY") for match in _QUANTITY.finditer(text)]
    # Longest first, so "12 March 2024" wins over a "12 m"-like fragment inside it.
    for span, kind in sorted(candidates, key=lambda item: (item[0][0] - item[0][1], item[0])):
        if not _overlaps(span, [taken for taken, _ in found]):
            found.append((span, kind))
    entities = [ner.Entity(begin, end, kind, 0.95) for (begin, end), kind in sorted(found)]
    if language == "en" and ner.available():
        # spaCy adds names, organisations, places; the rules win overlaps, and a date they
        # matched but the calendar rejects ("31 February 2024") is not let in by spaCy either.
        impossible = [
            match.span()
            for pattern in _DATE_PATTERNS
            for match in pattern.finditer(text)
            if not _valid_date(match)
        ]
        entities = ner.merge(entities, ner.entities(text), vetoed=impossible)
    return {
        "Entities": [
            {
                "Score": entity.score,
                "Type": entity.type,
                "Text": text[entity.begin : entity.end],
                "BeginOffset": entity.begin,
                "EndOffset": entity.end,
            }
            for entity in entities
        ]
    }


# --------------------------------------------------------------------------- registration


#: Comprehend operation name -> provider.
OPERATIONS: dict[str, Callable[[Params], Params]] = {
    "DetectDominantLanguage": detect_dominant_language,
    "DetectSentiment": detect_sentiment,
    "DetectPiiEntities": detect_pii_entities,
    "DetectKeyPhrases": detect_key_phrases,
    "DetectEntities": detect_entities,
}


def install(registry: ProviderRegistry) -> None:
    for operation, provider in OPERATIONS.items():
        registry.register("comprehend", operation, provider)
