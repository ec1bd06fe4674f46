"""A workflow state's payload that a function cannot read is refused with one
ValidationError naming every problem: the error name Step Functions sees (and classifies as
InvalidInput), the field paths and what is wrong, never the values sent."""

from __future__ import annotations

from typing import Any

import pytest

from aigw_common.failures import classify
from aigw_common.state_input import Fields, ValidationError


def read_start(event: Any) -> dict[str, Any]:
    """A payload shaped like StartTextract's."""
    fields = Fields("StartEvent", event)
    token = fields.string("task_token", min_length=1)
    attempt = fields.integer("attempt", minimum=0)
    document = fields.object("document", "Location")
    bucket = document.string("bucket", min_length=1)
    options = fields.object("options", "Options", extra="ignore", required=False)
    features = options.choices("features", ("FORMS", "TABLES"))
    chunks = [
        chunk.string("text")
        for chunk in fields.objects("chunks", "Chunk", extra="ignore", min_length=1)
    ]
    fields.check()
    return {
        "task_token": token,
        "attempt": attempt,
        "bucket": bucket,
        "features": features,
        "chunks": chunks,
    }


GOOD = {"task_token": "t", "attempt": 0, "document": {"bucket": "b"}, "chunks": [{"text": "x"}]}


def test_given_a_good_payload_then_its_fields_are_read_with_defaults_for_the_optional() -> None:
    assert read_start(GOOD) == {
        "task_token": "t",
        "attempt": 0,
        "bucket": "b",
        "features": [],
        "chunks": ["x"],
    }
    with_options = GOOD | {"attempt": 2.0, "options": {"features": ["TABLES"], "language": "en"}}
    assert read_start(with_options)["features"] == ["TABLES"]
    assert read_start(with_options)["attempt"] == 2


def test_given_every_kind_of_problem_then_one_error_lists_them_all_by_path() -> None:
    event = {
        "task_token": "",
        "attempt": True,
        "document": {"bucket": 7, "region": "eu-west-1"},
        "options": {"features": ["FORMS", "PICTURES"]},
        "chunks": [],
        "secret": "do-not-quote-me",
    }

    with pytest.raises(ValidationError) as raised:
        read_start(event)

    message = str(raised.value)
    assert message.splitlines() == [
        "7 validation errors for StartEvent",
        "task_token",
        "  String should have at least 1 character",
        "attempt",
        "  Input should be a valid integer",
        "document.bucket",
        "  Input should be a valid string",
        "options.features.1",
        "  Input should be 'FORMS' or 'TABLES'",
        "chunks",
        "  List should have at least 1 item after validation, not 0",
        "document.region",
        "  Extra inputs are not permitted",
        "secret",
        "  Extra inputs are not permitted",
    ]
    assert "do-not-quote-me" not in message


def test_given_missing_fields_or_no_object_then_they_are_named_once() -> None:
    with pytest.raises(ValidationError) as raised:
        read_start({"attempt": -1, "options": None})
    assert str(raised.value).splitlines() == [
        "5 validation errors for StartEvent",
        "task_token",
        "  Field required",
        "attempt",
        "  Input should be greater than or equal to 0",
        "document",
        "  Field required",
        "options",
        "  Input should be a valid dictionary or instance of Options",
        "chunks",
        "  Field required",
    ]
    with pytest.raises(ValidationError, match="valid dictionary or instance of StartEvent"):
        read_start(["not", "an", "object"])


def test_a_refused_payload_fails_its_job_as_invalid_input_without_retry() -> None:
    with pytest.raises(ValueError) as raised:
        read_start({})
    error = classify(type(raised.value).__name__, str(raised.value))
    assert (error.code, error.retryable) == ("InvalidInput", False)
