"""Another process gets what a local provider answers, as a call in-process does
(aigw.local.services.served_providers).

The AWS CLI, boto3 in another process and functions run by a newer Python in worker
processes reach the runtime through its served endpoint. Before, moto's server answered them
itself: Comprehend with a canned ``NEUTRAL`` whatever the provider said, Translate not at all
(a 404 page), and ``PostToConnection`` to a connection that does not exist with 200.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import botocore.session
from botocore.exceptions import ClientError

from aigw.local.runtime import LocalRuntime
from aigw.local.services.providers import ServiceError
from aigw.local.services.served_providers import PROTOCOLS

#: Another process's SDK: each call ``[service, operation, params, endpoint path]`` made
#: against the served endpoint; blobs travel as ``{"$b64": ...}`` both ways.
REMOTE_CALLS = """
import base64, json, sys
import boto3
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

def decode(value):
    if isinstance(value, dict):
        if set(value) == {"$b64"}:
            return base64.b64decode(value["$b64"])
        return {k: decode(v) for k, v in value.items()}
    return value

def encode(value):
    if isinstance(value, StreamingBody):
        value = value.read()
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items() if k != "ResponseMetadata"}
    return value

url, calls = sys.argv[1], json.loads(sys.argv[2])
answers = []
for service, operation, params, path in calls:
    client = boto3.client(service, endpoint_url=url + path, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    try:
        answer = getattr(client, operation)(**decode(params))
        answers.append({"ok": encode(answer)})
    except ClientError as error:
        answers.append({"error": {
            "code": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
            "class": type(error).__name__,
        }})
print(json.dumps(answers))
"""

SENTIMENT = {
    "Sentiment": "MIXED",
    "SentimentScore": {"Positive": 0.4, "Negative": 0.4, "Neutral": 0.1, "Mixed": 0.1},
}


def _remote(app: LocalRuntime, *calls: tuple[str, str, dict[str, Any], str]) -> list[Any]:
    completed = subprocess.run(
        [sys.executable, "-c", REMOTE_CALLS, app.serve_aws(), json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def _b64(data: bytes) -> dict[str, str]:
    return {"$b64": base64.b64encode(data).decode()}


def _sentiment(params: dict[str, Any]) -> dict[str, Any]:
    if len(params["Text"]) > 20:
        raise ServiceError("TextSizeLimitExceededException", "Input text size exceeds limit.")
    return SENTIMENT


@contextmanager
def _providers(app: LocalRuntime, *entries: tuple[str, str, Any]) -> Iterator[None]:
    with ExitStack() as stack:
        for service, operation, provider in entries:
            stack.enter_context(app.providers.override(service, operation, provider))
        yield


def _in_process_error(app: LocalRuntime, call: Any) -> dict[str, Any]:
    try:
        call()
    except ClientError as error:
        response = error.response
        return {
            "code": response["Error"]["Code"],
            "message": response["Error"]["Message"],
            "status": response["ResponseMetadata"]["HTTPStatusCode"],
            "class": type(error).__name__,
        }
    raise AssertionError("the call did not fail")


def test_another_process_gets_the_providers_answer_and_error_as_in_process(
    app: LocalRuntime,
) -> None:
    translated = {"TranslatedText": "HOLA", "SourceLanguageCode": "en", "TargetLanguageCode": "es"}
    with _providers(
        app,
        ("comprehend", "DetectSentiment", _sentiment),
        ("translate", "TranslateText", lambda params: translated),
    ):
        comprehend = app.client("comprehend")
        here = comprehend.detect_sentiment(Text="fine", LanguageCode="en")
        here_error = _in_process_error(
            app, lambda: comprehend.detect_sentiment(Text="x" * 21, LanguageCode="en")
        )
        there = _remote(
            app,
            ("comprehend", "detect_sentiment", {"Text": "fine", "LanguageCode": "en"}, ""),
            ("comprehend", "detect_sentiment", {"Text": "x" * 21, "LanguageCode": "en"}, ""),
            (
                "translate",
                "translate_text",
                {"Text": "hola", "SourceLanguageCode": "es", "TargetLanguageCode": "en"},
                "",
            ),
        )

    assert {k: v for k, v in here.items() if k != "ResponseMetadata"} == SENTIMENT
    assert there[0] == {"ok": SENTIMENT}
    # The modeled error: the client's own exception class, AWS's status, the message.
    assert here_error == {
        "code": "TextSizeLimitExceededException",
        "message": "Input text size exceeds limit.",
        "status": 400,
        "class": "TextSizeLimitExceededException",
    }
    assert there[1] == {"error": here_error}
    # moto has no Translate: its server answered a 404 page.
    assert there[2] == {"ok": translated}


def test_rest_json_calls_reach_the_provider_with_their_labels_headers_and_payload(
    app: LocalRuntime,
) -> None:
    seen: list[dict[str, Any]] = []

    def invoke_endpoint(params: dict[str, Any]) -> dict[str, Any]:
        seen.append(params)
        return {
            "Body": params["Body"][::-1],
            "ContentType": "text/csv",
            "InvokedProductionVariant": "v2",
        }

    def post_to_connection(params: dict[str, Any]) -> dict[str, Any]:
        seen.append(params)
        if params["ConnectionId"] != "Zk3=":
            raise ServiceError("GoneException", "gone")
        return {}

    with _providers(
        app,
        ("sagemaker-runtime", "InvokeEndpoint", invoke_endpoint),
        ("apigatewaymanagementapi", "PostToConnection", post_to_connection),
    ):
        there = _remote(
            app,
            (
                "sagemaker-runtime",
                "invoke_endpoint",
                {"EndpointName": "churn-1", "Body": _b64(b"1,2,3"), "ContentType": "text/csv"},
                "",
            ),
            # An @connections client's endpoint URL ends with the stage.
            (
                "apigatewaymanagementapi",
                "post_to_connection",
                {"ConnectionId": "Zk3=", "Data": _b64(b"hi")},
                "/Prod",
            ),
            (
                "apigatewaymanagementapi",
                "post_to_connection",
                {"ConnectionId": "gone1", "Data": _b64(b"hi")},
                "/Prod",
            ),
        )

    assert seen == [
        {"EndpointName": "churn-1", "Body": b"1,2,3", "ContentType": "text/csv"},
        {"ConnectionId": "Zk3=", "Data": b"hi"},
        {"ConnectionId": "gone1", "Data": b"hi"},
    ]
    assert there[0] == {
        "ok": {"Body": _b64(b"3,2,1"), "ContentType": "text/csv", "InvokedProductionVariant": "v2"}
    }
    assert there[1] == {"ok": {}}
    assert there[2] == {
        "error": {
            "code": "GoneException",
            "message": "gone",
            "status": 410,
            "class": "GoneException",
        }
    }


def test_calls_no_provider_answers_still_reach_moto(app: LocalRuntime) -> None:
    with _providers(app, ("comprehend", "DetectSentiment", _sentiment)):
        there = _remote(
            app,
            ("dynamodb", "list_tables", {}, ""),
            ("comprehend", "detect_key_phrases", {"Text": "a red car", "LanguageCode": "en"}, ""),
        )

    assert app.physical_id("ItemsTable") in there[0]["ok"]["TableNames"]
    assert "KeyPhrases" in there[1]["ok"]  # moto's own answer


def test_how_a_request_names_its_operation_is_botocores() -> None:
    """The facts the served endpoint routes by, from botocore's service models."""
    session = botocore.session.get_session()
    comprehend = session.get_service_model("comprehend")
    # botocore prefers json among what a model offers: what the AWS CLI and boto3 send.
    assert "json" in comprehend.metadata["protocols"]
    assert comprehend.metadata["targetPrefix"] == "Comprehend_20171127"
    assert PROTOCOLS == ("json", "rest-json")

    management = session.get_service_model("apigatewaymanagementapi")
    post = management.operation_model("PostToConnection")
    assert management.protocol == "rest-json"
    assert management.signing_name == "execute-api"
    assert post.http == {
        "method": "POST",
        "requestUri": "/@connections/{connectionId}",
        "responseCode": 200,
    }
    assert post.input_shape.members["ConnectionId"].serialization == {
        "location": "uri",
        "name": "connectionId",
    }
    assert post.input_shape.serialization["payload"] == "Data"
    assert post.error_shapes[0].name == "GoneException"
    assert post.error_shapes[0].metadata["error"]["httpStatusCode"] == 410

    runtime = session.get_service_model("sagemaker-runtime")
    invoke = runtime.operation_model("InvokeEndpoint")
    assert runtime.signing_name == "sagemaker"
    assert invoke.http["requestUri"] == "/endpoints/{EndpointName}/invocations"
    assert invoke.output_shape.members["ContentType"].serialization == {
        "location": "header",
        "name": "Content-Type",
    }
