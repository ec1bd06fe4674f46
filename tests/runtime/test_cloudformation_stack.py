"""The deployed template is the CloudFormation stack ``aigw-local``: programs that find an
app through CloudFormation, as the integration tests ``sam init`` writes do
(``describe_stacks(StackName=os.environ["AWS_SAM_STACK_NAME"])["Stacks"][0]["Outputs"]``,
``list_stack_resources``), find it here and through the served endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest

from aigw.local.deploy.stack import served
from aigw.local.runtime import LocalRuntime
from aigw.local.serve import LocalServer

HANDLER = """
import json


def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"message": "hello world"})}
"""

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: hello app
Parameters:
  Stage:
    Type: String
    Default: test
  Secret:
    Type: String
    NoEcho: true
    Default: s3cret
Conditions:
  Never: !Equals [!Ref Stage, never]
Resources:
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello_world/
      Handler: app.lambda_handler
      Runtime: python3.12
      Events:
        HelloWorld:
          Type: Api
          Properties:
            Path: /hello
            Method: get
  Table:
    Type: AWS::Serverless::SimpleTable
Outputs:
  HelloWorldApi:
    Description: API Gateway endpoint URL for Prod stage for Hello World function
    Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/Prod/hello/"
  HelloWorldFunction:
    Description: Hello World Lambda Function ARN
    Value: !GetAtt HelloWorldFunction.Arn
  TableName:
    Value: !Ref Table
    Export:
      Name: !Sub "${AWS::StackName}-table"
  NeverShown:
    Condition: Never
    Value: hidden
  Imported:
    Value: !ImportValue other-stack-value
"""

#: What a sam-init integration test does, in another process (AWS_ENDPOINT_URL, …).
SAM_INIT_STYLE_TEST = """
import json, os, urllib.request
import boto3

stack_name = os.environ["AWS_SAM_STACK_NAME"]
client = boto3.client("cloudformation")
outputs = client.describe_stacks(StackName=stack_name)["Stacks"][0]["Outputs"]
url = [o for o in outputs if o["OutputKey"] == "HelloWorldApi"][0]["OutputValue"]
resources = client.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
table = [r for r in resources if r["LogicalResourceId"] == "Table"][0]["PhysicalResourceId"]
boto3.client("dynamodb").describe_table(TableName=table)
with urllib.request.urlopen(url, timeout=30) as answer:
    print(json.dumps({"url": url, "status": answer.status, "body": json.loads(answer.read())}))
"""


def _app(tmp_path: Path) -> Path:
    (tmp_path / "hello_world").mkdir()
    (tmp_path / "hello_world" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return tmp_path / "template.yaml"


@pytest.fixture
def hello(tmp_path: Path):
    with LocalRuntime(_app(tmp_path)) as runtime:
        yield runtime


def test_describe_stacks_answers_the_deployment_with_its_resolved_outputs(
    hello: LocalRuntime,
) -> None:
    cloudformation = hello.client("cloudformation")

    stack = cloudformation.describe_stacks(StackName="aigw-local")["Stacks"][0]

    api = hello.physical_id("ServerlessRestApi")
    assert stack["StackName"] == "aigw-local"
    assert stack["StackId"].startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/")
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Description"] == "hello app"
    assert stack["Parameters"] == [
        {"ParameterKey": "Stage", "ParameterValue": "test"},
        {"ParameterKey": "Secret", "ParameterValue": "****"},
    ]
    assert stack["Outputs"] == [
        {
            "OutputKey": "HelloWorldApi",
            "OutputValue": f"https://{api}.execute-api.us-east-1.amazonaws.com/Prod/hello/",
            "Description": "API Gateway endpoint URL for Prod stage for Hello World function",
        },
        {
            "OutputKey": "HelloWorldFunction",
            "OutputValue": hello.arn("HelloWorldFunction"),
            "Description": "Hello World Lambda Function ARN",
        },
        {
            "OutputKey": "TableName",
            "OutputValue": hello.physical_id("Table"),
            "ExportName": "aigw-local-table",
        },
    ]
    # By id too; the output that cannot be resolved offline is named at start.
    assert cloudformation.describe_stacks(StackName=stack["StackId"])["Stacks"] == [stack]
    assert [lid for lid, _ in hello.report.notes] == ["Outputs.Imported"]
    assert "Fn::ImportValue" in hello.report.notes[0][1]
    assert cloudformation.list_exports()["Exports"] == [
        {
            "ExportingStackId": stack["StackId"],
            "Name": "aigw-local-table",
            "Value": hello.physical_id("Table"),
        }
    ]
    summary = cloudformation.list_stacks()["StackSummaries"]
    assert [(s["StackName"], s["StackStatus"]) for s in summary] == [
        ("aigw-local", "CREATE_COMPLETE")
    ]


def test_stack_resources_are_every_resource_with_the_physical_id_ref_gives(
    hello: LocalRuntime,
) -> None:
    cloudformation = hello.client("cloudformation")

    summaries = cloudformation.list_stack_resources(StackName="aigw-local")[
        "StackResourceSummaries"
    ]
    detail = cloudformation.describe_stack_resource(
        StackName="aigw-local", LogicalResourceId="Table"
    )["StackResourceDetail"]
    described = cloudformation.describe_stack_resources(StackName="aigw-local")["StackResources"]

    assert {s["LogicalResourceId"] for s in summaries} == set(hello.template.resources)
    for summary in summaries:
        resource = hello.resource(summary["LogicalResourceId"])
        assert summary["PhysicalResourceId"] == str(resource.ref)
        assert summary["ResourceType"] == resource.type
        assert summary["ResourceStatus"] == "CREATE_COMPLETE"
        assert "LastUpdatedTimestamp" in summary
    by_id = {s["LogicalResourceId"]: s for s in summaries}
    assert by_id["HelloWorldFunction"]["PhysicalResourceId"] == "aigw-local-HelloWorldFunction"
    assert by_id["ServerlessRestApi"]["ResourceType"] == "AWS::ApiGateway::RestApi"
    assert detail["PhysicalResourceId"] == hello.physical_id("Table")
    assert detail["ResourceType"] == "AWS::DynamoDB::Table"
    assert detail["ResourceStatus"] == "CREATE_COMPLETE"
    assert {r["LogicalResourceId"] for r in described} == set(hello.template.resources)


def test_the_answers_have_the_shapes_of_botocores_cloudformation_model() -> None:
    model = botocore.session.get_session().get_service_model("cloudformation")
    stack, output = model.shape_for("Stack"), model.shape_for("Output")
    summary = model.shape_for("StackResourceSummary")

    assert set(stack.required_members) == {"StackName", "CreationTime", "StackStatus"}
    assert {"Outputs", "Parameters", "StackId", "Description"} <= set(stack.members)
    assert list(output.members) == ["OutputKey", "OutputValue", "Description", "ExportName"]
    assert set(summary.required_members) == {
        "LogicalResourceId",
        "ResourceType",
        "LastUpdatedTimestamp",
        "ResourceStatus",
    }
    assert "PhysicalResourceId" in summary.members


def test_another_process_finds_the_served_api_in_the_outputs_and_calls_it(
    hello: LocalRuntime,
) -> None:
    server = LocalServer(hello)
    urls = server.start()
    try:
        env = {
            **os.environ,
            "AWS_SAM_STACK_NAME": "aigw-local",
            "AWS_ENDPOINT_URL": urls["AWS endpoint"],
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        completed = subprocess.run(
            [sys.executable, "-c", SAM_INIT_STYLE_TEST],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert completed.returncode == 0, completed.stderr
        served_outputs = dict(hello.outputs)
    finally:
        server.stop()

    answer = json.loads(completed.stdout)
    assert answer == {
        "url": f"{urls['REST API']}/hello/",
        "status": 200,
        "body": {"message": "hello world"},
    }
    assert served_outputs["HelloWorldApi"] == f"{urls['REST API']}/hello/"
    # Not served any more: the URL the template builds again.
    assert hello.outputs["HelloWorldApi"].startswith("https://")


def test_only_the_served_apis_urls_are_replaced_the_path_kept() -> None:
    served_at = {"abc123": "http://127.0.0.1:3000", "ws9": "ws://127.0.0.1:3001"}

    assert (
        served("https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/hello/", served_at)
        == "http://127.0.0.1:3000/Prod/hello/"
    )
    assert served("wss://ws9.execute-api.us-east-1.amazonaws.com/Prod", served_at) == (
        "ws://127.0.0.1:3001/Prod"
    )
    other = "https://zzz.execute-api.us-east-1.amazonaws.com/Prod"
    assert served(other, served_at) == other
    assert served("arn:aws:lambda:us-east-1:123456789012:function:f", served_at).startswith("arn:")
