"""Behaviour of the template loader: SAM packaging offline, conditions, order and intrinsics."""

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aigw.local.deploy.template import (
    CODE_BUCKET,
    TemplateError,
    load_template,
    parse_definition,
    substitute_definition,
)

SAM = "Transform: AWS::Serverless-2016-10-31\n"


class FakeLookup:
    """Stands in for the deployer: physical names are derived from logical ids."""

    def ref(self, logical_id: str) -> str:
        return f"physical-{logical_id}"

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return f"arn:{logical_id}:{attribute}"


def write(directory: Path, name: str, text: str, *, sam: bool = False) -> Path:
    """Write a dedented file, optionally declaring the SAM transform first."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((SAM if sam else "") + textwrap.dedent(text))
    return path


def test_given_sam_function_with_globals_when_loaded_then_environment_merges_and_code_maps_back(
    tmp_path: Path,
) -> None:
    (tmp_path / "src" / "handlers").mkdir(parents=True)
    template = write(
        tmp_path,
        "template.yaml",
        """
        Globals:
          Function:
            Runtime: python3.11
            Environment:
              Variables: {TABLE: shared-table}
        Resources:
          Chat:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              CodeUri: src/handlers
              Environment:
                Variables: {MODEL: small}
        """,
        sam=True,
    )

    loaded = load_template(template)

    chat = loaded.resources["Chat"]
    assert chat.type == "AWS::Lambda::Function"
    assert chat.properties["Runtime"] == "python3.11"
    assert chat.properties["Environment"]["Variables"] == {
        "TABLE": "shared-table",
        "MODEL": "small",
    }
    assert chat.properties["Code"] == {"S3Bucket": CODE_BUCKET, "S3Key": "src/handlers"}
    assert loaded.local_path_for_code(CODE_BUCKET, "src/handlers") == tmp_path / "src" / "handlers"
    assert loaded.resources["ChatRole"].type == "AWS::IAM::Role"


def test_given_codeuri_in_globals_and_a_layer_when_loaded_then_both_map_back(
    tmp_path: Path,
) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "deps").mkdir()
    template = write(
        tmp_path,
        "template.yaml",
        """
        Globals:
          Function: {CodeUri: fn, Runtime: python3.11}
        Resources:
          Worker:
            Type: AWS::Serverless::Function
            Properties: {Handler: worker.handler}
          Deps:
            Type: AWS::Serverless::LayerVersion
            Properties: {ContentUri: deps}
        """,
        sam=True,
    )

    loaded = load_template(template)

    code = loaded.resources["Worker"].properties["Code"]
    assert loaded.local_path_for_code(code["S3Bucket"], code["S3Key"]) == tmp_path / "fn"
    (layer,) = [r for r in loaded.resources.values() if r.type == "AWS::Lambda::LayerVersion"]
    content = layer.properties["Content"]
    assert loaded.local_path_for_code(content["S3Bucket"], content["S3Key"]) == tmp_path / "deps"
    with pytest.raises(TemplateError, match="not a local path"):
        loaded.local_path_for_code("other-bucket", "fn")


def test_given_codeuri_that_does_not_exist_when_loaded_then_error_names_resource_and_path(
    tmp_path: Path,
) -> None:
    template = write(
        tmp_path,
        "template.yaml",
        """
        Resources:
          Chat:
            Type: AWS::Serverless::Function
            Properties: {Handler: app.handler, Runtime: python3.11, CodeUri: src/missing}
        """,
        sam=True,
    )

    with pytest.raises(TemplateError, match=r"Chat\.CodeUri: 'src/missing' does not exist"):
        load_template(template)


@pytest.mark.parametrize(
    ("file_name", "text"),
    [
        (
            "flow.asl.json",
            '{"StartAt": "Call", "States": {"Call": '
            '{"Type": "Task", "Resource": "${ChatArn}", "End": true}}}',
        ),
        (
            "flow.asl.yaml",
            "StartAt: Call\nStates:\n  Call: {Type: Task, Resource: '${ChatArn}', End: true}\n",
        ),
    ],
)
def test_given_definition_uri_when_loaded_then_its_file_is_packaged_with_its_substitutions(
    tmp_path: Path, file_name: str, text: str
) -> None:
    write(tmp_path, f"statemachines/{file_name}", text)
    template = write(
        tmp_path,
        "template.yaml",
        f"""
        Resources:
          Flow:
            Type: AWS::Serverless::StateMachine
            Properties:
              DefinitionUri: statemachines/{file_name}
              DefinitionSubstitutions:
                ChatArn: !Sub arn:aws:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:chat
        """,
        sam=True,
    )

    loaded = load_template(template, region="eu-west-1")

    props = loaded.resources["Flow"].properties
    assert "DefinitionUri" not in props
    # As `sam package` uploads it: the translator points DefinitionS3Location at the file.
    location = props["DefinitionS3Location"]
    path = loaded.local_path_for_code(location["Bucket"], location["Key"])
    assert path == tmp_path / "statemachines" / file_name
    substitutions = loaded.resolve(props["DefinitionSubstitutions"], FakeLookup())
    asl = parse_definition(substitute_definition(path.read_text(), substitutions))
    resource = asl["States"]["Call"]["Resource"]
    assert resource == "arn:aws:lambda:eu-west-1:123456789012:function:chat"


def test_given_aws_include_of_an_openapi_file_when_loaded_then_it_is_inlined_in_place(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "api/openapi.yaml",
        """
        openapi: "3.0.1"
        info: {title: aigw, version: "1"}
        paths:
          /health:
            get:
              x-amazon-apigateway-integration: {type: mock}
        """,
    )
    template = write(
        tmp_path,
        "template.yaml",
        """
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: v1
              DefinitionBody:
                Fn::Transform:
                  Name: AWS::Include
                  Parameters: {Location: api/openapi.yaml}
        """,
        sam=True,
    )

    loaded = load_template(template)

    body = loaded.resources["Api"].properties["Body"]
    assert body["paths"]["/health"]["get"]["x-amazon-apigateway-integration"] == {"type": "mock"}


def test_given_aws_include_of_a_missing_file_when_loaded_then_error_names_resource_and_path(
    tmp_path: Path,
) -> None:
    template = write(
        tmp_path,
        "template.yaml",
        """
        Resources:
          Api:
            Type: AWS::ApiGateway::RestApi
            Properties:
              Body:
                Fn::Transform:
                  Name: AWS::Include
                  Parameters: {Location: nowhere.yaml}
        """,
    )

    with pytest.raises(TemplateError, match=r"Resources\.Api\.Properties\.Body.*'nowhere\.yaml'"):
        load_template(template)


PARAMETERISED = """
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Models: {Type: CommaDelimitedList, Default: "small, large"}
  ApiKey: {Type: String}
  Origin: {Type: String, Default: "*", AllowedPattern: '^(\\*|https://[a-z.]+)$',
           ConstraintDescription: one origin or *}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub aigw-${Stage}-${ApiKey}
      Tags: !Ref Models
"""


def test_given_parameters_when_loaded_then_defaults_apply_and_overrides_win(tmp_path: Path) -> None:
    template = write(tmp_path, "template.yaml", PARAMETERISED)

    loaded = load_template(template, parameters={"ApiKey": "k1", "Stage": "prod"})

    assert loaded.parameters == {
        "Stage": "prod",
        "Models": ["small", "large"],
        "ApiKey": "k1",
        "Origin": "*",
    }
    props = loaded.resolve(loaded.resources["Queue"].properties, FakeLookup())
    assert props == {"QueueName": "aigw-prod-k1", "Tags": ["small", "large"]}


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({}, "'ApiKey' has no Default"),
        ({"ApiKey": "k", "Stage": "test"}, r"'Stage': \['test'\] not in AllowedValues"),
        ({"ApiKey": "k", "Stag": "dev"}, "not declared in the template: Stag"),
        # CloudFormation matches AllowedPattern against the whole value.
        ({"ApiKey": "k", "Origin": "https://a.com,https://b.com"}, "'Origin'.*one origin or"),
    ],
)
def test_given_bad_parameters_when_loaded_then_error_says_which(
    tmp_path: Path, parameters: dict[str, str], message: str
) -> None:
    template = write(tmp_path, "template.yaml", PARAMETERISED)

    with pytest.raises(TemplateError, match=message):
        load_template(template, parameters=parameters)


CONDITIONAL = """
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  Tracing: !And [!Condition IsDev, !Or [!Equals [a, b], !Equals [true, "true"]]]
Resources:
  Alarms:
    Type: AWS::SNS::Topic
    Condition: IsProd
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !If [IsProd, !Ref Alarms, !Ref AWS::NoValue]
      DelaySeconds: !If [Tracing, 5, 0]
      RedrivePolicy: {deadLetterTargetArn: !Ref AWS::NoValue, maxReceiveCount: 3}
      Tags: [!Ref AWS::NoValue, {Key: stage, Value: !Ref Stage}]
"""


def test_given_false_condition_when_loaded_then_resource_is_dropped_and_novalue_removes_keys(
    tmp_path: Path,
) -> None:
    loaded = load_template(write(tmp_path, "template.yaml", CONDITIONAL))

    assert loaded.conditions == {"IsProd": False, "IsDev": True, "Tracing": True}
    assert list(loaded.resources) == ["Queue"]
    assert loaded.deploy_order() == ["Queue"]
    props = loaded.resolve(loaded.resources["Queue"].properties, FakeLookup())
    assert props == {
        "DelaySeconds": 5,
        "RedrivePolicy": {"maxReceiveCount": 3},
        "Tags": [{"Key": "stage", "Value": "dev"}],
    }


def test_given_true_condition_when_loaded_then_resource_is_kept_and_ordered_first(
    tmp_path: Path,
) -> None:
    loaded = load_template(
        write(tmp_path, "template.yaml", CONDITIONAL), parameters={"Stage": "prod"}
    )

    assert loaded.deploy_order() == ["Alarms", "Queue"]
    props = loaded.resolve(loaded.resources["Queue"].properties, FakeLookup())
    assert props["QueueName"] == "physical-Alarms"
    assert props["DelaySeconds"] == 0


def test_given_sub_forms_when_resolved_then_vars_escapes_attributes_and_pseudo_params_apply(
    tmp_path: Path,
) -> None:
    template = write(
        tmp_path,
        "template.yaml",
        """
        Resources:
          Table: {Type: AWS::DynamoDB::Table}
          Topic:
            Type: AWS::SNS::Topic
            Properties:
              Plain: !Sub "${Table}|${Table.Arn}|${!Literal}|${AWS::Region}|${AWS::URLSuffix}"
              WithVars: !Sub
                - "${Name}-${Table}-${AWS::AccountId}-${AWS::StackName}"
                - Name: !GetAtt Table.StreamArn
              Partition: !Sub "${AWS::Partition}"
        """,
    )
    loaded = load_template(template, region="eu-central-1", account_id="111122223333")

    props = loaded.resolve(loaded.resources["Topic"].properties, FakeLookup())

    assert props == {
        "Plain": "physical-Table|arn:Table:Arn|${Literal}|eu-central-1|amazonaws.com",
        "WithVars": "arn:Table:StreamArn-physical-Table-111122223333-aigw-local",
        "Partition": "aws",
    }
    assert loaded.deploy_order() == ["Table", "Topic"]


def test_given_other_intrinsics_when_resolved_then_results_match_cloudformation(
    tmp_path: Path,
) -> None:
    template = write(
        tmp_path,
        "template.yaml",
        """
        Mappings:
          Models: {dev: {Id: small-v1}}
        Resources:
          Bucket:
            Type: AWS::S3::Bucket
            Properties:
              Joined: !Join ["-", [a, !Ref AWS::Region, 3]]
              Second: !Select [1, !Split [",", "x,y,z"]]
              Model: !FindInMap [Models, dev, Id]
              Encoded: !Base64 hello
              Zone: !Select [0, !GetAZs ""]
              StackId: !Ref AWS::StackId
        """,
    )
    loaded = load_template(template, region="ap-south-1")

    props = loaded.resolve(loaded.resources["Bucket"].properties, FakeLookup())

    assert props["Joined"] == "a-ap-south-1-3"
    assert props["Second"] == "y"
    assert props["Model"] == "small-v1"
    assert props["Encoded"] == "aGVsbG8="
    assert props["Zone"] == "ap-south-1a"
    assert props["StackId"].startswith("arn:aws:cloudformation:ap-south-1:123456789012:stack/")


def test_given_references_and_depends_on_when_ordered_then_dependencies_come_first(
    tmp_path: Path,
) -> None:
    template = write(
        tmp_path,
        "template.yaml",
        """
        Resources:
          Api:
            Type: AWS::ApiGateway::RestApi
            Properties: {Name: !Sub "${Flow.Name}"}
          Flow:
            Type: AWS::StepFunctions::StateMachine
            DependsOn: Logs
            Properties: {RoleArn: !GetAtt Role.Arn}
          Role: {Type: AWS::IAM::Role}
          Logs: {Type: AWS::Logs::LogGroup}
        """,
    )

    order = load_template(template).deploy_order()

    assert order == ["Logs", "Role", "Flow", "Api"]


def test_given_a_reference_cycle_when_ordered_then_error_names_the_cycle(tmp_path: Path) -> None:
    template = write(
        tmp_path,
        "template.yaml",
        """
        Resources:
          A: {Type: AWS::SNS::Topic, Properties: {Name: !Ref B}}
          B: {Type: AWS::SNS::Topic, Properties: {Name: !GetAtt C.TopicName}}
          C: {Type: AWS::SNS::Topic, DependsOn: [A]}
        """,
    )

    with pytest.raises(TemplateError, match="dependency cycle: A -> B -> C -> A"):
        load_template(template).deploy_order()


def test_given_an_unknown_reference_when_ordered_then_error_names_resource_and_target(
    tmp_path: Path,
) -> None:
    template = write(
        tmp_path,
        "template.yaml",
        "Resources:\n  A: {Type: AWS::SNS::Topic, Properties: {Name: !Sub '${Tabel.Arn}'}}\n",
    )

    with pytest.raises(TemplateError, match="A refers to 'Tabel', but nothing has that name"):
        load_template(template).deploy_order()


def test_given_substitutions_when_applied_then_strings_go_in_verbatim_and_numbers_as_json() -> None:
    definition = '{"A": "${ChatArn}", "D": ${Retries}, "E": ${Enabled}}'

    result = substitute_definition(definition, {"ChatArn": "x", "Retries": 3, "Enabled": True})

    assert json.loads(result) == {"A": "x", "D": 3, "E": True}


def test_given_placeholders_without_values_when_substituted_then_error_lists_them() -> None:
    definition = '{"A": "${ChatArn}", "B": "${ChatArm}", "C": "${Tabel}"}'

    with pytest.raises(TemplateError, match=r"no value for: ChatArm, Tabel$"):
        substitute_definition(definition, {"ChatArn": "x"})


def test_given_import_value_when_resolved_then_error_explains_it_is_not_supported_locally(
    tmp_path: Path,
) -> None:
    template = write(
        tmp_path,
        "template.yaml",
        "Resources:\n  A: {Type: AWS::SNS::Topic, Properties: {Name: !ImportValue shared-name}}\n",
    )
    loaded = load_template(template)

    with pytest.raises(TemplateError, match="ImportValue 'shared-name' is not supported locally"):
        loaded.resolve(loaded.resources["A"].properties, FakeLookup())


def test_given_invalid_sam_resource_when_loaded_then_translator_message_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    template = write(
        tmp_path,
        "template.yaml",
        """
        Resources:
          Chat:
            Type: AWS::Serverless::Function
            Properties: {Handler: app.handler, Runtime: python3.11, PackageType: Tar}
        """,
        sam=True,
    )

    with pytest.raises(TemplateError, match=r"SAM transform failed: .*\[Chat\]"):
        load_template(template)
    assert "AWS_DEFAULT_REGION" not in os.environ
