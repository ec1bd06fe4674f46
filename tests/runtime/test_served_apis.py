"""Each API of a template is served over HTTP, whichever way the template declares it."""

from __future__ import annotations

from pathlib import Path

import requests

from aigw.local.runtime import LocalRuntime
from aigw.local.serve import LocalServer

#: SAM's HttpApi with a DefinitionBody becomes an AWS::ApiGatewayV2::Api with a Body and no
#: ProtocolType (an OpenAPI import, which only HTTP APIs can be).
IMPORTED_HTTP_API = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Definition:
        StartAt: Greet
        States:
          Greet:
            Type: Pass
            Parameters: {"greeting.$": "States.Format('hello {}', $.name)"}
            End: true
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: greetings, version: "1"}
        paths:
          /greet:
            post:
              responses: {default: {description: ok}}
              x-amazon-apigateway-integration:
                type: aws_proxy
                integrationSubtype: StepFunctions-StartSyncExecution
                payloadFormatVersion: "1.0"
                connectionType: INTERNET
                requestParameters:
                  Input: $request.body
                  StateMachineArn: !GetAtt Machine.Arn
"""


def test_an_http_api_imported_from_openapi_is_served(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(IMPORTED_HTTP_API)
    with LocalRuntime(template) as runtime:
        transformed = runtime.template.resources["HttpApi"]
        server = LocalServer(runtime)
        urls = server.start()
        try:
            answer = requests.post(f"{urls['REST API']}/greet", json={"name": "ada"}, timeout=30)
        finally:
            server.stop()

    assert transformed.type == "AWS::ApiGatewayV2::Api"
    assert "ProtocolType" not in transformed.properties and "Body" in transformed.properties
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "SUCCEEDED"
    assert answer.json()["output"] == '{"greeting":"hello ada"}'
