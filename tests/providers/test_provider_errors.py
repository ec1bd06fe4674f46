"""The local providers answer with the errors AWS answers: same code, HTTP status, shape.

Every code a provider can raise is checked against botocore's model of the operations it
answers (or the common errors every AWS API can answer), and the status and message member
of the error the caller gets come from that model, never typed by hand.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from aigw.local.aws_errors import COMMON_ERRORS, error_facts, modeled_errors
from aigw.local.services.providers import ProviderContractError, ProviderRegistry, ServiceError
from aigw.providers import bedrock, documents, images, sagemaker, simulated, text, translate

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_MODULES = [bedrock, documents, images, sagemaker, simulated, text, translate]


class _Capture(ProviderRegistry):
    """A registry that only records what a module registers."""


def _registered(module: Any) -> list[tuple[str, str]]:
    registry = _Capture()
    installed = module.install(registry, 0.0) if module is simulated else module.install(registry)
    if module is sagemaker:
        installed.close()
    return registry.registered()


def _raised_codes(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line, code) of every ServiceError(...) in a module; code None if not a literal."""
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "ServiceError"
        ):
            first = node.args[0] if node.args else None
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            # The status comes from the model: nothing else may be passed.
            assert not node.keywords and len(node.args) == 2, f"{path.name}:{node.lineno}"
            yield node.lineno, first.value if literal else None  # type: ignore[union-attr]


@pytest.mark.parametrize("module", PROVIDER_MODULES, ids=lambda m: m.__name__)
def test_given_a_provider_module_then_every_error_it_raises_is_one_its_operations_answer(
    module: Any,
) -> None:
    operations = _registered(module)
    path = Path(module.__file__)
    found = list(_raised_codes(path))

    assert operations, f"{module.__name__} registers no operation"
    for line, code in found:
        assert code is not None, f"{path.name}:{line}: the error code must be a literal"
        answerable = [
            (service, operation)
            for service, operation in operations
            if code in modeled_errors(service, operation) or code in COMMON_ERRORS
        ]
        assert answerable, (
            f"{path.name}:{line}: {code} is not an error any of {operations} can answer"
        )


def test_given_the_websocket_management_api_then_gone_is_a_modeled_error() -> None:
    codes = {code for _, code in _raised_codes(ROOT / "src/aigw/local/apis/websocket_server.py")}

    assert codes == {"GoneException"}
    for operation in ("PostToConnection", "GetConnection", "DeleteConnection"):
        assert error_facts("apigatewaymanagementapi", operation, "GoneException").status == 410


# ------------------------------------------------------------------------------ the answers


@pytest.fixture
def registry_override() -> Iterator[Any]:
    from aigw.local.services.providers import registry

    yield registry


#: How to call each operation: (boto3 method, minimal parameters).
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "DetectSentiment": ("detect_sentiment", {"Text": "hello", "LanguageCode": "en"}),
    "TranslateText": (
        "translate_text",
        {"Text": "hi", "SourceLanguageCode": "en", "TargetLanguageCode": "es"},
    ),
    "InvokeEndpoint": ("invoke_endpoint", {"EndpointName": "e", "Body": b"1"}),
    "DetectLabels": ("detect_labels", {"Image": {"S3Object": {"Bucket": "images", "Name": "k"}}}),
    "GetObject": ("get_object", {"Bucket": "documents", "Key": "results/k.json"}),
}


@pytest.mark.parametrize(
    ("service", "operation", "code", "status", "member"),
    [
        # Modeled, with the model's httpStatusCode.
        ("comprehend", "DetectSentiment", "TextSizeLimitExceededException", 400, "Message"),
        ("comprehend", "DetectSentiment", "InternalServerException", 500, "Message"),
        ("translate", "TranslateText", "TooManyRequestsException", 429, "Message"),
        ("sagemaker-runtime", "InvokeEndpoint", "ModelError", 424, "Message"),
        ("sagemaker-runtime", "InvokeEndpoint", "InternalDependencyException", 530, "Message"),
        # Modeled without a status: a server fault is a 500, anything else a 400.
        # (Rekognition's error shapes have no members: only Error {Code, Message}.)
        ("rekognition", "DetectLabels", "ThrottlingException", 500, None),
        ("rekognition", "DetectLabels", "InvalidImageFormatException", 400, None),
        # Common errors, not modeled: the status of the Common Errors page, no shape.
        ("comprehend", "DetectSentiment", "ThrottlingException", 400, None),
        ("rekognition", "DetectLabels", "ServiceUnavailable", 503, None),
        # S3's own codes (its error-code list), on every operation; not modeled.
        ("s3", "GetObject", "AccessDenied", 403, None),
        ("s3", "GetObject", "SlowDown", 503, None),
    ],
)
def test_given_an_error_raised_by_a_provider_then_the_caller_gets_aws_status_and_shape(
    registry_override: Any,
    service: str,
    operation: str,
    code: str,
    status: int,
    member: str | None,
) -> None:
    def failing(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError(code, "it went wrong")

    method, arguments = CALLS[operation]
    client = boto3.client(service, region_name="us-east-1")
    with (
        registry_override.override(service, operation, failing),
        pytest.raises(ClientError) as raised,
    ):
        getattr(client, method)(**arguments)

    response = raised.value.response
    assert response["Error"] == {"Code": code, "Message": "it went wrong"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    if member is None:
        assert not {"Message", "message"} & set(response)
    else:
        assert response[member] == "it went wrong"
    # An error the service models (on any of its operations: the client's exceptions are
    # the service's) is the client's own exception class; any other a ClientError.
    service_errors = client.meta.service_model.error_shapes
    modeled = code in {shape.error_code or shape.name for shape in service_errors}
    assert (type(raised.value).__name__ == code) is modeled


def test_given_a_provider_raising_an_error_the_operation_cannot_answer_then_it_fails_loudly(
    registry_override: Any,
) -> None:
    """A fake that raises a made-up name must not pass: AWS would never send it."""

    def invented(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("TooManyRequestsException", "Comprehend's Detect* never say this")

    client = boto3.client("comprehend", region_name="us-east-1")
    with (
        registry_override.override("comprehend", "DetectSentiment", invented),
        pytest.raises(ProviderContractError, match="DetectSentiment cannot answer"),
    ):
        client.detect_sentiment(Text="hello", LanguageCode="en")
