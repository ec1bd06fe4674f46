"""Every pipeline at its largest accepted input, with answers as large as AWS gives, keeps
every state's input, output and task parameters within Step Functions' 256 KB.

Step Functions fails an execution with States.DataLimitExceeded when a state's input or
output, or a task's parameters or result, is over 262,144 bytes of UTF-8
(https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). The fakes here
answer with the most AWS can return for the input (see each one), and the test reads every
execution's history, nested and Express ones included: a Standard one from
GetExecutionHistory, an Express one as it ends (AWS keeps none, and neither does aigw local
once it has finished; its events are what CloudWatch Logs would get with execution data).
Both job paths run: under job-runner every nested pipeline's history is read; on
express-job-runner the runner's own states carry the pipeline's whole StartSyncExecution
answer (its input echoed and its output), the largest payload of that path (a synchronous
child keeps no history, locally as on AWS).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from conftest import ROOT, Gateway, png

from aigw.local.engine.retention import on_express_finished
from aigw_common.pipelines import MAX_TEXT_BYTES

#: Step Functions' payload quota: a state's input or output, a task's parameters or result.
PAYLOAD_LIMIT = 262_144

#: What the fakes score: the longest floats Comprehend sends (17 significant digits).
SCORE = 0.99987654321098765
#: The longest entity and PII types of Comprehend's models (botocore's EntityType and
#: PiiEntityType enums).
ENTITY_TYPE = "COMMERCIAL_ITEM"
PII_TYPE = "INTERNATIONAL_BANK_ACCOUNT_NUMBER"
WORD = re.compile(r"\S+")


def _per_word(params: dict[str, Any], key: str, **fields: Any) -> dict[str, Any]:
    """One item for every word: the most a Detect* call can return, since its spans do not
    overlap and each covers at least a word."""
    return {
        key: [
            {
                "Score": SCORE,
                "BeginOffset": match.start(),
                "EndOffset": match.end(),
                **{
                    name: (match.group() if value is None else value)
                    for name, value in fields.items()
                },
            }
            for match in WORD.finditer(params["Text"])
        ]
    }


def _translated(params: dict[str, Any]) -> dict[str, Any]:
    """A translation into a script of three-byte characters: about three times the bytes."""
    text = re.sub(r"\S", "語", params["Text"])
    return {
        "TranslatedText": text,
        "SourceLanguageCode": params["SourceLanguageCode"],
        "TargetLanguageCode": params["TargetLanguageCode"],
    }


def _geometry() -> dict[str, Any]:
    box = {"Width": 0.123456789, "Height": 0.123456789, "Left": 0.123456789, "Top": 0.123456789}
    points = [{"X": 0.123456789, "Y": 0.123456789}] * 4
    return {"BoundingBox": box, "Polygon": points}


def _labels(params: dict[str, Any]) -> dict[str, Any]:
    """MaxLabels (25) labels, each with instances, parents, aliases and categories."""
    instance = {"BoundingBox": _geometry()["BoundingBox"], "Confidence": SCORE * 100}
    return {
        "Labels": [
            {
                "Name": f"Label number {index}",
                "Confidence": SCORE * 100,
                "Instances": [instance] * 20,
                "Parents": [{"Name": f"Parent of {index}"}] * 3,
                "Aliases": [{"Name": f"Alias of {index}"}] * 2,
                "Categories": [{"Name": "Animals and Pets"}],
            }
            for index in range(params.get("MaxLabels", 25))
        ],
        "LabelModelVersion": "3.0",
    }


def _text_detections(params: dict[str, Any]) -> dict[str, Any]:
    """DetectText's most: 100 words, and as many lines."""
    return {
        "TextDetections": [
            {
                "DetectedText": "WORDWORDWORD",
                "Type": kind,
                "Id": index,
                "Confidence": SCORE * 100,
                "Geometry": _geometry(),
            }
            for kind in ("LINE", "WORD")
            for index in range(100)
        ]
    }


def _faces(params: dict[str, Any]) -> dict[str, Any]:
    """DetectFaces' most: the 100 largest faces, with the DEFAULT attributes."""
    landmarks = [
        {"Type": kind, "X": 0.123456789, "Y": 0.123456789}
        for kind in ("eyeLeft", "eyeRight", "mouthLeft", "mouthRight", "nose")
    ]
    face = {
        "BoundingBox": _geometry()["BoundingBox"],
        "Landmarks": landmarks,
        "Pose": {"Roll": 1.23456789, "Yaw": 1.23456789, "Pitch": 1.23456789},
        "Quality": {"Brightness": 12.3456789, "Sharpness": 12.3456789},
        "Confidence": SCORE * 100,
    }
    return {"FaceDetails": [face] * 100}


def _moderation(params: dict[str, Any]) -> dict[str, Any]:
    """Every label of the moderation taxonomy (about 60 at three levels)."""
    return {
        "ModerationLabels": [
            {
                "Name": f"Moderation label {index}",
                "ParentName": f"Moderation parent {index // 4}",
                "TaxonomyLevel": 3,
                "Confidence": SCORE * 100,
            }
            for index in range(60)
        ],
        "ModerationModelVersion": "7.0",
    }


#: The largest answers, by (service, operation).
AWS_SIZED: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("comprehend", "DetectEntities"): lambda p: _per_word(
        p, "Entities", Type=ENTITY_TYPE, Text=None
    ),
    ("comprehend", "DetectKeyPhrases"): lambda p: _per_word(p, "KeyPhrases", Text=None),
    ("comprehend", "DetectPiiEntities"): lambda p: _per_word(p, "Entities", Type=PII_TYPE),
    ("translate", "TranslateText"): _translated,
    ("rekognition", "DetectLabels"): _labels,
    ("rekognition", "DetectText"): _text_detections,
    ("rekognition", "DetectFaces"): _faces,
    ("rekognition", "DetectModerationLabels"): _moderation,
}


@contextmanager
def _aws_sized(gateway: Gateway) -> Iterator[None]:
    with ExitStack() as stack:
        for (service, operation), provider in AWS_SIZED.items():
            stack.enter_context(gateway.runtime.providers.override(service, operation, provider))
        yield


def _largest_text() -> str:
    """MAX_TEXT_BYTES of English-like text: five-letter words, ten to a sentence."""
    words = [f"w{index % 10000:04d}" for index in range(MAX_TEXT_BYTES)]
    sentences = (" ".join(words[i : i + 10]) + ". " for i in range(0, len(words), 10))
    text = "".join(sentences)
    return text.encode()[: MAX_TEXT_BYTES - 1].decode().rstrip() + "."


@pytest.fixture(scope="module")
def gateway(gateway_on_each_job_path: Gateway) -> Gateway:
    return gateway_on_each_job_path


def _executions_of(gateway: Gateway, job_id: str, since: float) -> dict[str, str]:
    """Every kept execution, nested ones included, whose input names the job: its status."""
    sfn = gateway.runtime.client("stepfunctions")
    found = {}
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])[
            "executions"
        ]:
            if execution["startDate"].timestamp() < since:
                continue
            try:
                described = sfn.describe_execution(executionArn=execution["executionArn"])
            except sfn.exceptions.ExecutionDoesNotExist:
                continue  # an Express execution that ended since it was listed
            if job_id in described.get("input", ""):
                found[execution["executionArn"]] = described["status"]
    return found


def _all_ended(gateway: Gateway, job_id: str, since: float) -> dict[str, str]:
    """The job's executions once none runs: its end is written before its runner ends."""
    deadline = time.monotonic() + 30
    while "RUNNING" in (found := _executions_of(gateway, job_id, since)).values():
        assert time.monotonic() < deadline, found
        time.sleep(0.02)
    return found


@contextmanager
def _express_histories() -> Iterator[dict[str, tuple[str, list[dict[str, Any]]]]]:
    """The input and events of each Express execution that ends inside, by execution ARN."""
    histories: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    stop = on_express_finished(
        lambda described, history: histories.__setitem__(
            described["executionArn"], (described["input"], history())
        )
    )
    try:
        yield histories
    finally:
        stop()


def _history(gateway: Gateway, execution_arn: str) -> Iterator[dict[str, Any]]:
    sfn = gateway.runtime.client("stepfunctions")
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        yield from page["events"]


def _payloads(events: Iterable[dict[str, Any]]) -> Iterator[tuple[int, str]]:
    """(size, event.field) of every input, output, parameters and result in a history."""
    for event in events:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for field in ("input", "output", "parameters", "result"):
                value = details.get(field)
                if isinstance(value, str):
                    yield len(value.encode()), f"{event['type']}.{field}"


def _check_job(
    gateway: Gateway, pipeline: str, pipeline_input: dict[str, Any], **body: Any
) -> dict[str, int]:
    """Run a job to success; the largest payload of each kind of event, every execution."""
    since = time.time() - 1
    with _express_histories() as express:
        answer = gateway.request(
            "POST", "/jobs", {"pipeline": pipeline, "input": pipeline_input, **body}
        )
        assert answer.status == 202, answer.body
        job_id = answer.json()["job_id"]
        job = gateway.wait(job_id, timeout=120)
        ended = _all_ended(gateway, job_id, since)
    assert job["status"] == "SUCCEEDED", job
    histories = {arn: list(_history(gateway, arn)) for arn in ended}
    histories.update({arn: events for arn, (data, events) in express.items() if job_id in data})
    # The runner (and under job-runner, the pipeline it nests).
    assert histories
    largest: dict[str, int] = {}
    for arn, events in histories.items():
        for size, where in _payloads(events):
            assert size <= PAYLOAD_LIMIT, f"{arn}: {where} is {size} bytes"
            largest[where] = max(size, largest.get(where, 0))
    return largest


def test_given_the_largest_text_translated_with_the_most_answers_then_no_state_tops_256_kb(
    gateway: Gateway,
) -> None:
    with _aws_sized(gateway):
        largest = _check_job(
            gateway,
            "text-insights",
            {"text": _largest_text()},
            options={"language": "en", "target_language": "es"},
        )

    # The test carries weight: one Comprehend answer alone is tens of kilobytes.
    assert largest["TaskSucceeded.output"] > 50_000


def test_given_the_largest_text_untranslated_then_no_state_tops_256_kb(gateway: Gateway) -> None:
    with _aws_sized(gateway):
        _check_job(gateway, "text-insights", {"text": _largest_text()})


def test_given_a_long_document_with_the_most_answers_then_no_state_tops_256_kb(
    gateway: Gateway,
) -> None:
    """Textract's pages and lines go to S3 (AssemblePages); the text analysed is cut to
    MAX_TEXT_BYTES and then answered with the most Comprehend can find."""
    lines = gateway.fakes.document_lines
    gateway.fakes.document_lines = _largest_text().split(". ") * 4  # 100 KB of text
    pdf = base64.b64encode(b"%PDF-1.7\n% a document\n").decode()
    try:
        with _aws_sized(gateway):
            _check_job(gateway, "document-insights", {"document_base64": pdf})
    finally:
        gateway.fakes.document_lines = lines


def test_given_an_image_with_the_most_rekognition_answers_then_no_state_tops_256_kb(
    gateway: Gateway, job_path: str
) -> None:
    image = base64.b64encode(png(120, 90)).decode()

    with _aws_sized(gateway):
        largest = _check_job(gateway, "image-insights", {"image_base64": image})

    if job_path == "standard":
        # Each answer is cut to the fields the result uses before the four are put
        # together (the pipeline's own history, read under job-runner).
        assert largest["TaskSucceeded.output"] > 50_000
        assert largest["ParallelStateExited.output"] < 32_768
    else:
        # express-job-runner receives only the pipeline's cut-down output.
        assert largest["TaskSucceeded.output"] < 32_768 * 2


def test_given_a_prediction_then_no_state_tops_256_kb(gateway: Gateway) -> None:
    """predict's input is bounded by the model's features; the churn model answers a score."""
    customer = json.loads((ROOT / "samples" / "churn-customer.json").read_text())

    _check_job(gateway, "predict", customer)
