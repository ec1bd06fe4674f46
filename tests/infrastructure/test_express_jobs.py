"""Express-first jobs: what the template and the ASL promise about the Express job path.

Jobs of the pipelines in ``ExpressJobPipelines`` run on express-job-runner, an asynchronous
Express execution, which runs the pipeline with StartSyncExecution; an Express execution
lasts at most 5 minutes, so every pipeline that may be listed must end well inside that.
The facts come from AWS (docs/aws-fidelity.md, Step Functions) and botocore's model.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
#: An Express execution's longest run, in seconds.
EXPRESS_LIMIT_SECONDS = 300
RUNNER = "ExpressJobRunnerStateMachine"


@cache
def _template() -> dict[str, Any]:
    return dict(yaml_parse((ROOT / "template.yaml").read_text()))


def _resources() -> dict[str, Any]:
    return dict(_template()["Resources"])


def _definition(logical_id: str) -> dict[str, Any]:
    uri = _resources()[logical_id]["Properties"]["DefinitionUri"]
    return dict(json.loads((ROOT / uri).read_text()))


def _states(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Every state, Parallel branches and Map processors included."""
    found = []
    for state in definition["States"].values():
        found.append(state)
        for branch in state.get("Branches", []):
            found += _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                found += _states(state[key])
    return found


def _allowed_pipelines() -> set[str]:
    parameter = _template()["Parameters"]["ExpressJobPipelines"]
    return set(re.findall(r"[a-z]+(?:-[a-z]+)*", parameter["AllowedPattern"]))


def _machine_of(pipeline: str) -> str:
    """The state machine the API starts for ``pipeline`` (its ARN variable in the API)."""
    variables = _resources()["ApiFunction"]["Properties"]["Environment"]["Variables"]
    return str(variables[pipeline.upper().replace("-", "_") + "_ARN"]["Ref"])


def test_given_an_express_machine_then_no_task_waits_for_a_job_or_a_callback() -> None:
    express = [
        logical_id
        for logical_id, resource in _resources().items()
        if resource["Type"] == "AWS::Serverless::StateMachine"
        and resource["Properties"].get("Type") == "EXPRESS"
    ]
    assert RUNNER in express
    for logical_id in express:
        for state in _states(_definition(logical_id)):
            resource = str(state.get("Resource", ""))
            assert not resource.endswith((".sync", ".sync:2", ".waitForTaskToken")), (
                logical_id,
                resource,
            )


def test_given_the_express_pipelines_then_each_ends_with_room_for_the_runner_under_5_minutes() -> (
    None
):
    runner = _definition(RUNNER)
    run = runner["States"]["RunPipeline"]
    others = sum(
        state.get("TimeoutSeconds", 0)
        for name, state in runner["States"].items()
        if name in ("MarkRunning", "Finalize", "MarkFailed")
    )
    assert runner["TimeoutSeconds"] < EXPRESS_LIMIT_SECONDS
    assert others + run["TimeoutSeconds"] <= runner["TimeoutSeconds"]
    default = _template()["Parameters"]["ExpressJobPipelines"]["Default"].split(",")
    assert set(default) <= _allowed_pipelines()
    for pipeline in _allowed_pipelines():
        machine = _machine_of(pipeline)
        assert _resources()[machine]["Properties"]["Type"] == "EXPRESS", pipeline
        # The pipeline times out first, so its own TIMED_OUT reaches finalize.
        assert _definition(machine)["TimeoutSeconds"] < run["TimeoutSeconds"], pipeline


def test_given_the_express_runner_then_it_may_start_exactly_the_allowed_pipelines() -> None:
    statements = [
        statement
        for policy in _resources()[RUNNER]["Properties"]["Policies"]
        if isinstance(policy, dict) and "Statement" in policy
        for statement in policy["Statement"]
        if statement["Action"] == "states:StartSyncExecution"
    ]
    granted = {reference["Ref"] for s in statements for reference in s["Resource"]}
    assert granted == {_machine_of(pipeline) for pipeline in _allowed_pipelines()}


def test_given_start_sync_execution_then_the_members_the_runner_reads_are_in_its_answer() -> None:
    model = botocore.session.get_session().get_service_model("stepfunctions")
    members = set(model.operation_model("StartSyncExecution").output_shape.members)
    runner = json.dumps(_definition(RUNNER))
    read = set(re.findall(r"\$\.pipeline\.([A-Za-z]+)", runner))
    # Step Functions' aws-sdk integrations answer in PascalCase (docs/aws-fidelity.md).
    assert read and {name[0].lower() + name[1:] for name in read} <= members
    finalize = (ROOT / "functions" / "finalize" / "app.py").read_text()
    for member in ("Status", "Error", "Cause"):
        assert f'"{member}"' in finalize
        assert member[0].lower() + member[1:] in members
