"""Every error name in the state machines' Retry and Catch is one Step Functions raises.

The names are checked against AWS, not against the local runtime: botocore's service models
(loaded here, the ones the SDKs are generated from) give each operation's errors, and
aigw.local.aws_errors the facts the models lack (common errors, how Step Functions names the
errors of each integration, States.*), each with its source. A misspelt or invented name
would never match on AWS: the Retry would silently not retry, the Catch not catch.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from aigw.local import aws_errors
from aigw.local.aws_errors import (
    AWS_SDK_ERROR_PREFIXES,
    COMMON_ERRORS,
    DYNAMODB_OPTIMIZED_PREFIX,
    LAMBDA_ERRORS,
    STATES_ERRORS,
    STEP_FUNCTIONS_OPTIMIZED_PREFIX,
    aws_sdk_base_error_name,
    aws_sdk_error_name,
    modeled_errors,
    optimized_error_names,
)

ROOT = Path(__file__).resolve().parents[2]
ASL_FILES = sorted((ROOT / "statemachines").glob("*.asl.json"))
LAYER = ROOT / "layers" / "common" / "aigw_common"
AWS_SDK = re.compile(r"^arn:aws:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$")
PLACEHOLDER = re.compile(r"^\$\{([^}]*)\}$")

#: The AI services: every call to them must retry their throttling and 5xx errors.
AI_SERVICES = {
    "comprehend",
    "translate",
    "textract",
    "rekognition",
    "sagemakerruntime",
    "bedrockruntime",
}

#: aws-sdk integration name -> boto3 service name, where they differ.
BOTO3_NAMES = {
    "sagemakerruntime": "sagemaker-runtime",
    "bedrockruntime": "bedrock-runtime",
    "sfn": "stepfunctions",
}

#: Lambda's transient service errors that every lambda:invoke Task retries (the
#: bp-lambda-serviceexception page's Retry, plus TooManyRequestsException on the same page).
LAMBDA_TRANSIENT = LAMBDA_ERRORS - {"Lambda.Unknown"}

#: Functions that re-raise an AWS service's errors as exception classes named after the
#: error code (textract_error(code) in their modules): the function's Lambda errorType is
#: then the code, so a Retry may name any error of the operations it calls.
RERAISED_SERVICE_ERRORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "functions/start_textract": (
        "textract",
        ("StartDocumentTextDetection", "StartDocumentAnalysis"),
    ),
    "functions/document_pages": ("textract", ("GetDocumentTextDetection", "GetDocumentAnalysis")),
}

#: Callback Tasks (.waitForTaskToken): the error another function sends with
#: SendTaskFailure, as (module, constant).
TASK_TOKEN_ERRORS: dict[tuple[str, str], tuple[str, str]] = {
    ("document-insights.asl.json", "StartTextract"): (
        "functions/textract_callback/textract_completion.py",
        "JOB_FAILED",
    ),
}


@dataclass
class Task:
    file: str
    path: str
    body: dict[str, Any]
    #: Every name this state can fail with, and why that name is real.
    raises: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------ the template


@cache
def _template() -> dict[str, Any]:
    return yaml_parse((ROOT / "template.yaml").read_text())


def _substitutions(asl_file: str) -> dict[str, Any]:
    for resource in _template()["Resources"].values():
        properties = resource.get("Properties", {})
        if str(properties.get("DefinitionUri", "")).endswith(asl_file):
            return properties.get("DefinitionSubstitutions", {})
    raise AssertionError(f"no state machine uses {asl_file}")


def _function_folder(asl_file: str, function_name: str) -> str:
    """The code folder of the function a lambda:invoke Task calls (``functions/x``)."""
    match = PLACEHOLDER.match(function_name)
    assert match, f"FunctionName {function_name!r} is not a DefinitionSubstitutions placeholder"
    target = _substitutions(asl_file)[match.group(1)]
    logical_id = target["Fn::GetAtt"][0]
    code_uri = _template()["Resources"][logical_id]["Properties"]["CodeUri"]
    return str(code_uri).rstrip("/")


# ------------------------------------------------------------------------------ our own code


def _exception_classes(paths: list[Path]) -> set[str]:
    """Names of the exception classes defined in these modules (subclasses, transitively,
    of a built-in exception): a Lambda function's errorType is its exception's class name."""
    bases: dict[str, list[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [ast.unparse(base).split(".")[-1] for base in node.bases]
    builtin = {
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name not in found and any(p in builtin or p in found for p in parents):
                found.add(name)
                changed = True
    return found


def _constant(module: str, name: str) -> str:
    tree = ast.parse((ROOT / module).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                assert isinstance(node.value, ast.Constant)
                return str(node.value.value)
    raise AssertionError(f"{module} has no constant {name}")


def _lambda_function_errors(folder: str) -> dict[str, str]:
    code = sorted((ROOT / folder).glob("*.py")) + sorted(LAYER.glob("*.py"))
    names = {
        name: f"an exception class of {folder} or the layer" for name in _exception_classes(code)
    }
    if folder in RERAISED_SERVICE_ERRORS:
        service, operations = RERAISED_SERVICE_ERRORS[folder]
        for operation in operations:
            for code_name in modeled_errors(service, operation):
                names[code_name] = f"{service} {operation} error re-raised by {folder}"
    return names


# ------------------------------------------------------------------------------ what AWS raises


def _aws_sdk_errors(integration: str, action: str) -> dict[str, str]:
    prefix = AWS_SDK_ERROR_PREFIXES[integration]
    service = BOTO3_NAMES.get(integration, integration)
    names = {
        aws_sdk_error_name(prefix, code): f"botocore {service} {action} error {code}"
        for code in modeled_errors(service, action)
    }
    page = aws_errors.COMMON_ERRORS_PAGES[service]
    for code in COMMON_ERRORS:
        names.setdefault(aws_sdk_error_name(prefix, code), f"common error {code} ({page})")
    names[aws_sdk_base_error_name(prefix)] = "an error code the SDK's model lacks"
    return names


def _task_errors(file: str, path: str, body: dict[str, Any]) -> dict[str, str]:
    resource = body["Resource"]
    if match := AWS_SDK.match(resource):
        return _aws_sdk_errors(match.group(1), match.group(2))
    if resource.startswith("arn:aws:states:::lambda:invoke"):
        names = {name: aws_errors.LAMBDA_ERRORS_PAGE for name in LAMBDA_ERRORS}
        for code in modeled_errors("lambda", "Invoke"):
            names[f"Lambda.{code}"] = f"botocore lambda Invoke error {code}"
        function = _function_folder(file, body["Parameters"]["FunctionName"])
        names |= _lambda_function_errors(function)
        if (file, path) in TASK_TOKEN_ERRORS:
            module, constant = TASK_TOKEN_ERRORS[(file, path)]
            names[_constant(module, constant)] = f"sent with SendTaskFailure ({module})"
        return names
    if match := re.match(r"^arn:aws:states:::dynamodb:(\w+)$", resource):
        operation = match.group(1)
        return {
            name: f"{aws_errors.DYNAMODB_OPTIMIZED_PAGE}: DynamoDB {operation} error {code}"
            for code in [*modeled_errors("dynamodb", operation), *COMMON_ERRORS]
            for name in optimized_error_names(DYNAMODB_OPTIMIZED_PREFIX, code)
        }
    if resource.startswith("arn:aws:states:::states:startExecution"):
        return {
            name: f"{aws_errors.STEP_FUNCTIONS_OPTIMIZED_PAGE}: StartExecution error {code}"
            for code in [*modeled_errors("stepfunctions", "StartExecution"), *COMMON_ERRORS]
            for name in optimized_error_names(STEP_FUNCTIONS_OPTIMIZED_PREFIX, code)
        }
    raise AssertionError(f"{file}:{path}: no rule for the error names of {resource}")


# ------------------------------------------------------------------------------ the walk


def _walk(file: str, machine: dict[str, Any], prefix: str = "") -> Iterator[Task]:
    """Every state that can have Retry or Catch, with the names it can fail with: a Task's
    own, and for a Parallel or Map every name its inner states can fail with."""
    for name, body in machine["States"].items():
        path = f"{prefix}{name}"
        task = Task(file, path, body)
        if body["Type"] == "Task":
            task.raises = _task_errors(file, path, body)
        inner: list[dict[str, Any]] = []
        if body["Type"] == "Parallel":
            inner = body["Branches"]
        elif body["Type"] == "Map":
            inner = [body.get("ItemProcessor") or body["Iterator"]]
        for machine_inside in inner:
            for state in _walk(file, machine_inside, f"{path}/"):
                yield state
                task.raises |= state.raises
                if state.body["Type"] == "Fail" and "Error" in state.body:
                    task.raises[state.body["Error"]] = f"Fail state {state.path}"
        yield task


def _states() -> list[Task]:
    return [task for asl in ASL_FILES for task in _walk(asl.name, json.loads(asl.read_text()))]


def _handlers(task: Task) -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in ("Retry", "Catch"):
        for index, handler in enumerate(task.body.get(kind, [])):
            yield f"{kind}[{index}]", handler


def _retried(task: Task) -> set[str]:
    return {
        name
        for retrier in task.body.get("Retry", [])
        if retrier.get("MaxAttempts", 3) > 0
        for name in retrier["ErrorEquals"]
    }


def _id(task: Task) -> str:
    return f"{task.file}:{task.path}"


HANDLING = [task for task in _states() if task.body.get("Retry") or task.body.get("Catch")]


# ------------------------------------------------------------------------------ the tests


def test_given_the_state_machines_then_every_kind_of_state_with_handlers_is_walked() -> None:
    kinds = {task.body["Type"] for task in HANDLING}
    paths = {_id(task) for task in HANDLING}

    assert kinds == {"Task", "Parallel", "Map"}
    assert "text-insights.asl.json:Analyse/AnalyseChunk/Pii" in paths  # Map > Parallel > Task


@pytest.mark.parametrize("task", HANDLING, ids=_id)
def test_given_a_retry_or_catch_then_every_name_is_one_aws_raises_there(task: Task) -> None:
    for where, handler in _handlers(task):
        unknown = [
            name
            for name in handler["ErrorEquals"]
            if name not in STATES_ERRORS and name not in task.raises
        ]
        assert not unknown, f"{_id(task)} {where}: no such error from this state: {unknown}"


@pytest.mark.parametrize(
    "task",
    [
        t
        for t in HANDLING
        if t.body["Type"] == "Task"
        and (match := AWS_SDK.match(t.body["Resource"]))
        and match.group(1) in AI_SERVICES
    ],
    ids=_id,
)
def test_given_an_ai_call_then_throttling_and_5xx_are_retried_with_full_jitter_and_nothing_else(
    task: Task,
) -> None:
    integration, action = AWS_SDK.match(task.body["Resource"]).groups()  # type: ignore[union-attr]
    prefix = AWS_SDK_ERROR_PREFIXES[integration]
    service = BOTO3_NAMES.get(integration, integration)
    kinds = {
        aws_sdk_error_name(prefix, code): aws_errors.error_facts(service, action, code).kind
        for code in [*modeled_errors(service, action), *COMMON_ERRORS]
    }
    transient = {name for name, kind in kinds.items() if kind != "client"}
    transient.add(aws_sdk_base_error_name(prefix))

    assert transient <= _retried(task), f"not retried: {sorted(transient - _retried(task))}"
    assert not [name for name in _retried(task) if kinds.get(name) == "client"], (
        "a validation or other client error is retried"
    )
    for retrier in task.body["Retry"]:
        if retrier.get("MaxAttempts", 3) > 0:
            assert retrier.get("JitterStrategy") == "FULL"
            assert "MaxDelaySeconds" in retrier


@pytest.mark.parametrize(
    "task",
    [
        t
        for t in HANDLING
        if t.body["Type"] == "Task" and t.body["Resource"].startswith("arn:aws:states:::lambda:")
    ],
    ids=_id,
)
def test_given_a_lambda_task_then_lambdas_transient_service_errors_are_retried(task: Task) -> None:
    assert _retried(task) >= LAMBDA_TRANSIENT, sorted(LAMBDA_TRANSIENT - _retried(task))


def test_given_the_engines_aws_sdk_errors_then_their_prefix_is_the_one_aws_uses() -> None:
    from aigw.local.engine.aws_sdk import aws_sdk_error_prefix

    used = {
        match.group(1)
        for task in _states()
        if task.body["Type"] == "Task" and (match := AWS_SDK.match(task.body["Resource"]))
    }

    assert used <= set(AWS_SDK_ERROR_PREFIXES)
    assert {name: aws_sdk_error_prefix(name) for name in used} == {
        name: AWS_SDK_ERROR_PREFIXES[name] for name in used
    }


def test_given_a_name_that_aws_never_raises_then_the_check_rejects_it() -> None:
    """The check can fail: Comprehend's real-time APIs do not answer TooManyRequestsException,
    and Step Functions adds the Exception suffix to Rekognition's InternalServerError."""
    sentiment = _task_errors(
        "text-insights.asl.json",
        "Sentiment",
        {"Resource": "arn:aws:states:::aws-sdk:comprehend:detectSentiment"},
    )
    labels = _task_errors(
        "image-insights.asl.json",
        "DetectLabels",
        {"Resource": "arn:aws:states:::aws-sdk:rekognition:detectLabels"},
    )

    assert "Comprehend.TooManyRequestsException" not in sentiment
    assert "Comprehend.ThrottlingException" in sentiment
    assert "Rekognition.InternalServerError" not in labels
    assert "Rekognition.InternalServerErrorException" in labels
