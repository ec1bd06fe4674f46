"""Resources other resources refer to, which CloudFormation creates in ways moto has no API
for: a Kinesis stream (created in moto's Kinesis, with its event source mapping run), a
custom resource (its provider function run as CloudFormation runs it), and any type the
runtime does not run, whose ``Fn::GetAtt`` is a placeholder named in the report so the rest
of the app deploys (docs/local-runtime.md, "What happens at start")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigw.local.deploy import deployer
from aigw.local.deploy.deployer import DeploymentError
from aigw.local.runtime import LocalRuntime

HEADER = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {CodeUri: src/, Runtime: python3.12, Timeout: 10}
Resources:
"""

PROVIDER = """\
import json
import urllib.request


def handler(event, context):
    # What a provider does (cfnresponse, crhelper): PUT its answer to the ResponseURL.
    properties = event["ResourceProperties"]
    if properties.get("Fail") == "true":
        answer = {"Status": "FAILED", "Reason": "the bucket name is taken"}
    else:
        answer = {
            "Status": "SUCCESS",
            "PhysicalResourceId": "thing-" + properties["Name"],
            "Data": {
                "Bucket": properties["Name"] + "-bucket",
                "Count": properties["Count"],
                "Enabled": properties["Enabled"],
                "Request": event["RequestType"] + " " + event["ResourceType"],
            },
        }
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        answer[key] = event[key]
    body = json.dumps(answer).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def consume(event, context):
    return None
"""

STREAM_READER = """\
import base64
import json
import os

import boto3


def handler(event, context):
    records = event["Records"]
    seen = [
        {
            "data": base64.b64decode(record["kinesis"]["data"]).decode(),
            "key": record["kinesis"]["partitionKey"],
            "source": record["eventSource"],
            "arn": record["eventSourceARN"],
            "name": record["eventName"],
        }
        for record in records
    ]
    key = records[0]["kinesis"]["sequenceNumber"]
    boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=key, Body=json.dumps(seen))
"""


def _app(tmp_path: Path, resources: str, code: str = PROVIDER) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(code)
    (tmp_path / "template.yaml").write_text(HEADER + resources)
    return tmp_path / "template.yaml"


def _environment(runtime: LocalRuntime, logical_id: str) -> dict[str, str]:
    name = runtime.physical_id(logical_id)
    configuration = runtime.client("lambda").get_function_configuration(FunctionName=name)
    return configuration["Environment"]["Variables"]


CUSTOM = """\
  Provider:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.handler}
  Thing:
    Type: Custom::Thing
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      Name: orders
      Count: 3
      Enabled: true
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.consume
      Environment:
        Variables:
          THING: !Ref Thing
          BUCKET: !GetAtt Thing.Bucket
          COUNT: !GetAtt Thing.Count
          ENABLED: !GetAtt Thing.Enabled
          REQUEST: !Sub "${Thing.Request}"
"""


def test_a_custom_resource_runs_its_provider_and_its_data_is_what_getatt_gives(
    tmp_path: Path,
) -> None:
    with LocalRuntime(_app(tmp_path, CUSTOM)) as runtime:
        environment = _environment(runtime, "Consumer")
        report = runtime.report

    assert environment == {
        "THING": "thing-orders",  # Ref: the PhysicalResourceId the provider answered
        "BUCKET": "orders-bucket",
        # Properties reach the provider as strings, as CloudFormation sends them.
        "COUNT": "3",
        "ENABLED": "true",
        "REQUEST": "Create Custom::Thing",
    }
    assert "Thing" in report.created and report.not_run == []


def test_a_custom_resource_answered_failed_fails_the_deployment_with_its_reason(
    tmp_path: Path,
) -> None:
    template = _app(tmp_path, CUSTOM.replace("Enabled: true", "Enabled: true\n      Fail: true"))
    with pytest.raises(DeploymentError, match=r"Thing \(Custom::Thing\).*bucket name is taken"):
        LocalRuntime(template).start()


def test_a_custom_resource_whose_provider_never_answers_fails_the_deployment_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deployer, "CUSTOM_RESOURCE_GRACE_SECONDS", 0.5)
    silent = PROVIDER.replace("    with urllib", "    return\n    with urllib")
    template = _app(tmp_path, CUSTOM, silent)
    with pytest.raises(DeploymentError, match="without answering at the ResponseURL"):
        LocalRuntime(template).start()


def test_a_custom_resource_whose_provider_is_not_run_gets_placeholders_and_the_rest_deploys(
    tmp_path: Path,
) -> None:
    resources = CUSTOM.replace(
        "Properties: {Handler: app.handler}",
        "Properties: {Handler: index.handler, Runtime: nodejs20.x}",
    )
    with LocalRuntime(_app(tmp_path, resources)) as runtime:
        environment = _environment(runtime, "Consumer")
        report = runtime.report

    assert [(lid, rtype) for lid, rtype, _ in report.not_run] == [
        ("Provider", "AWS::Lambda::Function"),
        ("Thing", "Custom::Thing"),
    ]
    assert environment["BUCKET"] == "not-run-locally:Thing.Bucket"
    assert environment["REQUEST"] == "not-run-locally:Thing.Request"
    noted = [what for lid, what in report.notes if lid == "Thing"]
    assert any(what.startswith("Fn::GetAtt Thing.Bucket is the placeholder") for what in noted)


def test_getatt_of_a_type_that_is_not_run_is_a_placeholder_and_the_rest_deploys(
    tmp_path: Path,
) -> None:
    resources = """\
  Users:
    Type: AWS::Cognito::UserPool
    Properties: {UserPoolName: users}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.consume
      Environment:
        Variables:
          POOL_ARN: !GetAtt Users.Arn
          PROVIDER: !Sub "${Users.ProviderName}"
"""
    with LocalRuntime(_app(tmp_path, resources)) as runtime:
        environment = _environment(runtime, "Fn")
        report = runtime.report

    assert [(lid, rtype) for lid, rtype, _ in report.not_run] == [
        ("Users", "AWS::Cognito::UserPool")
    ]
    assert environment == {
        "POOL_ARN": "arn:aws:cognito:us-east-1:123456789012:not-run-locally/Users",
        "PROVIDER": "not-run-locally:Users.ProviderName",
    }
    assert [what.split(" is the")[0] for lid, what in report.notes if lid == "Users"] == [
        "Fn::GetAtt Users.Arn",
        "Fn::GetAtt Users.ProviderName",
    ]
    assert "note: Users: Fn::GetAtt Users.Arn" in "\n".join(report.describe())


KINESIS = """\
  Stream:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  Seen:
    Type: AWS::S3::Bucket
  Reader:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Environment:
        Variables: {BUCKET: !Ref Seen, STREAM: !Ref Stream, STREAM_ARN: !GetAtt Stream.Arn}
      Events:
        Records:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Stream.Arn
            StartingPosition: LATEST
            BatchSize: 10
            FilterCriteria:
              Filters: [{Pattern: '{"data": {"kind": ["order"]}}'}]
"""


def test_a_kinesis_stream_is_created_and_its_mapping_delivers_batches_of_records(
    tmp_path: Path,
) -> None:
    with LocalRuntime(_app(tmp_path, KINESIS, STREAM_READER)) as runtime:
        environment = _environment(runtime, "Reader")
        kinesis = runtime.client("kinesis")
        stream = runtime.physical_id("Stream")
        with runtime.bridge.async_invoker.held():  # all three wait for one poll, as on AWS
            answer = kinesis.put_records(
                StreamName=stream,
                Records=[
                    {"Data": json.dumps({"kind": "order", "n": 1}).encode(), "PartitionKey": "a"},
                    {"Data": json.dumps({"kind": "noise"}).encode(), "PartitionKey": "b"},
                    {"Data": json.dumps({"kind": "order", "n": 2}).encode(), "PartitionKey": "c"},
                ],
            )
        runtime.drain()
        s3, bucket = runtime.client("s3"), runtime.physical_id("Seen")
        batches = [
            json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        ]
        report = runtime.report

    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/aigw-local-Stream"
    assert (stream, environment["STREAM"], environment["STREAM_ARN"]) == (
        "aigw-local-Stream",
        "aigw-local-Stream",
        arn,
    )
    assert answer["FailedRecordCount"] == 0
    # One batch, the record its FilterCriteria drops left out, data as base64 of the bytes.
    assert batches == [
        [
            {
                "data": json.dumps({"kind": "order", "n": n}),
                "key": key,
                "source": "aws:kinesis",
                "arn": arn,
                "name": "aws:kinesis:record",
            }
            for n, key in ((1, "a"), (2, "c"))
        ]
    ]
    assert report.not_run == []


KINESIS_PARTIAL = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  Calls:
    Type: AWS::SQS::Queue
  Reader:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Environment:
        Variables: {CALLS: !Ref Calls}
      InlineCode: |
        import base64, os, boto3
        sqs = boto3.client("sqs")
        failed = set()

        def handler(event, context):
            keys = [r["kinesis"]["partitionKey"] for r in event["Records"]]
            sqs.send_message(QueueUrl=os.environ["CALLS"], MessageBody=",".join(keys))
            for record in event["Records"]:
                if record["kinesis"]["partitionKey"] == "b" and "b" not in failed:
                    failed.add("b")
                    return {"batchItemFailures": [
                        {"itemIdentifier": record["kinesis"]["sequenceNumber"]}]}
            return {"batchItemFailures": []}
      Events:
        Records:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Stream.Arn
            StartingPosition: LATEST
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
"""


def test_a_kinesis_batch_reporting_one_failed_record_is_retried_from_it(tmp_path: Path) -> None:
    # The Lambda Developer Guide's partial batch response holds for Kinesis as for DynamoDB
    # streams: the batch is retried from the lowest sequence number the function names.
    template = tmp_path / "template.yaml"
    template.write_text(KINESIS_PARTIAL)
    with LocalRuntime(template, time_scale=0.001) as runtime:
        kinesis, sqs = runtime.client("kinesis"), runtime.client("sqs")
        with runtime.bridge.async_invoker.held():
            kinesis.put_records(
                StreamName=runtime.physical_id("Stream"),
                Records=[{"Data": b"{}", "PartitionKey": key} for key in "abc"],
            )
        runtime.drain()
        queue = runtime.physical_id("Calls")
        calls = [
            message["Body"]
            for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
                "Messages", []
            )
        ]

    assert calls == ["a,b,c", "b,c"]
