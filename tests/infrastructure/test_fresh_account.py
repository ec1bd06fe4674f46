"""`sam deploy` with the repository's samconfig.toml succeeds on an account where nothing
was set up by hand (SPEC §8).

Each test names one thing a fresh account lacks and checks that the template provides it
or does not need it. Every resource type the template creates is listed in
FRESH_ACCOUNT_NEEDS with what it needs from the account, so a new type fails until someone
has looked.
"""

from __future__ import annotations

import gzip
import json
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore
from samtranslator.yaml_helper import yaml_parse

from aigw.local.deploy.template import CfnTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
PUSH_TO_CLOUDWATCH_LOGS = "policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"

#: What each resource type needs from the account before it can be created, and where it
#: comes from. "nothing" means it was checked: no service-linked role, account setting or
#: resource policy has to exist first.
FRESH_ACCOUNT_NEEDS = {
    "AWS::ApiGateway::Account": "the role it names: ApiGatewayCloudWatchLogsRole",
    "AWS::ApiGateway::Deployment": "nothing",
    "AWS::ApiGateway::RestApi": "nothing",
    "AWS::ApiGateway::Stage": (
        "access logging: the account's CloudWatch Logs role (ApiGatewayAccountSettings)"
    ),
    "AWS::ApiGateway::UsagePlan": "nothing",
    "AWS::ApiGatewayV2::Api": "nothing",
    "AWS::ApiGatewayV2::Authorizer": "nothing",
    "AWS::ApiGatewayV2::Deployment": "nothing",
    "AWS::ApiGatewayV2::Integration": "nothing",
    "AWS::ApiGatewayV2::Route": "nothing",
    "AWS::ApiGatewayV2::Stage": (
        "access logging of a WebSocket API: the account's CloudWatch Logs role, as REST"
    ),
    "AWS::CloudWatch::Alarm": "nothing (alarm actions publish to a topic with a CMK)",
    "AWS::CloudWatch::Dashboard": "nothing",
    "AWS::DynamoDB::Table": "nothing (AWS owned key for SSE, no autoscaling role)",
    "AWS::Events::Rule": "nothing (the default event bus exists in every account)",
    "AWS::IAM::ManagedPolicy": "CAPABILITY_IAM",
    "AWS::IAM::Role": "CAPABILITY_IAM (no custom names, so not CAPABILITY_NAMED_IAM)",
    "AWS::KMS::Key": "nothing (its key policy keeps the account in control)",
    "AWS::Lambda::EventSourceMapping": "nothing (the function role reads the stream)",
    "AWS::Lambda::Function": "nothing (no reserved concurrency: see the test below)",
    "AWS::Lambda::LayerVersion": "nothing",
    "AWS::Lambda::Permission": "nothing",
    "AWS::Logs::LogGroup": "nothing",
    "AWS::S3::Bucket": "nothing (a generated name; ACLs off and public access blocked)",
    "AWS::S3::BucketPolicy": "nothing (a Deny only, so BlockPublicPolicy accepts it)",
    "AWS::SNS::Subscription": "nothing",
    "AWS::SNS::Topic": "nothing (alias/aws/sns is created by SNS on first use)",
    "AWS::SNS::TopicPolicy": (
        "nothing (it replaces the default policy: same-account principals keep their IAM "
        "access; its Deny spares the notifier's endpoint, so CloudFormation's own "
        "subscription of the notifier is made whoever deploys)"
    ),
    "AWS::SQS::Queue": "nothing (SSE-SQS: no KMS key whose policy would have to admit senders)",
    "AWS::SQS::QueuePolicy": "nothing",
    "AWS::Lambda::EventInvokeConfig": "nothing (the function role may send to its destination)",
    "AWS::StepFunctions::StateMachine": (
        "logging: the role may update the Logs resource policy (StateMachineObservabilityPolicy)"
    ),
}


@cache
def raw() -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text())


@cache
def transformed(**parameters: str) -> CfnTemplate:
    return load_template(TEMPLATE, parameters=parameters)


def references(node: Any) -> Iterator[str]:
    """Logical ids named by Ref, Fn::GetAtt and Fn::Sub anywhere under ``node``."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield (value.split(".")[0] if isinstance(value, str) else value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                yield from (name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
                yield from references(value)
            else:
                yield from references(value)


def _of_type(template: CfnTemplate, resource_type: str) -> dict[str, Any]:
    return {
        logical_id: resource
        for logical_id, resource in template.resources.items()
        if resource.type == resource_type
    }


def _logged_stages(template: CfnTemplate) -> dict[str, str]:
    """Stage → the log group its access logs go to, for every stage that has access logs."""
    stages = {}
    for logical_id, stage in _of_type(template, "AWS::ApiGateway::Stage").items():
        if "AccessLogSetting" in stage.properties:
            stages[logical_id] = stage.properties["AccessLogSetting"]["DestinationArn"]
    for logical_id, stage in _of_type(template, "AWS::ApiGatewayV2::Stage").items():
        if "AccessLogSettings" in stage.properties:
            stages[logical_id] = stage.properties["AccessLogSettings"]["DestinationArn"]
    return {
        logical_id: next(iter(references(destination)))
        for logical_id, destination in stages.items()
    }


# ---------------------------------------------------------------------------- inventory


def test_given_every_resource_type_then_what_it_needs_from_the_account_was_reviewed() -> None:
    used = {resource.type for resource in transformed().resources.values()}

    assert sorted(used - set(FRESH_ACCOUNT_NEEDS)) == [], (
        "new resource types: check what each needs on a fresh account (service-linked "
        "roles, account settings, resource policies, quotas) and list it in FRESH_ACCOUNT_NEEDS"
    )


# ---------------------------------------------------------------------------- API Gateway logs


def test_given_stages_with_access_logs_then_the_stack_sets_the_accounts_cloudwatch_role() -> None:
    template = transformed()
    stages = _logged_stages(template)
    [account] = _of_type(template, "AWS::ApiGateway::Account").values()
    [role_id] = references(account.properties["CloudWatchRoleArn"])
    role = template.resources[role_id]

    assert set(stages) == {"RestApiv1Stage", "WebSocketStage"}
    trusted = [
        statement["Principal"]
        for statement in role.properties["AssumeRolePolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    ]
    assert trusted == [{"Service": "apigateway.amazonaws.com"}]
    [policy] = role.properties["ManagedPolicyArns"]
    assert policy == {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::aws:{PUSH_TO_CLOUDWATCH_LOGS}"}


def test_given_stages_with_access_logs_then_they_are_created_after_the_account_role_is_set() -> (
    None
):
    # API Gateway refuses a stage with access logging while the account has no role
    # ("CloudWatch Logs role ARN must be set in account settings to enable logging").
    template = transformed()
    [account_id] = _of_type(template, "AWS::ApiGateway::Account")

    for stage, log_group in _logged_stages(template).items():
        waits_for = set(references(raw()["Resources"][log_group].get("Metadata")))
        assert account_id in waits_for, f"{stage} may be created before the account role"


def test_given_the_account_role_then_deleting_the_stack_keeps_it() -> None:
    # Deleting an AWS::ApiGateway::Account leaves the setting in place: a deleted role
    # would break the logs of every API in the region.
    resources = raw()["Resources"]
    [account] = [spec for spec in resources.values() if spec["Type"] == "AWS::ApiGateway::Account"]
    [role_id] = references(account["Properties"]["CloudWatchRoleArn"])

    assert resources[role_id]["DeletionPolicy"] == "Retain"
    assert resources[role_id]["UpdateReplacePolicy"] == "Retain"


def test_given_an_account_whose_role_is_managed_elsewhere_then_the_stack_leaves_it_alone() -> None:
    template = transformed(ApiGatewayLogsRole="existing")

    assert _of_type(template, "AWS::ApiGateway::Account") == {}
    assert set(_logged_stages(template)) == {"RestApiv1Stage", "WebSocketStage"}
    assert raw()["Parameters"]["ApiGatewayLogsRole"]["Default"] == "create"


# ---------------------------------------------------------------------------- Step Functions logs


def test_given_state_machine_logging_then_the_log_groups_avoid_the_resource_policy_limit() -> None:
    template = transformed()
    groups = {
        group_id
        for machine in _of_type(template, "AWS::StepFunctions::StateMachine").values()
        for destination in machine.properties["LoggingConfiguration"]["Destinations"]
        for group_id in references(destination)
    }

    assert groups
    for group_id in groups:
        name = template.resources[group_id].properties.get("LogGroupName")
        assert isinstance(name, dict) and name["Fn::Sub"].startswith("/aws/vendedlogs/"), group_id


# ---------------------------------------------------------------------------- sam deploy itself


def _deploy_settings() -> dict[str, Any]:
    return tomllib.loads(SAMCONFIG.read_text())["default"]["deploy"]["parameters"]


def test_given_the_samconfig_then_sam_deploy_uploads_to_a_bucket_it_creates() -> None:
    settings = _deploy_settings()

    assert settings.get("resolve_s3") is True
    assert "s3_bucket" not in settings


def test_given_every_parameter_then_it_has_a_default() -> None:
    # `sam deploy` with the samconfig (no --parameter-overrides) must not stop on one.
    missing = [name for name, spec in raw()["Parameters"].items() if "Default" not in spec]

    assert missing == []


def test_given_iam_resources_without_custom_names_then_capability_iam_is_enough() -> None:
    named = [
        logical_id
        for logical_id, resource in transformed().resources.items()
        if resource.type.startswith("AWS::IAM::")
        and {"RoleName", "ManagedPolicyName", "UserName", "GroupName"} & set(resource.properties)
    ]

    assert _deploy_settings()["capabilities"].split() == ["CAPABILITY_IAM"]
    assert named == [], "custom IAM names need CAPABILITY_NAMED_IAM in samconfig.toml"


def test_given_transforms_then_a_change_set_needs_no_auto_expand_capability() -> None:
    # sam deploy goes through a change set; CloudFormation's own API documentation says
    # CAPABILITY_AUTO_EXPAND does not apply there (only nested stacks would need it).
    model = Path(botocore.__file__).parent / "data/cloudformation/2010-05-15/service-2.json.gz"
    shapes = json.loads(gzip.decompress(model.read_bytes()))["shapes"]
    documentation = shapes["CreateChangeSetInput"]["members"]["Capabilities"]["documentation"]
    types = {spec["Type"] for spec in raw()["Resources"].values()}

    assert "doesn't apply to creating change sets" in documentation
    assert not types & {"AWS::Serverless::Application", "AWS::CloudFormation::Stack"}


# ---------------------------------------------------------------------------- quotas


def test_given_a_new_accounts_low_concurrency_quota_then_no_function_reserves_concurrency() -> None:
    # New accounts start with reduced Lambda concurrency, and a reservation must leave 100
    # unreserved: any ReservedConcurrentExecutions would fail there.
    functions = _of_type(transformed(), "AWS::Lambda::Function")
    reserving = [
        logical_id
        for logical_id, function in functions.items()
        if "ReservedConcurrentExecutions" in function.properties
    ]
    provisioned = [
        logical_id
        for logical_id, spec in raw()["Resources"].items()
        if "ProvisionedConcurrencyConfig" in (spec.get("Properties") or {})
    ]

    assert functions
    assert reserving == [] and provisioned == []
