"""Engine fixes found by running other people's apps (tests/corpus): each with its canary
(`pytest -m canary`), which runs the scenario unpatched and asserts moto still differs."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from aigw.local.engine import apply_engine_fixes, engine_fixes_reverted, set_time_scale
from aigw.local.engine.context_object import aws_timestamp

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sfn"
AWS_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    apply_engine_fixes()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    set_time_scale(1.0)


def sfn() -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


def run(definition: dict[str, Any], payload: Any = None) -> dict[str, Any]:
    arn = sfn().create_state_machine(
        name=f"m{abs(hash(json.dumps(definition))) % 10**8}",
        definition=json.dumps(definition),
        roleArn=ROLE,
    )["stateMachineArn"]
    execution = sfn().start_execution(stateMachineArn=arn, input=json.dumps(payload or {}))
    deadline = time.monotonic() + 30  # returns as soon as the execution ends
    while time.monotonic() < deadline:
        described = sfn().describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise AssertionError(f"{execution['executionArn']} still running after 30 s")


CONTEXT_TIMES = {
    "StartAt": "Times",
    "States": {
        "Times": {
            "Type": "Pass",
            "Parameters": {
                "started.$": "$$.Execution.StartTime",
                "entered.$": "$$.State.EnteredTime",
            },
            "End": True,
        }
    },
}


def test_context_object_timestamps_have_aws_format() -> None:
    """Given a state reading $$.Execution.StartTime and $$.State.EnteredTime, then both are
    ISO 8601 UTC with milliseconds and Z, as the Step Functions guide shows them."""
    output = json.loads(run(CONTEXT_TIMES)["output"])
    assert AWS_TIMESTAMP.match(output["started"]), output
    assert AWS_TIMESTAMP.match(output["entered"]), output
    assert output["started"] <= output["entered"]


@pytest.mark.canary
def test_canary_context_object_timestamps_are_python_datetimes() -> None:
    """If this fails, moto fixed it upstream: delete fix context-object-timestamps."""
    entered_only = {**CONTEXT_TIMES, "States": {"Times": {**CONTEXT_TIMES["States"]["Times"]}}}
    entered_only["States"]["Times"]["Parameters"] = {"entered.$": "$$.State.EnteredTime"}
    with engine_fixes_reverted("context-object-timestamps"):
        entered = json.loads(run(entered_only)["output"])["entered"]
        # StartTime is the datetime object itself: the output cannot even be described.
        with pytest.raises(TypeError, match="datetime is not JSON serializable"):
            run(CONTEXT_TIMES)
    assert entered.endswith("+00:00")


def test_aws_timestamp_keeps_milliseconds_and_converts_to_utc() -> None:
    assert aws_timestamp("2026-01-02T03:04:05.678901+01:00") == "2026-01-02T02:04:05.678Z"
