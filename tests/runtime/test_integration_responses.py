"""A REST API's AWS integration picks its integration response as API Gateway does.

In an OpenAPI definition the keys of ``x-amazon-apigateway-integration.responses`` are the
response status patterns: regular expressions matched against the integration's status code,
or ``default`` (https://docs.aws.amazon.com/apigateway/latest/developerguide/
api-gateway-swagger-extensions-integration-responses.html). Public samples key their
responses ``"200"`` with no ``selectionPattern`` member; before, only that member was read,
so the response template was skipped and the client got the service's whole answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigw.local.apis.rest_api import Request
from aigw.local.runtime import LocalRuntime

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Definition:
        StartAt: Done
        States:
          Done: {Type: Pass, Result: {"hello": "world"}, End: true}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: greetings, version: "1"}
        paths:
          /{machine}:
            post:
              responses: {"200": {description: ok}, "404": {description: no such machine}}
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${AWS::Region}:states:action/StartSyncExecution
                requestTemplates:
                  application/json: !Sub >-
                    {"input": "{}", "stateMachineArn":
                    "${Machine}#if($input.params('machine') != 'ok')-nope#end"}
                passthroughBehavior: never
                responses:
                  "2\\\\d{2}":
                    statusCode: "200"
                    responseTemplates:
                      application/json: "$input.path('$.output')"
                  "4\\\\d{2}":
                    statusCode: "404"
                    responseTemplates:
                      application/json: '{"missing": "$input.path(''$.__type'')"}'
"""


def _post(runtime: LocalRuntime, suffix: str) -> tuple[int, object]:
    answer = runtime.api("Api").handle(
        Request("POST", f"/Prod/{suffix}", headers={"Content-Type": "application/json"}, body="{}")
    )
    return answer.status, json.loads(answer.body)


def test_the_integration_response_is_chosen_by_its_key_as_a_status_pattern(
    tmp_path: Path,
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    with LocalRuntime(template, time_scale=0.001) as runtime:
        found = _post(runtime, "ok")
        missing = _post(runtime, "other")

    # 200 from Step Functions matches "2\d{2}": its template answers the execution's output.
    assert found == (200, {"hello": "world"})
    # A machine that does not exist is a 400 from Step Functions, matching "4\d{2}".
    assert missing == (404, {"missing": "StateMachineDoesNotExist"})


def test_an_integration_uri_left_unsubstituted_is_refused_saying_so(tmp_path: Path) -> None:
    # A public sample writes the URI without !Sub: nothing substitutes ${AWS::Region}.
    template = tmp_path / "template.yaml"
    template.write_text(
        TEMPLATE.replace("uri: !Sub arn:aws:apigateway:", "uri: arn:aws:apigateway:")
    )
    with (
        pytest.raises(Exception, match=r"still holds a \$\{\.\.\.\} placeholder; write it as !Sub"),
        LocalRuntime(template, time_scale=0.001) as runtime,
    ):
        runtime.api("Api")
