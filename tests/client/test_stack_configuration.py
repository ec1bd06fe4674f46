"""`--stack NAME`: the URLs, the tenants table and the usage plan come from a deployed
stack's outputs (here a stack in moto's in-process AWS)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from aigw.cli import main
from aigw.client import Client

TEMPLATE = """
Parameters:
  UsagePlanId: {Type: String}
Resources:
  TenantsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: tenant_id, AttributeType: S}]
      KeySchema: [{AttributeName: tenant_id, KeyType: HASH}]
Outputs:
  RestApiUrl: {Value: "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"}
  WebSocketUrl: {Value: "wss://def456.execute-api.eu-west-1.amazonaws.com/v1"}
  TenantsTableName: {Value: !Ref TenantsTable}
  TenantUsagePlanId: {Value: !Ref UsagePlanId}
"""


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        plan = boto3.client("apigateway").create_usage_plan(name="tenants")
        boto3.client("cloudformation").create_stack(
            StackName="aigw",
            TemplateBody=TEMPLATE,
            Parameters=[{"ParameterKey": "UsagePlanId", "ParameterValue": plan["id"]}],
        )
        yield plan["id"]


def test_given_a_stack_when_a_client_names_it_then_its_urls_come_from_the_outputs(
    stack: str,
) -> None:
    with Client(stack="aigw", api_key="aigw_key") as client:
        assert client.url == "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
        assert client.ws_url == "wss://def456.execute-api.eu-west-1.amazonaws.com/v1"


def test_given_a_stack_when_a_tenant_is_created_then_its_key_hash_and_usage_key_are_stored(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["tenants", "create", "acme", "--stack", "aigw", "--json"])

    tenant = json.loads(capsys.readouterr().out)
    described = boto3.client("cloudformation").describe_stacks(StackName="aigw")["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in described["Outputs"]}
    item = boto3.client("dynamodb").get_item(
        TableName=outputs["TenantsTableName"], Key={"tenant_id": {"S": tenant["tenant_id"]}}
    )["Item"]
    plan_keys = boto3.client("apigateway").get_usage_plan_keys(usagePlanId=stack)["items"]
    assert code == 0
    assert item["api_key_hash"]["S"] == hashlib.sha256(tenant["api_key"].encode()).hexdigest()
    assert [key["name"] for key in plan_keys] == [f"aigw-{tenant['tenant_id']}"]


def test_given_a_stack_when_a_tenants_limits_are_updated_then_its_item_holds_them(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["tenants", "create", "acme", "--stack", "aigw", "--json"])
    tenant = json.loads(capsys.readouterr().out)

    code = main(
        ["tenants", "update", "acme", "--stack", "aigw", "--monthly-jobs", "500",
         "--monthly-budget-usd", "12.50", "--json"]
    )  # fmt: skip

    shown = json.loads(capsys.readouterr().out)
    described = boto3.client("cloudformation").describe_stacks(StackName="aigw")["Stacks"][0]
    table = next(
        o["OutputValue"] for o in described["Outputs"] if o["OutputKey"] == "TenantsTableName"
    )
    item = boto3.client("dynamodb").get_item(
        TableName=table, Key={"tenant_id": {"S": tenant["tenant_id"]}}
    )["Item"]
    assert code == 0
    assert (shown["monthly_jobs"], shown["monthly_budget_usd"]) == (500, 12.5)
    assert shown["max_concurrent_jobs"] is None
    assert (item["monthly_jobs"], item["monthly_budget_usd"]) == ({"N": "500"}, {"N": "12.50"})


def test_given_no_such_stack_when_a_tenant_is_created_then_one_line_and_an_error_code(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["tenants", "create", "acme", "--stack", "nope"])

    error = capsys.readouterr().err
    assert code == 3
    assert error.startswith("aigw: could not create the tenant: ")
    assert len(error.splitlines()) == 1
