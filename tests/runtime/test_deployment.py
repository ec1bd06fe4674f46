"""Deploying templates: what cannot run locally is named, never skipped in silence."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from aigw.local.deploy.deployer import DeploymentError
from aigw.local.deploy.template import TemplateError
from aigw.local.runtime import LocalRuntime

TEMPLATE_WITH_GLUE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Catalog:
    Type: AWS::Glue::Database
    Properties:
      CatalogId: !Ref AWS::AccountId
      DatabaseInput: {Name: catalog}
  Jobs:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


def test_given_an_unsupported_type_when_deployed_then_it_is_reported_by_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aigw.local.deploy")

    with LocalRuntime(_write(tmp_path, TEMPLATE_WITH_GLUE)) as runtime:
        report = runtime.report
        tables = runtime.client("dynamodb").list_tables()["TableNames"]

    assert [(lid, rtype) for lid, rtype, _ in report.not_run] == [
        ("Catalog", "AWS::Glue::Database")
    ]
    assert "not run: Catalog (AWS::Glue::Database)" in "\n".join(report.describe())
    assert "Catalog" in caplog.text
    assert tables == ["aigw-local-Jobs"]  # the rest of the template still runs


def test_given_strict_mode_when_a_type_cannot_run_then_deployment_fails_naming_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(DeploymentError, match=r"Catalog \(AWS::Glue::Database\)"):
        LocalRuntime(_write(tmp_path, TEMPLATE_WITH_GLUE), strict=True).start()


def test_given_a_definition_placeholder_without_substitution_then_deployment_fails(
    tmp_path: Path,
) -> None:
    (tmp_path / "machine.asl.json").write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${MissingArn}",'
        ' "End": true}}}'
    )
    template = _write(
        tmp_path,
        """
Transform: AWS::Serverless-2016-10-31
Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: machine.asl.json
      DefinitionSubstitutions: {OtherArn: x}
""",
    )

    with pytest.raises(TemplateError, match="MissingArn"):
        LocalRuntime(template).start()


def test_given_a_failed_start_then_the_next_runtime_can_start(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError):
        LocalRuntime(_write(tmp_path, TEMPLATE_WITH_GLUE), strict=True).start()

    with LocalRuntime(_write(tmp_path, TEMPLATE_WITH_GLUE)) as runtime:
        assert runtime.client("dynamodb").list_tables()["TableNames"] == ["aigw-local-Jobs"]


def test_given_a_running_runtime_when_another_starts_then_it_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, TEMPLATE_WITH_GLUE)
    with LocalRuntime(path), pytest.raises(RuntimeError, match="already running"):
        LocalRuntime(path).start()


#: A definition file whose placeholders stand where numbers go, as public samples write them.
WAIT_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  WaitSeconds: {Type: Number, Default: 2}
Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: %s
      DefinitionSubstitutions:
        WaitSeconds: !Ref WaitSeconds
        Greeting: hello
"""


@pytest.mark.parametrize(
    ("file_name", "text"),
    [
        (
            "wait.asl.json",
            '{"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": ${WaitSeconds},'
            ' "Next": "Done"}, "Done": {"Type": "Pass", "Result": {"greeting": "${Greeting}"},'
            ' "End": true}}}',
        ),
        (
            "wait.asl.yaml",
            "StartAt: Wait\nStates:\n  Wait:\n    Type: Wait\n    Seconds: ${WaitSeconds}\n"
            "    Next: Done\n  Done:\n    Type: Pass\n    Result:\n      greeting: ${Greeting}\n"
            "      at: 2026-01-01T00:00:00Z\n    End: true\n",
        ),
    ],
)
def test_given_a_definition_file_then_it_is_substituted_as_text_before_it_is_read(
    tmp_path: Path, file_name: str, text: str
) -> None:
    # CloudFormation's handler substitutes the file's text, then reads JSON, else YAML: the
    # wait is the number 2. Read first, the JSON failed to parse and the YAML waited "2", a
    # string CreateStateMachine refuses.
    (tmp_path / file_name).write_text(text)
    template = _write(tmp_path, WAIT_TEMPLATE % file_name)

    with LocalRuntime(template, time_scale=0.001) as runtime:
        result = runtime.run("Machine", {})
        described = runtime.client("stepfunctions").describe_state_machine(
            stateMachineArn=runtime.physical_id("Machine")
        )

    assert result["status"] == "SUCCEEDED", result
    definition = json.loads(described["definition"])
    assert definition["States"]["Wait"]["Seconds"] == 2
    assert json.loads(result["output"])["greeting"] == "hello"
    if file_name.endswith(".yaml"):
        # A timestamp stays the string it is written as.
        assert definition["States"]["Done"]["Result"]["at"] == "2026-01-01T00:00:00Z"


def test_given_a_definition_file_unreadable_once_substituted_then_deployment_names_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "broken.asl.json").write_text('{"StartAt": "A", "States": {${WaitSeconds}}')
    template = _write(tmp_path, WAIT_TEMPLATE % "broken.asl.json")

    with pytest.raises(DeploymentError, match=r"Machine: broken\.asl\.json .* neither JSON"):
        LocalRuntime(template).start()


def test_given_a_definition_in_s3_then_deployment_says_it_cannot_be_read_offline(
    tmp_path: Path,
) -> None:
    template = _write(tmp_path, WAIT_TEMPLATE % "s3://artifacts-bucket/machine.asl.json")

    with pytest.raises(DeploymentError, match=r"s3://artifacts-bucket/machine\.asl\.json"):
        LocalRuntime(template).start()


NUMBER_PARAMETERS = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Capacity: {Type: Number, Default: 5}
  Batch: {Type: Number, Default: 7}
  Keep: {Type: String, Default: "true", AllowedValues: ["true", "false"]}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: !Ref Capacity, WriteCapacityUnits: !Ref Capacity}
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: !Ref Keep}
  Queue:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      InlineCode: "def handler(event, context):\\n    return None\\n"
      Handler: index.handler
      Runtime: python3.11
      Events:
        Jobs: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn, BatchSize: !Ref Batch}}
"""


def test_given_number_and_boolean_parameters_then_properties_get_the_models_types(
    tmp_path: Path,
) -> None:
    # CloudFormation converts a template value to its property's type; a Number parameter is
    # a string until then, which boto3 refused ("Invalid type for parameter").
    template = _write(tmp_path, NUMBER_PARAMETERS)

    with LocalRuntime(template) as runtime:
        table = runtime.client("dynamodb").describe_table(TableName=runtime.physical_id("Table"))
        backups = runtime.client("dynamodb").describe_continuous_backups(
            TableName=runtime.physical_id("Table")
        )
        mappings = runtime.client("lambda").list_event_source_mappings()["EventSourceMappings"]

    throughput = table["Table"]["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (5, 5)
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"
    assert [mapping["BatchSize"] for mapping in mappings] == [7]


INLINE_CODE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      InlineCode: |
        import cfnresponse

        def handler(event, context):
            return {"greeting": "hello " + event["name"], "module": cfnresponse.SUCCESS}
"""


def test_given_inline_code_then_it_runs_as_index_py_beside_cfnresponse(tmp_path: Path) -> None:
    # CloudFormation writes ZipFile code to a file named index (handler index.<function>) and
    # puts its cfn-response module beside Python inline code; before, the deploy stopped at
    # "s3://None/None is not a local path".
    template = _write(tmp_path, INLINE_CODE)

    with LocalRuntime(template) as runtime:
        answer = runtime.client("lambda").invoke(
            FunctionName=runtime.physical_id("Greeter"), Payload=json.dumps({"name": "ada"})
        )
        code_dir = runtime._deployer._inline_dirs["Greeter"]
        assert (code_dir / "index.py").is_file()

    assert json.loads(answer["Payload"].read()) == {"greeting": "hello ada", "module": "SUCCESS"}
    assert not code_dir.exists()  # removed when the runtime stops


def test_cfnresponse_puts_the_response_document_to_the_response_url() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from types import SimpleNamespace

    from aigw.local.deploy import cfnresponse

    received: list[tuple[str, dict[str, object]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    event = {
        "ResponseURL": f"http://127.0.0.1:{server.server_port}/signed?x=1",
        "StackId": "stack",
        "RequestId": "request-1",
        "LogicalResourceId": "Thing",
    }
    cfnresponse.send(
        event, SimpleNamespace(log_stream_name="stream"), cfnresponse.SUCCESS, {"A": 1}
    )
    thread.join(timeout=10)
    server.server_close()

    assert received == [
        (
            "/signed?x=1",
            {
                "Status": "SUCCESS",
                "Reason": "See the details in CloudWatch Log Stream: stream",
                "PhysicalResourceId": "stream",
                "StackId": "stack",
                "RequestId": "request-1",
                "LogicalResourceId": "Thing",
                "NoEcho": False,
                "Data": {"A": 1},
            },
        )
    ]


INLINE_CUSTOM_RESOURCE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Provider:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      InlineCode: |
        import cfnresponse

        def handler(event, context):
            size = int(event["ResourceProperties"]["Size"])
            data = {"Doubled": str(size * 2)}
            cfnresponse.send(event, context, cfnresponse.SUCCESS, data, "thing-1")
  Thing:
    Type: Custom::Thing
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      Size: 21
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "t-${Thing.Doubled}-${Thing}"
"""


def test_given_an_inline_custom_resource_provider_then_cfnresponse_answers_the_deploy(
    tmp_path: Path,
) -> None:
    # The pattern CloudFormation documents for custom resources: inline code that answers
    # with cfnresponse.send; its Data is what GetAtt gives, its physical id what Ref gives.
    template = _write(tmp_path, INLINE_CUSTOM_RESOURCE)

    with LocalRuntime(template) as runtime:
        topic = runtime.physical_id("Topic")

    assert topic.endswith(":t-42-thing-1")
