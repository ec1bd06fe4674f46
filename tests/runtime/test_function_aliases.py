"""SAM's AutoPublishAlias: the version and alias are created, and what targets the alias
(an API's integration, an Invoke with the alias as qualifier) runs the function.

Before, AWS::Lambda::Version and AWS::Lambda::Alias were not run: the alias's Ref was its
logical id, so the API built from it answered 500 ("no function FnAliasLive") and an Invoke
with ``Qualifier="Live"`` was ResourceNotFoundException — for the hello-world shape `sam
init` offers with an alias.
"""

from __future__ import annotations

import json
from pathlib import Path

from aigw.local.apis.rest_api import Request
from aigw.local.runtime import LocalRuntime

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      AutoPublishAlias: Live
      InlineCode: |
        def handler(event, context):
            return {"statusCode": 200, "body": context.invoked_function_arn}
      Events:
        Get:
          Type: Api
          Properties: {Path: /hello, Method: get}
"""


def test_an_auto_published_alias_is_created_and_what_targets_it_runs(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)

    with LocalRuntime(template, time_scale=0.001) as runtime:
        name = runtime.physical_id("Fn")
        alias_arn = runtime.physical_id("FnAliasLive")
        served = runtime.api("ServerlessRestApi").handle(Request("GET", "/Prod/hello"))
        lambda_ = runtime.client("lambda")
        invoked = lambda_.invoke(FunctionName=name, Qualifier="Live", Payload="{}")
        alias = lambda_.get_alias(FunctionName=name, Name="Live")
        not_run = runtime.report.not_run

    assert not_run == []
    # CloudFormation: an alias's Ref is its ARN.
    assert alias_arn == f"arn:aws:lambda:us-east-1:123456789012:function:{name}:Live"
    assert alias["FunctionVersion"] == "1"
    # The API's integration targets the alias: the function sees the ARN it was invoked by.
    assert (served.status, served.body) == (200, alias_arn)
    assert json.loads(invoked["Payload"].read())["statusCode"] == 200
