"""What the LLM pipelines rely on from Bedrock Runtime and Step Functions, checked against
botocore's bedrock-runtime model (docs/aws-fidelity.md, Bedrock): the Converse request the
gateway prepares and the response members its ResultSelector reads, the stop reasons it
documents, and the IAM action Converse is authorised by, granted on the configured models
only. (The error names of llm-generate's Retry and Catch are checked with every other
state machine's by test_error_names.py.)"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.model import ListShape, Shape, StructureShape
from botocore.validate import validate_parameters

from aigw.local.deploy.template import load_template

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "common"))

from aigw_common.llm import ModelCatalogue, prepare_generate  # noqa: E402

LLM_GENERATE = ROOT / "statemachines" / "llm-generate.asl.json"


@cache
def _model() -> Any:
    return botocore.session.get_session().get_service_model("bedrock-runtime")


def _step_functions_prefix() -> str:
    # aws-sdk task errors are "<the AWS SDK for Java 2.x client name>.<error>": the
    # serviceId's words, each capitalised ("Bedrock Runtime" -> BedrockRuntime).
    return "".join(word.capitalize() for word in _model().service_id.split())


def _camel(value: Any, shape: Shape) -> Any:
    """A Step Functions (PascalCase) aws-sdk request value as botocore's API member names."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}
        result = {}
        for key, item in value.items():
            member = members.get(key.lower())
            assert member is not None, f"{key} is not a member of {shape.name}"
            result[member] = _camel(item, shape.members[member])
        return result
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_camel(item, shape.member) for item in value]
    return value


def test_given_a_prepared_generation_then_generate_sends_a_valid_converse_request() -> None:
    prepared = prepare_generate(
        {"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]},
        {"max_tokens": 64, "temperature": 0.2, "top_p": 0.9, "stop_sequences": ["END"]},
        ModelCatalogue(models=["amazon.nova-micro-v1:0"], default="amazon.nova-micro-v1:0"),
        lambda *_: pytest.fail("no prompt is read"),
    )
    parameters = json.loads(LLM_GENERATE.read_text())["States"]["Generate"]["Parameters"]
    request = {
        "ModelId": prepared["models"][0],
        "Messages": prepared["messages"],
        "System": prepared["system"],
        "InferenceConfig": prepared["inference"],
    }
    assert {key.removesuffix(".$") for key in parameters} == set(request)

    shape = _model().operation_model("Converse").input_shape
    validate_parameters(_camel(request, shape), shape)


def test_given_generates_result_selector_then_it_reads_members_of_converses_response() -> None:
    selector = json.loads(LLM_GENERATE.read_text())["States"]["Generate"]["ResultSelector"]
    shape: Shape = _model().operation_model("Converse").output_shape

    for path in selector.values():
        current = shape
        for part in path.removeprefix("$.").split("."):
            assert isinstance(current, StructureShape)
            members = {name[:1].upper() + name[1:]: name for name in current.members}
            assert part in members, f"{path}: no {part} in {current.name}"
            current = current.members[members[part]]
    usage = shape.members["usage"]
    assert {"inputTokens", "outputTokens"} <= set(usage.members)


def test_given_the_documented_result_then_its_stop_reasons_are_converses() -> None:
    schemas = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())["components"]["schemas"]
    documented = schemas["LlmGenerateResult"]["properties"]["stop_reason"]["enum"]

    assert documented == _model().shape_for("StopReason").enum


def _bedrock_grants(parameters: dict[str, str]) -> dict[str, list[str]]:
    template = load_template(ROOT / "template.yaml", parameters=parameters)
    role = template.resources["LlmGenerateStateMachineRole"].properties
    grants: dict[str, list[str]] = {}
    for policy in role["Policies"]:
        for raw in policy["PolicyDocument"]["Statement"]:
            if "bedrock:" not in json.dumps(raw):
                continue  # the others name resources, which only a deployment resolves
            statement = template.resolve(raw, None)
            if statement is None:  # an Fn::If that chose AWS::NoValue
                continue
            actions = statement["Action"]
            for action in actions if isinstance(actions, list) else [actions]:
                grants.setdefault(action, []).extend(statement["Resource"])
    return grants


def test_given_converse_then_it_is_authorised_as_invoke_model_on_the_models_configured() -> None:
    documentation = _model().operation_model("Converse").documentation
    assert "requires permission for the <code>bedrock:InvokeModel</code> action" in documentation

    default = _bedrock_grants({})
    with_profile = _bedrock_grants(
        {
            "BedrockModels": "amazon.nova-pro-v1:0",
            "BedrockInferenceProfiles": "us.amazon.nova-pro-v1:0",
            "BedrockDefaultModel": "us.amazon.nova-pro-v1:0",
        }
    )

    assert default == {
        "bedrock:InvokeModel": [
            "arn:*:bedrock:*::foundation-model/amazon.nova-micro-v1:0",
            "arn:*:bedrock:*::foundation-model/amazon.nova-lite-v1:0",
        ]
    }
    assert sorted(with_profile["bedrock:InvokeModel"]) == [
        "arn:*:bedrock:*:*:inference-profile/us.amazon.nova-pro-v1:0",
        "arn:*:bedrock:*::foundation-model/amazon.nova-pro-v1:0",
    ]
    assert with_profile["bedrock:GetInferenceProfile"] == [
        "arn:*:bedrock:*:*:inference-profile/us.amazon.nova-pro-v1:0"
    ]
