"""The image-insights workflow, run for real on the offline runtime.

Rekognition is answered by a fake that reads the image from the local S3 as Rekognition
does, so a missing object or a file that is not an image fails with Rekognition's own errors.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from aws_shapes import assert_output_shape
from botocore.exceptions import ClientError

from aigw.local import LocalRuntime
from aigw.local.services.providers import ServiceError
from aigw.local.testing import runtime_fixture

ROOT = Path(__file__).resolve().parents[2]
ASL = ROOT / "statemachines" / "image-insights.asl.json"

app = runtime_fixture(
    Path(__file__).parent / "pipelines_app" / "template.yaml",
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
BOX = {"Width": 0.25, "Height": 0.5, "Left": 0.1, "Top": 0.2}

#: What Rekognition answers for one photo of a dog beside a stop sign, per operation.
ANSWERS: dict[str, dict[str, Any]] = {
    "DetectLabels": {
        "Labels": [
            {
                "Name": "Dog",
                "Confidence": 97.5,
                "Instances": [{"BoundingBox": BOX, "Confidence": 97.5}],
                "Parents": [{"Name": "Animal"}, {"Name": "Pet"}],
                "Aliases": [{"Name": "Puppy"}],
                "Categories": [{"Name": "Animals and Pets"}],
            }
        ],
        "LabelModelVersion": "3.0",
    },
    "DetectText": {
        "TextDetections": [
            {
                "DetectedText": "STOP",
                "Type": "LINE",
                "Id": 0,
                "Confidence": 99.1,
                "Geometry": {"BoundingBox": BOX, "Polygon": [{"X": 0.1, "Y": 0.2}]},
            }
        ],
        "TextModelVersion": "3.0",
    },
    "DetectFaces": {
        "FaceDetails": [
            {
                "BoundingBox": BOX,
                "Landmarks": [{"Type": "eyeLeft", "X": 0.2, "Y": 0.3}],
                "Pose": {"Roll": 1.5, "Yaw": -3.0, "Pitch": 2.0},
                "Quality": {"Brightness": 80.0, "Sharpness": 90.0},
                "Confidence": 99.9,
            }
        ]
    },
    "DetectModerationLabels": {"ModerationLabels": [], "ModerationModelVersion": "7.0"},
}
OPERATIONS = list(ANSWERS)


class FakeRekognition:
    """Answers the four Detect* operations for images in the local S3, and counts calls."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.s3 = runtime.client("s3")
        self.calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
        #: Errors to raise, first to last, before answering normally again.
        self.failures: dict[str, list[ServiceError]] = defaultdict(list)

    def provider(self, operation: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        def answer(params: dict[str, Any]) -> dict[str, Any]:
            self.calls[operation].append(params)
            if self.failures[operation]:
                raise self.failures[operation].pop(0)
            image = params["Image"]["S3Object"]
            try:
                obj = self.s3.get_object(Bucket=image["Bucket"], Key=image["Name"])
            except ClientError:
                raise ServiceError(
                    "InvalidS3ObjectException", "Unable to get object metadata from S3."
                ) from None
            if not obj["Body"].read().startswith((PNG_SIGNATURE, JPEG_SIGNATURE)):
                raise ServiceError(
                    "InvalidImageFormatException", "Request has invalid image format."
                )
            return copy.deepcopy(ANSWERS[operation])

        return answer


@pytest.fixture
def rekognition(app: LocalRuntime) -> Iterator[FakeRekognition]:
    fake = FakeRekognition(app)
    with ExitStack() as stack:
        for operation in OPERATIONS:
            stack.enter_context(
                app.providers.override("rekognition", operation, fake.provider(operation))
            )
        yield fake


@pytest.fixture
def lambda_calls(app: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The functions the workflows invoke during the test."""
    calls: list[str] = []
    invoke = app.bridge.invoke

    def counting(name_or_arn: str, event: Any) -> Any:
        calls.append(name_or_arn)
        return invoke(name_or_arn, event)

    monkeypatch.setattr(app.bridge, "invoke", counting)
    return calls


def _upload(app: LocalRuntime, key: str, body: bytes) -> dict[str, str]:
    bucket = app.physical_id("DocumentsBucket")
    app.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return {"bucket": bucket, "key": key}


def _analyse(app: LocalRuntime, image: dict[str, str]) -> dict[str, Any]:
    execution_input = {"tenant_id": "t-1", "job_id": "j-1", "input": image, "options": {}}
    return app.client("stepfunctions").start_sync_execution(
        stateMachineArn=app.arn("ImageInsightsStateMachine"), input=json.dumps(execution_input)
    )


def _photo(app: LocalRuntime) -> dict[str, str]:
    return _upload(app, "uploads/t-1/photo.png", PNG_SIGNATURE + bytes(256))


# --- the workflow's shape -------------------------------------------------------------------


def _tasks(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if state["Type"] == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])


def test_given_the_workflow_then_every_task_is_a_bounded_direct_rekognition_call() -> None:
    tasks = list(_tasks(json.loads(ASL.read_text())["States"]))

    assert sorted(task["Resource"] for task in tasks) == [
        "arn:aws:states:::aws-sdk:rekognition:detectFaces",
        "arn:aws:states:::aws-sdk:rekognition:detectLabels",
        "arn:aws:states:::aws-sdk:rekognition:detectModerationLabels",
        "arn:aws:states:::aws-sdk:rekognition:detectText",
    ]
    assert all(task["TimeoutSeconds"] > 0 for task in tasks)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_fake_answers_have_rekognitions_output_shapes(operation: str) -> None:
    assert_output_shape("rekognition", operation, ANSWERS[operation])


# --- running it ------------------------------------------------------------------------------


def test_given_an_image_when_analysed_then_the_four_answers_come_back_cut_without_lambda(
    app: LocalRuntime, rekognition: FakeRekognition, lambda_calls: list[str]
) -> None:
    """Each answer keeps only what the result uses, as parallel lists: a busy image's label
    instances and text polygons would otherwise push the Parallel output past 256 KB."""
    image = _photo(app)

    result = _analyse(app, image)

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert json.loads(result["output"]) == {
        "labels": {"names": ["Dog"], "confidences": [97.5]},
        "text": {"texts": ["STOP"], "types": ["LINE"], "confidences": [99.1]},
        "faces": {"confidences": [99.9], "boxes": [BOX]},
        "moderation": {"names": [], "confidences": []},
    }
    s3_object = {"S3Object": {"Bucket": image["bucket"], "Name": image["key"]}}
    assert rekognition.calls == {
        "DetectLabels": [{"Image": s3_object, "MaxLabels": 25, "MinConfidence": 60}],
        "DetectText": [{"Image": s3_object}],
        "DetectFaces": [{"Image": s3_object, "Attributes": ["DEFAULT"]}],
        "DetectModerationLabels": [{"Image": s3_object, "MinConfidence": 60}],
    }
    assert lambda_calls == []


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "InternalServerError",
        # Common errors no Rekognition operation models: Rekognition.RekognitionException.
        "ServiceUnavailable",
        "InternalFailure",
    ],
)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_given_a_transient_error_once_when_analysed_then_the_call_is_retried(
    app: LocalRuntime, rekognition: FakeRekognition, operation: str, code: str
) -> None:
    rekognition.failures[operation].append(ServiceError(code, "try again"))

    result = _analyse(app, _photo(app))

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert len(rekognition.calls[operation]) == 2


def test_given_throttling_that_persists_when_analysed_then_it_fails_after_three_retries(
    app: LocalRuntime, rekognition: FakeRekognition
) -> None:
    rekognition.failures["DetectText"] = [ServiceError("ThrottlingException", "slow down")] * 10

    result = _analyse(app, _photo(app))

    assert result["status"] == "FAILED"
    assert result["error"] == "Rekognition.ThrottlingException"
    assert "slow down" in result["cause"]
    assert len(rekognition.calls["DetectText"]) == 4


def test_given_a_file_that_is_not_an_image_when_analysed_then_it_fails_without_retry(
    app: LocalRuntime, rekognition: FakeRekognition
) -> None:
    document = _upload(app, "uploads/t-1/notes.txt", b"not an image at all")

    result = _analyse(app, document)

    assert result["status"] == "FAILED"
    assert result["error"] == "Rekognition.InvalidImageFormatException"
    assert "invalid image format" in result["cause"]
    assert rekognition.calls  # the branches ran, and none of them tried twice
    assert all(len(calls) == 1 for calls in rekognition.calls.values())


def test_given_a_missing_object_when_analysed_then_it_fails_without_retry(
    app: LocalRuntime, rekognition: FakeRekognition
) -> None:
    missing = {"bucket": app.physical_id("DocumentsBucket"), "key": "uploads/t-1/gone.png"}

    result = _analyse(app, missing)

    assert result["status"] == "FAILED"
    assert result["error"] == "Rekognition.InvalidS3ObjectException"
    assert all(len(calls) == 1 for calls in rekognition.calls.values())


@pytest.mark.parametrize(
    "code", ["ImageTooLargeException", "InvalidParameterException", "AccessDeniedException"]
)
def test_given_a_request_rekognition_refuses_when_analysed_then_it_fails_without_retry(
    app: LocalRuntime, rekognition: FakeRekognition, code: str
) -> None:
    rekognition.failures["DetectFaces"] = [ServiceError(code, "refused")] * 10

    result = _analyse(app, _photo(app))

    assert result["status"] == "FAILED"
    assert result["error"] == f"Rekognition.{code}"
    assert "refused" in result["cause"]
    assert len(rekognition.calls["DetectFaces"]) == 1
