"""Templates as ``sam init`` writes them, run before any ``sam build``: a new user's first
touch. What ``sam build`` fills in is filled in the same way (a function's code is the
template's directory when it names none; an image function gets an image URI), and what
the runtime cannot run (an image, a durable function) or runs differently (EFS, SnapStart,
code signing) is said at deploy while the rest of the app deploys and serves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aigw.local.apis.rest_api import Request
from aigw.local.runtime import LocalRuntime

HANDLER = 'def handler(event, context):\n    return {"statusCode": 200, "body": %r}\n'


def _app(tmp_path: Path, template: str, code: dict[str, str]) -> Path:
    for name, body in code.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HANDLER % body)
    path = tmp_path / "template.yaml"
    path.write_text(template)
    return path


def _get(runtime: LocalRuntime, path: str) -> tuple[int, str]:
    response = runtime.api("ServerlessRestApi").handle(Request("GET", path))
    return response.status, response.body


def _invoke(runtime: LocalRuntime, function: str) -> dict[str, Any]:
    answer = runtime.client("lambda").invoke(
        FunctionName=runtime.physical_id(function), Payload=b"{}"
    )
    return {"error": answer.get("FunctionError"), "payload": json.loads(answer["Payload"].read())}


NO_CODE_URI = """
Transform: AWS::Serverless-2016-10-31
%s
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Events:
        Get:
          Type: Api
          Properties: {Path: /, Method: get}
"""


def test_given_a_function_without_code_uri_then_it_runs_from_the_template_directory(
    tmp_path: Path,
) -> None:
    template = _app(tmp_path, NO_CODE_URI % "", {"app.py": "from the template's directory"})

    with LocalRuntime(template, time_scale=0.001) as runtime:
        answer = _get(runtime, "/Prod/")
        report = runtime.report

    assert answer == (200, "from the template's directory")
    assert report.not_run == []


def test_given_a_globals_code_uri_then_a_function_without_one_runs_from_it(
    tmp_path: Path,
) -> None:
    template = _app(
        tmp_path,
        NO_CODE_URI % "Globals:\n  Function:\n    CodeUri: src/",
        {"app.py": "from the template's directory", "src/app.py": "from Globals.CodeUri"},
    )

    with LocalRuntime(template, time_scale=0.001) as runtime:
        answer = _get(runtime, "/Prod/")

    assert answer == (200, "from Globals.CodeUri")


IMAGE_BESIDE_ZIP = """
Transform: AWS::Serverless-2016-10-31
Resources:
  ImageFn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      Events:
        Get:
          Type: Api
          Properties: {Path: /img, Method: get}
    Metadata:
      Dockerfile: Dockerfile
      DockerContext: ./hello_world
      DockerTag: python3.12-v1
  ZipFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Get:
          Type: Api
          Properties: {Path: /zip, Method: get}
"""


def test_given_an_image_function_without_image_uri_then_it_is_not_run_and_the_rest_serves(
    tmp_path: Path,
) -> None:
    template = _app(
        tmp_path, IMAGE_BESIDE_ZIP, {"src/app.py": "zip", "hello_world/app.py": "image"}
    )

    with LocalRuntime(template, time_scale=0.001) as runtime:
        report = runtime.report
        zipped = _get(runtime, "/Prod/zip")
        image = _invoke(runtime, "ImageFn")

    assert [(lid, rtype) for lid, rtype, _ in report.not_run] == [
        ("ImageFn", "AWS::Lambda::Function")
    ]
    assert "container image" in report.not_run[0][2]
    assert zipped == (200, "zip")
    assert image["error"] == "Unhandled"
    assert image["payload"]["errorType"] == "Runtime.NotRunLocally"


DURABLE_BESIDE_PLAIN = """
Transform: AWS::Serverless-2016-10-31
Resources:
  DurableFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: durable/
      Handler: app.handler
      Runtime: python3.12
      DurableConfig:
        ExecutionTimeout: 900
        RetentionPeriodInDays: 7
  PlainFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: plain/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Get:
          Type: Api
          Properties: {Path: /plain, Method: get}
"""


def test_given_a_durable_function_then_it_is_not_run_and_its_invocation_says_why(
    tmp_path: Path,
) -> None:
    template = _app(
        tmp_path, DURABLE_BESIDE_PLAIN, {"durable/app.py": "durable", "plain/app.py": "plain"}
    )

    with LocalRuntime(template, time_scale=0.001) as runtime:
        report = runtime.report
        durable = _invoke(runtime, "DurableFn")
        plain = _get(runtime, "/Prod/plain")

    [(logical_id, _, why)] = report.not_run
    assert logical_id == "DurableFn"
    assert "DurableConfig" in why
    assert durable["payload"]["errorType"] == "Runtime.NotRunLocally"
    assert "DurableConfig" in durable["payload"]["errorMessage"]
    assert plain == (200, "plain")


SETTINGS = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Configured:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      FileSystemConfigs:
        - Arn: arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0
          LocalMountPath: /mnt/efs
      SnapStart: {ApplyOn: PublishedVersions}
      CodeSigningConfigArn: !Join
        - ":"
        - [arn, aws, lambda, us-east-1, "123456789012", code-signing-config, csc-0123456789abcdef0]
      Tracing: Active
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      SnapStart: {ApplyOn: None}
      Tracing: Active
"""


def test_given_efs_snapstart_and_code_signing_then_each_is_noted_and_the_function_runs(
    tmp_path: Path,
) -> None:
    template = _app(tmp_path, SETTINGS, {"src/app.py": "ran"})

    with LocalRuntime(template, time_scale=0.001) as runtime:
        report = runtime.report
        configured = _invoke(runtime, "Configured")

    notes = [what for lid, what in report.notes if lid == "Configured"]
    assert [note.split(":")[0] for note in notes] == [
        "FileSystemConfigs",
        "SnapStart",
        "CodeSigningConfigArn",
    ]
    assert "/mnt/efs" in notes[0]
    assert [lid for lid, _ in report.notes if lid == "Plain"] == []  # nothing to say
    assert report.not_run == []
    assert configured == {"error": None, "payload": {"statusCode": 200, "body": "ran"}}
