"""Deterministic stand-ins for the AI services, for the gateway's flow tests.

They answer the same operations, with the same response shapes, as the services the ASL
calls, using trivial rules (a word list for sentiment, capitalised words for entities), so
that a test can predict every answer. The real offline models are the local providers of
`aigw local`; these only exercise the gateway's plumbing. ``install(runtime)`` registers
them; each returns call counts so tests can assert retries.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter
from typing import Any

import boto3

from aigw.local.runtime import LocalRuntime
from aigw.local.services.providers import ServiceError

NEGATIVE_WORDS = {"terrible", "awful", "slow", "broken", "hate", "bad"}
POSITIVE_WORDS = {"great", "love", "excellent", "fast", "good", "wonderful"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class FakeServices:
    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.calls: Counter[str] = Counter()
        self.textract_jobs: dict[str, dict[str, Any]] = {}
        self.textract_outcome = "SUCCEEDED"
        self.document_lines = [
            "INVOICE 2041",
            "Total due: 1,234.00 EUR",
            "Contact billing@example.com",
        ]
        self.pushed: dict[str, list[dict[str, Any]]] = {}
        self.gone_connections: set[str] = set()
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    # ------------------------------------------------------------------ Comprehend
    def detect_dominant_language(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("DetectDominantLanguage")
        spanish = re.search(r"\b(el|la|muy|es|servicio)\b", params["Text"], re.IGNORECASE)
        return {"Languages": [{"LanguageCode": "es" if spanish else "en", "Score": 0.98}]}

    def detect_sentiment(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("DetectSentiment")
        words = set(re.findall(r"[a-z]+", params["Text"].lower()))
        negative, positive = len(words & NEGATIVE_WORDS), len(words & POSITIVE_WORDS)
        label = "NEGATIVE" if negative > positive else "POSITIVE" if positive else "NEUTRAL"
        scores = {"Positive": 0.05, "Negative": 0.05, "Neutral": 0.05, "Mixed": 0.05}
        scores[label.capitalize()] = 0.85
        return {"Sentiment": label, "SentimentScore": scores}

    def detect_entities(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("DetectEntities")
        return {
            "Entities": [
                {
                    "Text": match.group(),
                    "Type": "ORGANIZATION",
                    "Score": 0.9,
                    "BeginOffset": match.start(),
                    "EndOffset": match.end(),
                }
                for match in re.finditer(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)+\b", params["Text"])
            ]
        }

    def detect_key_phrases(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("DetectKeyPhrases")
        match = re.search(r"\b\w+ service\b", params["Text"])
        phrases = []
        if match:
            phrases.append(
                {
                    "Text": match.group(),
                    "Score": 0.95,
                    "BeginOffset": match.start(),
                    "EndOffset": match.end(),
                }
            )
        return {"KeyPhrases": phrases}

    def detect_pii_entities(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("DetectPiiEntities")
        return {
            "Entities": [
                {"Type": "EMAIL", "Score": 0.99, "BeginOffset": m.start(), "EndOffset": m.end()}
                for m in EMAIL.finditer(params["Text"])
            ]
        }

    def translate_text(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("TranslateText")
        if params["TargetLanguageCode"] == "de":
            raise ServiceError("UnsupportedLanguagePairException", "no model for es to de")
        return {
            "TranslatedText": f"[{params['TargetLanguageCode']}] {params['Text']}",
            "SourceLanguageCode": params["SourceLanguageCode"],
            "TargetLanguageCode": params["TargetLanguageCode"],
        }

    # ------------------------------------------------------------------ Textract
    def start_textract(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("StartTextract")
        job_id = uuid.uuid4().hex
        self.textract_jobs[job_id] = params
        if self.textract_outcome == "HOLD":  # the job never finishes (until cancelled)
            return {"JobId": job_id}
        channel = params["NotificationChannel"]
        location = params["DocumentLocation"]["S3Object"]
        # Published before Start* even returns: the workflow must already find the token.
        boto3.client("sns", region_name=self.runtime.region).publish(
            TopicArn=channel["SNSTopicArn"],
            Message=json.dumps(
                {
                    "JobId": job_id,
                    "Status": self.textract_outcome,
                    "API": "StartDocumentTextDetection",
                    "JobTag": params.get("JobTag"),
                    "Timestamp": 0,
                    "DocumentLocation": {
                        "S3ObjectName": location["Name"],
                        "S3Bucket": location["Bucket"],
                    },
                }
            ),
        )
        return {"JobId": job_id}

    def get_textract(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("GetTextract")
        blocks: list[dict[str, Any]] = [{"BlockType": "PAGE", "Id": "p1", "Page": 1}]
        for number, line in enumerate(self.document_lines):
            blocks.append(
                {
                    "BlockType": "LINE",
                    "Id": f"l{number}",
                    "Page": 1,
                    "Text": line,
                    "Confidence": 99.0,
                    "Geometry": {
                        "BoundingBox": {
                            "Left": 0.1,
                            "Top": 0.1 * (number + 1),
                            "Width": 0.5,
                            "Height": 0.05,
                        }
                    },
                }
            )
        return {
            "JobStatus": "SUCCEEDED",
            "DocumentMetadata": {"Pages": 1},
            "Blocks": blocks,
        }

    # ------------------------------------------------------------------ Rekognition
    def detect_labels(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("DetectLabels")
        return {
            "Labels": [{"Name": "Dog", "Confidence": 97.5}, {"Name": "Grass", "Confidence": 88.1}]
        }

    def detect_text(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("DetectText")
        return {
            "TextDetections": [
                {"DetectedText": "SALE", "Type": "LINE", "Confidence": 99.2, "Id": 0}
            ]
        }

    def detect_faces(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("DetectFaces")
        return {"FaceDetails": []}

    def detect_moderation_labels(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("DetectModerationLabels")
        return {"ModerationLabels": []}

    # ------------------------------------------------------------------ WebSocket @connections
    def post_to_connection(self, params: dict[str, Any]) -> dict[str, Any]:
        connection_id = params["ConnectionId"]
        if connection_id in self.gone_connections:
            raise ServiceError("GoneException", "the connection is closed")
        with self._lock:
            self.pushed.setdefault(connection_id, []).append(json.loads(params["Data"]))
        return {}

    # ------------------------------------------------------------------ SageMaker
    def invoke_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        self._count("InvokeEndpoint")
        return {"Body": b"0.82", "ContentType": "text/csv"}

    def install(self) -> FakeServices:
        registry = self.runtime.providers
        for service, operation, provider in [
            ("comprehend", "DetectDominantLanguage", self.detect_dominant_language),
            ("comprehend", "DetectSentiment", self.detect_sentiment),
            ("comprehend", "DetectEntities", self.detect_entities),
            ("comprehend", "DetectKeyPhrases", self.detect_key_phrases),
            ("comprehend", "DetectPiiEntities", self.detect_pii_entities),
            ("translate", "TranslateText", self.translate_text),
            ("textract", "StartDocumentTextDetection", self.start_textract),
            ("textract", "StartDocumentAnalysis", self.start_textract),
            ("textract", "GetDocumentTextDetection", self.get_textract),
            ("textract", "GetDocumentAnalysis", self.get_textract),
            ("rekognition", "DetectLabels", self.detect_labels),
            ("rekognition", "DetectText", self.detect_text),
            ("rekognition", "DetectFaces", self.detect_faces),
            ("rekognition", "DetectModerationLabels", self.detect_moderation_labels),
            ("sagemaker-runtime", "InvokeEndpoint", self.invoke_endpoint),
            ("apigatewaymanagementapi", "PostToConnection", self.post_to_connection),
        ]:
            registry.register(service, operation, provider)
        return self

    def uninstall(self) -> None:
        self.runtime.providers.clear()
