"""`aigw local` as a user runs it: a subprocess on free ports, talked to over HTTP."""

from __future__ import annotations

import socket
from pathlib import Path

import requests

from aigw.local_gateway.testing import aigw_local

ROOT = Path(__file__).resolve().parents[2]


def _listening(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, int(port))) == 0


def test_given_aigw_local_when_started_then_it_serves_the_api_and_stops_cleanly() -> None:
    template = str(ROOT / "template.yaml")
    with aigw_local("--template", template, "--api-key", "aigw_dev_test-key-0123456789") as banner:
        rest = banner["REST API"]

        listed = requests.get(
            f"{rest}/pipelines", headers={"x-api-key": banner["API key"]}, timeout=10
        )
        refused = requests.get(f"{rest}/pipelines", timeout=10)

        assert listed.status_code == 200
        assert {p["name"] for p in listed.json()["pipelines"]} >= {"text-insights", "predict"}
        assert refused.status_code == 401
        assert banner["API key"] == "aigw_dev_test-key-0123456789"
        assert banner["WebSocket"].startswith("ws://127.0.0.1:")
    # Ctrl-C has stopped it: every port it listened on is released.
    assert not _listening(rest)
    assert not _listening(banner["WebSocket"])
    assert not _listening(banner["AWS endpoint"])


HELLO_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
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
          Properties: {Path: /hello, Method: get}
Outputs:
  HelloWorldApi:
    Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/Prod/hello/"
  HelloWorldFunction:
    Value: !GetAtt HelloWorldFunction.Arn
"""


def test_given_a_template_with_outputs_then_the_banner_prints_them_naming_the_served_api(
    tmp_path: Path,
) -> None:
    (tmp_path / "hello_world").mkdir()
    (tmp_path / "hello_world" / "app.py").write_text(
        "def lambda_handler(event, context):\n"
        '    return {"statusCode": 200, "body": \'{"message": "hello world"}\'}\n'
    )
    (tmp_path / "template.yaml").write_text(HELLO_TEMPLATE)
    with aigw_local("--template", str(tmp_path / "template.yaml"), "--providers", "none") as banner:
        api = banner["Output HelloWorldApi"]
        answer = requests.get(api, timeout=10)

        assert api == f"{banner['REST API']}/hello/"
        assert answer.status_code == 200
        assert answer.json() == {"message": "hello world"}
        assert banner["Output HelloWorldFunction"] == (
            "arn:aws:lambda:us-east-1:123456789012:function:aigw-local-HelloWorldFunction"
        )
