"""A function's own configuration, as the handler and the Lambda API see it, run by the
offline runtime from the template (tests/runtime/function_config_app).

Given a function whose environment holds YAML booleans and a number and whose failed
asynchronous events go to a dead-letter queue, one whose dead-letter topic sits beside an
on-failure destination, and two functions (one in-process, one in a worker process of a
newer Python) whose environment is changed with UpdateFunctionConfiguration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aigw.local.runtime import LocalRuntime
from aigw.local.testing import runtime_fixture

APP = Path(__file__).parent / "function_config_app"

app = runtime_fixture(APP / "template.yaml", name="app")


def _invoke(runtime: LocalRuntime, function: str, event: Any = None) -> dict[str, Any]:
    answer = runtime.client("lambda").invoke(
        FunctionName=runtime.physical_id(function), Payload=json.dumps(event or {}).encode()
    )
    return {"error": answer.get("FunctionError"), "payload": json.loads(answer["Payload"].read())}


def test_given_yaml_booleans_in_the_environment_then_the_handler_reads_true_and_false(
    app: LocalRuntime,
) -> None:
    answer = _invoke(app, "ConfiguredFunction")
    configuration = app.client("lambda").get_function_configuration(
        FunctionName=app.physical_id("ConfiguredFunction")
    )

    assert answer["payload"] == {"FLAG": "false", "ENABLED": "true", "COUNT": "3"}
    assert configuration["Environment"]["Variables"] == answer["payload"]


def _messages(runtime: LocalRuntime, queue: str) -> list[dict[str, Any]]:
    answer = runtime.client("sqs").receive_message(
        QueueUrl=runtime.physical_id(queue),
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    )
    return answer.get("Messages", [])


def test_given_a_dead_letter_queue_then_the_function_configuration_shows_it(
    app: LocalRuntime,
) -> None:
    lambda_client = app.client("lambda")
    queue = lambda_client.get_function_configuration(
        FunctionName=app.physical_id("ConfiguredFunction")
    )
    topic = lambda_client.get_function_configuration(
        FunctionName=app.physical_id("FailingFunction")
    )

    assert queue["DeadLetterConfig"] == {"TargetArn": app.resource("DeadLetters").attributes["Arn"]}
    assert topic["DeadLetterConfig"] == {"TargetArn": app.physical_id("DeadLetterTopic")}


def test_given_an_asynchronous_event_that_keeps_failing_then_its_dead_letter_queue_gets_it(
    app: LocalRuntime,
) -> None:
    event = {"fail": "disk full", "order": 7}
    app.client("lambda").invoke(
        FunctionName=app.physical_id("ConfiguredFunction"),
        InvocationType="Event",
        Payload=json.dumps(event).encode(),
    )
    app.drain()

    [message] = _messages(app, "DeadLetters")
    attributes = message["MessageAttributes"]
    [(_, _, last_answer)] = [
        failure for failure in app.bridge.async_invoker.failures if failure[1] == event
    ]

    assert json.loads(message["Body"]) == event  # the event itself, unchanged
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    assert attributes["ErrorMessage"] == {
        "DataType": "String",
        "StringValue": "asked to fail: disk full",
    }
    assert attributes["RequestID"]["StringValue"] == json.loads(last_answer)["requestId"]


def test_given_a_synchronous_invocation_that_fails_then_nothing_goes_to_the_dead_letter_queue(
    app: LocalRuntime,
) -> None:
    answer = _invoke(app, "ConfiguredFunction", {"fail": "at once"})
    app.drain()

    assert answer["error"] == "Unhandled"
    assert _messages(app, "DeadLetters") == []


def test_given_a_dead_letter_topic_and_an_on_failure_destination_then_each_gets_its_record(
    app: LocalRuntime,
) -> None:
    app.client("lambda").invoke(
        FunctionName=app.physical_id("FailingFunction"),
        InvocationType="Event",
        Payload=b'{"order": 42}',
    )
    app.drain()

    [destination] = [json.loads(message["Body"]) for message in _messages(app, "Failures")]
    [notification] = [json.loads(message["Body"]) for message in _messages(app, "TopicCopies")]
    attributes = notification["MessageAttributes"]

    # MaximumRetryAttempts 0 still bounds the attempts: one, then both are sent.
    assert destination["requestContext"]["approximateInvokeCount"] == 1
    assert destination["requestPayload"] == {"order": 42}
    assert json.loads(notification["Message"]) == {"order": 42}
    assert attributes["ErrorCode"] == {"Type": "Number", "Value": "200"}
    assert attributes["ErrorMessage"] == {"Type": "String", "Value": "order 42 rejected"}
    assert attributes["RequestID"]["Value"] == destination["requestContext"]["requestId"]


def test_given_a_dead_letter_queue_set_by_update_function_configuration_then_it_gets_the_event(
    app: LocalRuntime,
) -> None:
    lambda_client = app.client("lambda")
    function = app.physical_id("FailingFunction")
    queue_arn = app.resource("DeadLetters").attributes["Arn"]
    lambda_client.update_function_configuration(
        FunctionName=function, DeadLetterConfig={"TargetArn": queue_arn}
    )
    try:
        lambda_client.invoke(FunctionName=function, InvocationType="Event", Payload=b'{"order": 9}')
        app.drain()
        shown = lambda_client.get_function_configuration(FunctionName=function)
    finally:
        lambda_client.update_function_configuration(
            FunctionName=function,
            DeadLetterConfig={"TargetArn": app.physical_id("DeadLetterTopic")},
        )
    _messages(app, "Failures")  # its on-failure destination's record, as before

    assert shown["DeadLetterConfig"] == {"TargetArn": queue_arn}
    assert [json.loads(message["Body"]) for message in _messages(app, "DeadLetters")] == [
        {"order": 9}
    ]
    assert _messages(app, "TopicCopies") == []


@pytest.mark.parametrize(
    "function",
    [
        "ReconfiguredFunction",  # in this process
        pytest.param("NewerFunction", id="NewerFunction-in-a-worker-process"),
    ],
)
def test_given_update_function_configuration_with_an_environment_then_the_next_invocation_sees_it(
    app: LocalRuntime, function: str
) -> None:
    lambda_client = app.client("lambda")
    name = app.physical_id(function)
    in_worker = any("worker processes" in what for lid, what in app.report.notes if lid == function)
    before = _invoke(app, function)

    lambda_client.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"MODE": "changed"}}
    )
    changed = _invoke(app, function)
    lambda_client.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"MODE": "fail"}}
    )
    failing = _invoke(app, function)
    shown = lambda_client.get_function_configuration(FunctionName=name)["Environment"]

    assert in_worker == (function == "NewerFunction")
    assert before == {"error": None, "payload": {"import": "pass", "invocation": "pass"}}
    # A new execution environment: the handler module is imported under the new variables.
    assert changed == {"error": None, "payload": {"import": "changed", "invocation": "changed"}}
    assert failing["error"] == "Unhandled"
    assert failing["payload"]["errorMessage"] == "failing as configured"
    assert shown == {"Variables": {"MODE": "fail"}}
