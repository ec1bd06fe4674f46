"""Deploying templates: what cannot run locally is named, never skipped in silence."""

from __future__ import annotations

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
