"""EventBridge Scheduler schedule groups: deployed from the template, and a schedule created
in a group that does not exist refused as Scheduler refuses it."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from aigw.local.engine import engine_fixes_reverted
from aigw.local.runtime import LocalRuntime

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Group:
    Type: AWS::Scheduler::ScheduleGroup
    Properties:
      Name: reminders
  Remind:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Create
        States:
          Create:
            Type: Task
            Resource: arn:aws:states:::aws-sdk:scheduler:createSchedule
            Parameters:
              Name: later
              "GroupName.$": $.group
              ScheduleExpression: at(2030-01-01T00:00:00)
              FlexibleTimeWindow: {Mode: "OFF"}
              Target:
                Arn: arn:aws:sqs:us-east-1:123456789012:q
                RoleArn: arn:aws:iam::123456789012:role/r
            Catch:
              - ErrorEquals: [Scheduler.ResourceNotFoundException]
                ResultPath: $.error
                Next: NoGroup
            End: true
          NoGroup: {Type: Pass, End: true}
"""

SCHEDULE = {
    "Name": "later",
    "ScheduleExpression": "at(2030-01-01T00:00:00)",
    "FlexibleTimeWindow": {"Mode": "OFF"},
    "Target": {"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": "arn:aws:iam::1:role/r"},
}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> LocalRuntime:
    path = Path(tmp_path_factory.mktemp("groups")) / "template.yaml"
    path.write_text(TEMPLATE)
    with LocalRuntime(path, time_scale=0.001) as started:
        yield started


def test_a_schedule_group_is_deployed_and_its_ref_is_its_name(runtime: LocalRuntime) -> None:
    assert runtime.report.not_run == []
    assert runtime.physical_id("Group") == "reminders"
    assert runtime.resource("Group").attributes["Arn"] == (
        "arn:aws:scheduler:us-east-1:123456789012:schedule-group/reminders"
    )

    result = runtime.run("Remind", {"group": runtime.physical_id("Group")})

    assert result["status"] == "SUCCEEDED", result
    schedule = runtime.client("scheduler").get_schedule(GroupName="reminders", Name="later")
    assert schedule["ScheduleExpression"] == "at(2030-01-01T00:00:00)"


def test_a_schedule_in_a_missing_group_is_resource_not_found(runtime: LocalRuntime) -> None:
    result = runtime.run("Remind", {"group": "nowhere"})

    # Caught by name, as a workflow written for AWS catches it.
    assert result["status"] == "SUCCEEDED", result
    error = json.loads(result["output"])["error"]
    assert error["Error"] == "Scheduler.ResourceNotFoundException"
    assert error["Cause"].startswith("Schedule group nowhere does not exist. (Service: Scheduler,")


@pytest.mark.canary
@mock_aws
def test_canary_moto_answers_a_missing_group_with_a_server_error() -> None:
    scheduler = boto3.client(
        "scheduler", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with engine_fixes_reverted("scheduler-missing-group"), pytest.raises(Exception) as raised:
        scheduler.create_schedule(GroupName="nowhere", **SCHEDULE)
    assert not (
        isinstance(raised.value, ClientError)
        and raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    )


def test_create_schedule_models_resource_not_found_as_a_404() -> None:
    model = botocore.session.get_session().get_service_model("scheduler")
    errors = {
        shape.name: shape.metadata["error"]["httpStatusCode"]
        for shape in model.operation_model("CreateSchedule").error_shapes
    }
    assert errors["ResourceNotFoundException"] == 404
