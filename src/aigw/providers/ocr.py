"""Offline OCR and image decoding shared by the local Textract and Rekognition providers.

OCR is RapidOCR (``rapidocr``: PaddleOCR's PP-OCR detection and recognition models, shipped
inside the wheel, run by onnxruntime). The engine is loaded once, on first use (about
0.6 s), and calls are serialised by a lock: the state machine's parallel branches call in
from several threads, and one engine already uses every core. A blank image (no contrast)
is not sent to the engine. It reads horizontal printed text (Latin script, digits and
punctuation; the models also know Chinese); images are downscaled to at most 2000 px a side
first, so very small print on a large page may be lost.

Decoding is OpenCV's: PNG (transparent parts shown on white, 16-bit and grey images made
8-bit BGR), JPEG (turned by its EXIF orientation) and TIFF (every page).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from aigw.local import outside_service_time

Array = np.ndarray[Any, Any]
Point = tuple[float, float]
T = TypeVar("T")


class Lazy(Generic[T]):
    """A value made on first use, once, even when several threads ask for it at once.

    Loading (and waiting for another thread's load) is not the service's time: a state's
    TimeoutSeconds does not count it, as AWS's warm services would not have spent it."""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._value: T | None = None
        self._loaded = False

    def get(self) -> T:
        if not self._loaded:
            with outside_service_time(), self._lock:
                if not self._loaded:
                    self._value = self._load()
                    self._loaded = True
        return self._value  # type: ignore[return-value]

    @property
    def loaded(self) -> bool:
        return self._loaded


@contextmanager
def one_at_a_time(lock: threading.Lock) -> Iterator[None]:
    """Hold ``lock`` for a model that serves one call at a time. The wait for it is a queue
    AWS would not have (its services scale out), so it is not the service's time."""
    with outside_service_time():
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@dataclass(frozen=True)
class Word:
    text: str
    score: float  # 0..1
    polygon: tuple[Point, ...]  # pixels: top-left, top-right, bottom-right, bottom-left


@dataclass(frozen=True)
class Line:
    text: str
    score: float  # 0..1
    polygon: tuple[Point, ...]
    words: tuple[Word, ...]


def sniff(data: bytes) -> str | None:
    """The container format from the first bytes: "pdf", "png", "jpeg", "tiff" or None."""
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return None


def decode(data: bytes) -> list[Array]:
    """The BGR pages of a PNG, JPEG or TIFF (one for PNG and JPEG); [] when it cannot be read."""
    import cv2

    buffer = np.frombuffer(data, np.uint8)
    kind = sniff(data)
    if kind == "tiff":
        ok, pages = cv2.imdecodemulti(buffer, cv2.IMREAD_COLOR)
        return [page for page in pages if page is not None and page.size] if ok else []
    if kind == "png":  # may have transparency, grey levels or 16 bits
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
        return [_opaque_bgr(image)] if image is not None and image.size else []
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)  # applies the EXIF orientation
    return [image] if image is not None and image.size else []


def _opaque_bgr(image: Array) -> Array:
    """8-bit BGR, transparent parts on white (as a viewer shows them), not on black."""
    import cv2

    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        blended = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return blended.round().astype(np.uint8)
    return image


def _load_engine() -> Any:
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "error"})


_ENGINE = Lazy(_load_engine)
# One call at a time: an engine call already uses every core, and RapidOCR keeps state.
_ENGINE_LOCK = threading.Lock()
#: An image whose darkest and lightest pixels differ by less than this is blank.
BLANK_CONTRAST = 16


def _polygon(points: Any) -> tuple[Point, ...]:
    return tuple((float(x), float(y)) for x, y in points)


def recognise(image: Array) -> list[Line]:
    """The text lines of a BGR image, top to bottom, with their words."""
    if int(image.max()) - int(image.min()) < BLANK_CONTRAST:
        return []  # a blank page: nothing to read, and no need to load the engine
    engine = _ENGINE.get()
    with one_at_a_time(_ENGINE_LOCK):
        result = engine(image, return_word_box=True)
    if result.txts is None:
        return []
    word_results = result.word_results or ()
    lines = []
    for index, (text, score, box) in enumerate(
        zip(result.txts, result.scores, result.boxes, strict=True)
    ):
        words = tuple(
            Word(word, float(word_score), _polygon(word_box))
            for word, word_score, word_box in (
                word_results[index] if index < len(word_results) else ()
            )
            if word and word.strip() and word_box is not None
        )
        if text.strip():
            lines.append(Line(text.strip(), float(score), _polygon(box), words))
    return lines


def geometry(polygon: tuple[Point, ...], width: int, height: int) -> dict[str, Any]:
    """An AWS Geometry (BoundingBox and Polygon as ratios of the image) of a pixel polygon."""
    xs = [min(max(x / width, 0.0), 1.0) for x, _ in polygon]
    ys = [min(max(y / height, 0.0), 1.0) for _, y in polygon]
    return {
        "BoundingBox": {
            "Width": max(xs) - min(xs),
            "Height": max(ys) - min(ys),
            "Left": min(xs),
            "Top": min(ys),
        },
        "Polygon": [{"X": x, "Y": y} for x, y in zip(xs, ys, strict=True)],
    }
