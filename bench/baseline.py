"""The usual design, generated from our own ASL: the baseline the cost model compares with.

As in the AWS samples, a job is **one Standard workflow** in which **every AI call is a
Lambda wrapper** and **publish states** announce the job's status. The transform, applied
to job-runner with the pipeline's workflow:

- each ``startExecution.sync`` of a child workflow (job-runner's RunPipeline, document
  insights' AnalyseText) becomes a Parallel state with one branch holding the child's
  states, so the Express children run as states of the one Standard execution; the
  child's input (``Parameters.Input``) and result selection (``$.Output`` -> ``$[0]``),
  ``ResultPath`` and ``Catch`` are kept;
- each ``arn:aws:states:::aws-sdk:<service>:<action>`` task becomes a task on the wrapper
  function (``bench/baseline_wrapper``) with ``{"service", "action", "params"}``, keeping
  the task's ResultSelector, ResultPath, Catch and Retry (error names without the service
  prefix, as a Lambda raises them, plus Lambda's own transient errors);
- SNS publish states (``arn:aws:states:::sns:publish``) after MarkRunning, after Finalize
  and after MarkFailed publish the job event to the job-event topic, which the notifier
  already consumes; the Jobs-table stream no longer feeds the job-events function, so
  every notification comes from a publish state;
- everything else (the job's status writes, finalize, the document Lambdas, the
  pre/post-processing Lambdas) stays as it is.

``baseline_template(pipeline, out_dir)`` writes a copy of template.yaml whose job-runner is
the generated workflow for that pipeline, ready for :class:`LocalRuntime`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
WRAPPER_DIR = Path(__file__).resolve().parent / "baseline_wrapper"
RUNNER = "JobRunnerStateMachine"
PIPELINE_MACHINES = {
    "text-insights": "TextInsightsStateMachine",
    "document-insights": "DocumentInsightsStateMachine",
    "image-insights": "ImageInsightsStateMachine",
    "predict": "PredictStateMachine",
}
_AWS_SDK = "arn:aws:states:::aws-sdk:"
_SYNC = "arn:aws:states:::states:startExecution.sync"
_LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


class Machines:
    """The template's state machines: definitions and substitutions by logical id."""

    def __init__(self, template: dict[str, Any], base_dir: Path) -> None:
        self.definitions: dict[str, dict[str, Any]] = {}
        self.substitutions: dict[str, dict[str, Any]] = {}
        for logical_id, spec in template["Resources"].items():
            if spec.get("Type") != "AWS::Serverless::StateMachine":
                continue
            properties = spec["Properties"]
            self.definitions[logical_id] = json.loads(
                (base_dir / properties["DefinitionUri"]).read_text()
            )
            self.substitutions[logical_id] = properties.get("DefinitionSubstitutions") or {}

    def child_of(self, owner: str, placeholder: str) -> str:
        """The logical id of the machine a ``${Name}`` in ``owner``'s definition refers to."""
        name = placeholder.strip()[2:-1]
        value = self.substitutions[owner].get(name)
        if not (isinstance(value, dict) and "Ref" in value and value["Ref"] in self.definitions):
            raise ValueError(f"{owner}: {placeholder} does not name a state machine")
        return str(value["Ref"])


def _selector_from_output(selector: dict[str, Any]) -> dict[str, Any]:
    rewritten: dict[str, Any] = {}
    for key, value in selector.items():
        if isinstance(value, str) and key.endswith(".$") and value.startswith("$.Output"):
            value = "$[0]" + value[len("$.Output") :]
        elif isinstance(value, dict):
            value = _selector_from_output(value)
        rewritten[key] = value
    return rewritten


def _wrapped_retry(retriers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lambda_retry = {
        "ErrorEquals": list(_LAMBDA_TRANSIENT),
        "IntervalSeconds": 1,
        "MaxAttempts": 3,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 8,
        "JitterStrategy": "FULL",
    }
    renamed = []
    for retrier in retriers:
        retrier = copy.deepcopy(retrier)
        retrier["ErrorEquals"] = [
            error if error.startswith("States.") else error.split(".", 1)[-1]
            for error in retrier["ErrorEquals"]
        ]
        renamed.append(retrier)
    return [lambda_retry, *renamed]


def transform_states(
    states: dict[str, Any], owner: str, machines: Machines, used: set[str]
) -> dict[str, Any]:
    """The states with AI tasks wrapped in Lambda and child workflows inlined."""
    result: dict[str, Any] = {}
    for name, state in states.items():
        state = copy.deepcopy(state)
        kind, resource = state.get("Type"), state.get("Resource", "")
        if kind == "Task" and resource.startswith(_AWS_SDK):
            service, action = resource[len(_AWS_SDK) :].split(":", 1)
            state["Resource"] = "${AiWrapperFunctionArn}"
            state["Parameters"] = {
                "service": service,
                "action": action,
                "params": state.get("Parameters", {}),
            }
            state["Retry"] = _wrapped_retry(state.get("Retry", []))
        elif kind == "Task" and resource.startswith(_SYNC):
            parameters = state["Parameters"]
            child = machines.child_of(owner, parameters["StateMachineArn"])
            state = _inline(state, child, machines, used)
        elif kind == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            processor["States"] = transform_states(processor["States"], owner, machines, used)
        elif kind == "Parallel":
            for branch in state["Branches"]:
                branch["States"] = transform_states(branch["States"], owner, machines, used)
        result[name] = state
    return result


def _inline(task: dict[str, Any], child: str, machines: Machines, used: set[str]) -> dict[str, Any]:
    """A ``startExecution.sync`` task as a one-branch Parallel running ``child``'s states."""
    used.add(child)
    definition = machines.definitions[child]
    child_input = {
        key: value
        for key, value in task["Parameters"].get("Input", {}).items()
        if not key.startswith("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID")
    }
    parallel: dict[str, Any] = {
        "Type": "Parallel",
        "Comment": f"{child} inlined (was a startExecution.sync task)",
        "Parameters": child_input,
        "Branches": [
            {
                "StartAt": definition["StartAt"],
                "States": transform_states(definition["States"], child, machines, used),
            }
        ],
    }
    if "ResultSelector" in task:
        parallel["ResultSelector"] = _selector_from_output(task["ResultSelector"])
    for field in ("ResultPath", "OutputPath", "Catch", "Next", "End"):
        if field in task:
            parallel[field] = task[field]
    return parallel


def _publish(status: str, next_state: str) -> dict[str, Any]:
    attributes = {
        "tenant_id": {"DataType": "String", "StringValue.$": "$.tenant_id"},
        "pipeline": {"DataType": "String", "StringValue.$": "$.pipeline_name"},
        "status": {"DataType": "String", "StringValue": status},
    }
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {
            "TopicArn": "${JobEventsTopicArn}",
            "Message": {
                "type": "job.status",
                "tenant_id.$": "$.tenant_id",
                "job_id.$": "$.job_id",
                "pipeline.$": "$.pipeline_name",
                "status": status,
            },
            "MessageAttributes": attributes,
        },
        "ResultPath": None,
        "TimeoutSeconds": 10,
        "Retry": [
            {
                "ErrorEquals": ["SNS.ThrottledException", "SNS.InternalErrorException"],
                "IntervalSeconds": 1,
                "MaxAttempts": 3,
                "BackoffRate": 2.0,
            }
        ],
        "Next": next_state,
    }


def baseline_definition(pipeline: str, machines: Machines) -> tuple[dict[str, Any], dict[str, Any]]:
    """job-runner with ``pipeline``'s workflow inlined, and its DefinitionSubstitutions."""
    runner = copy.deepcopy(machines.definitions[RUNNER])
    child = PIPELINE_MACHINES[pipeline]
    used: set[str] = set()
    states: dict[str, Any] = {}
    for name, state in runner["States"].items():
        if name == "RunPipeline":
            state = _inline(state, child, machines, used)
        states[name] = state
    # Publish states at the start and at each end, as the samples do.
    states["MarkRunning"]["Next"] = "PublishRunning"
    states["PublishRunning"] = _publish("RUNNING", "RunPipeline")
    states["Finalize"]["Next"] = "PublishSucceeded"
    states["PublishSucceeded"] = _publish("SUCCEEDED", "Done")
    states["MarkFailed"]["Next"] = "PublishFailed"
    states["PublishFailed"] = _publish("FAILED", "Failed")
    runner["States"] = states
    runner["Comment"] = (
        f"GENERATED by bench/baseline.py from job-runner and {child}: the usual design "
        "(one Standard workflow, AI calls in a Lambda wrapper, publish states). Not deployed."
    )
    substitutions = dict(machines.substitutions[RUNNER])
    for machine in used:
        substitutions.update(machines.substitutions[machine])
    substitutions["AiWrapperFunctionArn"] = {"Fn::GetAtt": ["AiWrapperFunction", "Arn"]}
    substitutions["JobEventsTopicArn"] = {"Ref": "JobEventsTopic"}
    return runner, substitutions


def _absolute_paths(template: dict[str, Any], base_dir: Path) -> None:
    for spec in template["Resources"].values():
        properties = spec.get("Properties") or {}
        for name in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(name), str):
                properties[name] = str((base_dir / properties[name]).resolve())

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            include = node.get("Fn::Transform")
            if isinstance(include, dict) and include.get("Name") == "AWS::Include":
                parameters = include["Parameters"]
                parameters["Location"] = str((base_dir / parameters["Location"]).resolve())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template)


def baseline_template(
    pipeline: str, out_dir: Path, template_path: Path = TEMPLATE
) -> tuple[Path, dict[str, Any]]:
    """Write the baseline template for ``pipeline``; returns its path and the generated ASL."""
    template = yaml_parse(template_path.read_text())
    base_dir = template_path.resolve().parent
    machines = Machines(template, base_dir)
    definition, substitutions = baseline_definition(pipeline, machines)
    resources = template["Resources"]
    # The usual design runs every job in its one Standard workflow.
    template["Parameters"]["ExpressJobPipelines"]["Default"] = ""
    runner = resources[RUNNER]["Properties"]
    runner.pop("DefinitionUri")
    runner["Definition"] = definition
    runner["DefinitionSubstitutions"] = substitutions
    resources["AiWrapperFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Description": "The usual design's AI call wrapper (generated baseline).",
            "CodeUri": str(WRAPPER_DIR),
            "Handler": "app.handler",
        },
    }
    # Notifications come from the publish states now, not from the table's stream.
    resources["JobEventsFunction"]["Properties"].pop("Events", None)
    _absolute_paths(template, base_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"baseline-{pipeline}.template.json"
    path.write_text(json.dumps(template, indent=1))
    return path, definition


def count_states(definition: dict[str, Any]) -> int:
    total = 0
    for state in definition["States"].values():
        total += 1
        if state["Type"] == "Parallel":
            total += sum(count_states(branch) for branch in state["Branches"])
        elif state["Type"] == "Map":
            total += count_states(state.get("ItemProcessor") or state["Iterator"])
    return total
