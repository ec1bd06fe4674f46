"""Simulated AI services with a fixed service time, for measuring the gateway itself.

Every AI operation the state machines call (Comprehend, Translate, Textract's asynchronous
text detection and analysis, Rekognition, SageMaker Runtime) is answered with a valid,
deterministic response of the real shape after sleeping ``service_time_s``, the way a load
test puts a fake endpoint with a known latency behind a proxy to measure the proxy's own
overhead. The answers are trivial (a word list for sentiment, capitalised runs for entities,
e-mail addresses for PII); they exist to exercise the gateway, not to be right.

Textract reads the S3 object it is given as UTF-8 text: pages are separated by form feeds
(``\\f``) and lines by newlines, so a caller controls the page count and text size; any
other content is one page of fixed lines. The completion is published to the request's
``NotificationChannel`` before ``Start*`` returns, as the local Textract does.

Sleeping holds no lock: concurrent calls overlap, as calls to a real service do.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3

from aigw.local.services.providers import ServiceError
from aigw.providers import documents

if TYPE_CHECKING:
    from aigw.local.services.providers import ProviderRegistry

Params = dict[str, Any]

NEGATIVE_WORDS = frozenset({"terrible", "awful", "slow", "broken", "hate", "bad"})
POSITIVE_WORDS = frozenset({"great", "love", "excellent", "fast", "good", "wonderful"})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ENTITY = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)+\b")
_SPANISH = re.compile(r"\b(el|la|muy|es|servicio|los|las)\b", re.IGNORECASE)
_FALLBACK_LINES = ["SIMULATED DOCUMENT", "Total due: 1,234.00 EUR", "Contact billing@example.com"]


class SimulatedServices:
    """The operations' answers; ``calls`` counts them (service, operation) for reports."""

    def __init__(self, service_time_s: float) -> None:
        if service_time_s < 0:
            raise ValueError("service_time_s must be >= 0")
        self.service_time_s = service_time_s
        self.calls: dict[tuple[str, str], int] = {}
        self._jobs: dict[str, tuple[int, list[Params]]] = {}
        self._lock = threading.Lock()

    def _serve(self, service: str, operation: str) -> None:
        with self._lock:
            self.calls[(service, operation)] = self.calls.get((service, operation), 0) + 1
        if self.service_time_s:
            time.sleep(self.service_time_s)

    # ------------------------------------------------------------------ Comprehend
    def detect_dominant_language(self, params: Params) -> Params:
        self._serve("comprehend", "DetectDominantLanguage")
        code = "es" if _SPANISH.search(params["Text"]) else "en"
        return {"Languages": [{"LanguageCode": code, "Score": 0.98}]}

    def detect_sentiment(self, params: Params) -> Params:
        self._serve("comprehend", "DetectSentiment")
        words = set(re.findall(r"[a-z]+", params["Text"].lower()))
        negative, positive = len(words & NEGATIVE_WORDS), len(words & POSITIVE_WORDS)
        label = "NEGATIVE" if negative > positive else "POSITIVE" if positive else "NEUTRAL"
        scores = {"Positive": 0.05, "Negative": 0.05, "Neutral": 0.05, "Mixed": 0.05}
        scores[label.capitalize()] = 0.85
        return {"Sentiment": label, "SentimentScore": scores}

    def detect_entities(self, params: Params) -> Params:
        self._serve("comprehend", "DetectEntities")
        return {
            "Entities": [
                {
                    "Text": match.group(),
                    "Type": "ORGANIZATION",
                    "Score": 0.9,
                    "BeginOffset": match.start(),
                    "EndOffset": match.end(),
                }
                for match in _ENTITY.finditer(params["Text"])
            ]
        }

    def detect_key_phrases(self, params: Params) -> Params:
        self._serve("comprehend", "DetectKeyPhrases")
        phrases = [
            {
                "Text": match.group(),
                "Score": 0.95,
                "BeginOffset": match.start(),
                "EndOffset": match.end(),
            }
            for match in re.finditer(r"\b\w+ (?:service|delivery|support)\b", params["Text"])
        ]
        return {"KeyPhrases": phrases[:10]}

    def detect_pii_entities(self, params: Params) -> Params:
        self._serve("comprehend", "DetectPiiEntities")
        return {
            "Entities": [
                {"Type": "EMAIL", "Score": 0.99, "BeginOffset": m.start(), "EndOffset": m.end()}
                for m in _EMAIL.finditer(params["Text"])
            ]
        }

    # ------------------------------------------------------------------ Translate
    def translate_text(self, params: Params) -> Params:
        self._serve("translate", "TranslateText")
        return {
            "TranslatedText": f"[{params['TargetLanguageCode']}] {params['Text']}",
            "SourceLanguageCode": params["SourceLanguageCode"],
            "TargetLanguageCode": params["TargetLanguageCode"],
        }

    # ------------------------------------------------------------------ Textract
    def start_document(self, api: str, params: Params) -> Params:
        self._serve("textract", api)
        location = params["DocumentLocation"]["S3Object"]
        channel = params.get("NotificationChannel")
        region = channel["SNSTopicArn"].split(":")[3] if channel else None
        pages = _pages(_read_object(location, region))
        job_id = uuid.uuid4().hex
        with self._lock:
            self._jobs[job_id] = (len(pages), _blocks(pages))
        if channel:
            documents.publish_completion(channel, job_id, api, params)
        return {"JobId": job_id}

    def get_document(self, api: str, version: str, params: Params) -> Params:
        self._serve("textract", api)
        with self._lock:
            job = self._jobs.get(params["JobId"])
        if job is None:
            raise ServiceError("InvalidJobIdException", f"there is no job {params['JobId']!r}")
        pages, blocks = job
        return {
            "JobStatus": "SUCCEEDED",
            "DocumentMetadata": {"Pages": pages},
            "Blocks": blocks,
            version: "1.0",
        }

    # ------------------------------------------------------------------ Rekognition
    def detect_labels(self, params: Params) -> Params:
        self._serve("rekognition", "DetectLabels")
        return {
            "Labels": [
                {"Name": "Dog", "Confidence": 97.5, "Instances": [], "Parents": []},
                {"Name": "Grass", "Confidence": 88.1, "Instances": [], "Parents": []},
            ],
            "LabelModelVersion": "3.0",
        }

    def detect_text(self, params: Params) -> Params:
        self._serve("rekognition", "DetectText")
        box = {"Width": 0.2, "Height": 0.05, "Left": 0.1, "Top": 0.1}
        return {
            "TextDetections": [
                {
                    "DetectedText": "SALE",
                    "Type": "LINE",
                    "Id": 0,
                    "Confidence": 99.2,
                    "Geometry": {"BoundingBox": box},
                }
            ],
            "TextModelVersion": "3.0",
        }

    def detect_faces(self, params: Params) -> Params:
        self._serve("rekognition", "DetectFaces")
        return {
            "FaceDetails": [
                {
                    "BoundingBox": {"Width": 0.3, "Height": 0.4, "Left": 0.35, "Top": 0.2},
                    "Confidence": 99.9,
                }
            ]
        }

    def detect_moderation_labels(self, params: Params) -> Params:
        self._serve("rekognition", "DetectModerationLabels")
        return {"ModerationLabels": [], "ModerationModelVersion": "7.0"}

    # ------------------------------------------------------------------ SageMaker
    def invoke_endpoint(self, params: Params) -> Params:
        self._serve("sagemaker-runtime", "InvokeEndpoint")
        accept = params.get("Accept") or "application/json"
        body = "[0.82]" if "json" in accept else "0.82"
        return {"Body": body.encode(), "ContentType": accept, "InvokedProductionVariant": "main"}

    def install(self, registry: ProviderRegistry) -> SimulatedServices:
        operations = [
            ("comprehend", "DetectDominantLanguage", self.detect_dominant_language),
            ("comprehend", "DetectSentiment", self.detect_sentiment),
            ("comprehend", "DetectEntities", self.detect_entities),
            ("comprehend", "DetectKeyPhrases", self.detect_key_phrases),
            ("comprehend", "DetectPiiEntities", self.detect_pii_entities),
            ("translate", "TranslateText", self.translate_text),
            ("rekognition", "DetectLabels", self.detect_labels),
            ("rekognition", "DetectText", self.detect_text),
            ("rekognition", "DetectFaces", self.detect_faces),
            ("rekognition", "DetectModerationLabels", self.detect_moderation_labels),
            ("sagemaker-runtime", "InvokeEndpoint", self.invoke_endpoint),
        ]
        for start, get, version in [
            (
                "StartDocumentTextDetection",
                "GetDocumentTextDetection",
                "DetectDocumentTextModelVersion",
            ),
            ("StartDocumentAnalysis", "GetDocumentAnalysis", "AnalyzeDocumentModelVersion"),
        ]:
            operations.append(
                ("textract", start, lambda params, api=start: self.start_document(api, params))
            )
            operations.append(
                (
                    "textract",
                    get,
                    lambda params, api=get, version=version: self.get_document(
                        api, version, params
                    ),
                )
            )
        for service, operation, provider in operations:
            registry.register(service, operation, provider)
        return self


def install(registry: ProviderRegistry, service_time_s: float) -> SimulatedServices:
    """Register the simulated answers for every AI operation the workflows call."""
    return SimulatedServices(service_time_s).install(registry)


def _read_object(location: Params, region: str | None) -> bytes:
    try:
        response = boto3.client("s3", region_name=region).get_object(
            Bucket=location["Bucket"], Key=location["Name"]
        )
    except Exception as error:  # any S3 failure is what Textract would report
        raise ServiceError(
            "InvalidS3ObjectException",
            f"s3://{location['Bucket']}/{location['Name']} cannot be read",
        ) from error
    data: bytes = response["Body"].read()
    return data


def _pages(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [list(_FALLBACK_LINES)]
    if not text.strip() or "\x00" in text:
        return [list(_FALLBACK_LINES)]
    return [[line for line in page.split("\n") if line.strip()] for page in text.split("\f")]


def _blocks(pages: list[list[str]]) -> list[Params]:
    blocks: list[Params] = []
    for number, lines in enumerate(pages, 1):
        line_blocks = [
            {
                "BlockType": "LINE",
                "Id": f"p{number}l{index}",
                "Page": number,
                "Text": line,
                "Confidence": 99.0,
                "Geometry": {
                    "BoundingBox": {
                        "Left": 0.1,
                        "Top": min(0.95, 0.02 * (index + 1)),
                        "Width": 0.8,
                        "Height": 0.015,
                    }
                },
            }
            for index, line in enumerate(lines)
        ]
        page: Params = {
            "BlockType": "PAGE",
            "Id": f"p{number}",
            "Page": number,
            "Geometry": {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 1.0, "Height": 1.0}},
        }
        if line_blocks:
            page["Relationships"] = [{"Type": "CHILD", "Ids": [b["Id"] for b in line_blocks]}]
        blocks += [page, *line_blocks]
    return blocks
