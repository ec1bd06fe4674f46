"""JSONata states (`"QueryLanguage": "JSONata"`) give AWS's results (engine fix
`jsonata-evaluated`): moto 5.2.5 has no JSONata evaluator, so without the fix every one of
these executions fails with States.Runtime `TypeError('NoneType' object is not callable)`.

Expected values are JSONata 2.0's (the version Step Functions runs) and the behaviour
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html describes.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from sfn_waits import wait_done

from aigw.local.engine import apply_engine_fixes, engine_fixes_reverted
from aigw.local.runtime import LocalRuntime

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sfn"


@pytest.fixture
def engine() -> Iterator[None]:
    apply_engine_fixes()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def run(definition: dict[str, Any], payload: Any = None) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name="machine", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload or {}))
    described = wait_done(started["executionArn"])
    described["events"] = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    return described


def output(described: dict[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def jsonata(states: dict[str, Any], start: str | None = None) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": start or next(iter(states)), "States": states}


def pass_output(value: Any) -> dict[str, Any]:
    return jsonata({"P": {"Type": "Pass", "Output": value, "End": True}})


# --- Expressions over $states.input -----------------------------------------------------------


@pytest.mark.usefixtures("engine")
def test_given_arithmetic_and_string_functions_then_the_output_is_jsonatas() -> None:
    machine = pass_output(
        {
            "sum": "{% $states.input.a + $states.input.b %}",
            "half": "{% $states.input.a / 2 %}",
            "total": "{% $sum($states.input.items.price) %}",
            "cheap": "{% $states.input.items[price < 5].name %}",
            "greeting": "{% 'Hello ' & $uppercase($states.input.name) %}",
            "tags": "{% $join($states.input.tags, ', ') %}",
            "words": "{% $split('a-b-c', '-') %}",
            "length": "{% $length($states.input.name) %}",
            "static": "not an expression",
            "nested": ["{% $states.input.a * 10 %}", {"deep": "{% $not(true) %}"}],
        }
    )
    payload = {
        "a": 3,
        "b": 4.5,
        "name": "María",
        "tags": ["x", "y"],
        "items": [{"name": "pen", "price": 2}, {"name": "book", "price": 12.5}],
    }

    assert output(run(machine, payload)) == {
        "sum": 7.5,
        "half": 1.5,
        "total": 14.5,
        "cheap": "pen",  # a one-item sequence is its item, as in JSONata
        "greeting": "Hello MARÍA",
        "tags": "x, y",
        "words": ["a", "b", "c"],
        "length": 5,
        "static": "not an expression",
        "nested": [30, {"deep": False}],
    }


@pytest.mark.usefixtures("engine")
def test_given_a_whole_output_expression_then_it_replaces_the_output() -> None:
    machine = pass_output("{% $states.input.order.{ 'id': id, 'lines': $count(lines) } %}")
    described = run(machine, {"order": {"id": "o-1", "lines": [1, 2, 3]}})
    assert output(described) == {"id": "o-1", "lines": 3}


@pytest.mark.usefixtures("engine")
def test_given_nulls_then_null_and_missing_differ() -> None:
    machine = pass_output(
        {
            "isNull": "{% $states.input.z = null %}",
            "exists": "{% $exists($states.input.z) %}",
            "missing": "{% $exists($states.input.nope) %}",
            "value": "{% $states.input.z %}",
        }
    )
    assert output(run(machine, {"z": None})) == {
        "isNull": True,
        "exists": True,
        "missing": False,
        "value": None,
    }


@pytest.mark.usefixtures("engine")
def test_given_the_context_then_states_context_reads_it() -> None:
    machine = pass_output(
        {
            "state": "{% $states.context.State.Name %}",
            "input": "{% $states.context.Execution.Input.k %}",
        }
    )
    assert output(run(machine, {"k": "v"})) == {"state": "P", "input": "v"}


# --- Variables --------------------------------------------------------------------------------


@pytest.mark.usefixtures("engine")
def test_given_assigned_variables_then_a_later_state_reads_them() -> None:
    machine = jsonata(
        {
            "Remember": {
                "Type": "Pass",
                "Assign": {
                    "total": "{% $sum($states.input.nums) %}",
                    "who": "{% $states.input.name %}",
                    "nothing": None,
                    "literal": {"kept": "as is"},
                },
                "Next": "Use",
            },
            "Use": {
                "Type": "Pass",
                "Output": {
                    "total": "{% $total %}",
                    "message": "{% $who & ' paid ' & $string($total) %}",
                    "nothing": "{% $nothing %}",
                    "literal": "{% $literal.kept %}",
                },
                "End": True,
            },
        }
    )
    # A name with a double quote and a backslash: moto writes strings into the expression's
    # text without escaping them.
    name = 'Ann "the \\ payer"'
    assert output(run(machine, {"nums": [1, 2, 3.5], "name": name})) == {
        "total": 6.5,
        "message": f"{name} paid 6.5",
        "nothing": None,
        "literal": "as is",
    }


@pytest.mark.usefixtures("engine")
def test_given_a_jsonpath_state_then_it_reads_a_variable() -> None:
    machine = {
        "StartAt": "Remember",
        "States": {
            "Remember": {"Type": "Pass", "Assign": {"customer.$": "$.customer"}, "Next": "Use"},
            "Use": {
                "Type": "Pass",
                "Parameters": {"name.$": "$customer.name", "not-evaluated": "$customer"},
                "End": True,
            },
        },
    }
    described = run(machine, {"customer": {"name": "María"}})
    assert output(described) == {"name": "María", "not-evaluated": "$customer"}


# --- Choice, Map, Catch -----------------------------------------------------------------------

CHOICE = jsonata(
    {
        "Decide": {
            "Type": "Choice",
            "Choices": [
                {
                    "Condition": "{% $states.input.n > 10 and $states.input.kind = 'big' %}",
                    "Next": "Big",
                },
                {"Condition": "{% $states.input.n > 10 %}", "Next": "Odd"},
            ],
            "Default": "Small",
        },
        "Big": {"Type": "Pass", "Output": {"took": "big"}, "End": True},
        "Odd": {"Type": "Pass", "Output": {"took": "odd"}, "End": True},
        "Small": {
            "Type": "Pass",
            "Output": {"took": "{% 'small ' & $string($states.input.n) %}"},
            "End": True,
        },
    }
)


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"n": 11, "kind": "big"}, "big"),
        ({"n": 11, "kind": "other"}, "odd"),
        ({"n": 3, "kind": "big"}, "small 3"),
    ],
)
def test_given_choice_conditions_then_the_first_true_one_is_taken(
    payload: dict[str, Any], expected: str
) -> None:
    assert output(run(CHOICE, payload)) == {"took": expected}


@pytest.mark.usefixtures("engine")
def test_given_a_map_then_items_item_selector_and_output_are_evaluated() -> None:
    machine = jsonata(
        {
            "Lines": {
                "Type": "Map",
                "Items": "{% $states.input.orders %}",
                "ItemSelector": {
                    "index": "{% $states.context.Map.Item.Index %}",
                    "cost": "{% $states.context.Map.Item.Value.qty * "
                    "$states.context.Map.Item.Value.price %}",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Line",
                    "States": {
                        "Line": {
                            "Type": "Pass",
                            "Output": "{% $string($states.input.index) & ':' "
                            "& $string($states.input.cost) %}",
                            "End": True,
                        }
                    },
                },
                "Output": {
                    "lines": "{% $states.result %}",
                    "count": "{% $count($states.result) %}",
                },
                "End": True,
            }
        }
    )
    orders = [{"qty": 2, "price": 1.5}, {"qty": 1, "price": 10}]
    assert output(run(machine, {"orders": orders})) == {"lines": ["0:3", "1:10"], "count": 2}


@pytest.mark.usefixtures("engine")
def test_given_a_caught_error_then_the_catch_output_reads_states_error_output() -> None:
    machine = jsonata(
        {
            "Work": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Boom",
                        "States": {"Boom": {"Type": "Fail", "Error": "Oops", "Cause": "bad n"}},
                    }
                ],
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": {
                            "error": "{% $states.errorOutput.Error %}",
                            "cause": "{% $states.errorOutput.Cause %}",
                            "n": "{% $states.input.n %}",
                        },
                        "Next": "Handled",
                    }
                ],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        }
    )
    assert output(run(machine, {"n": 7})) == {"error": "Oops", "cause": "bad n", "n": 7}


# --- Step Functions' own functions --------------------------------------------------------------


@pytest.mark.usefixtures("engine")
def test_given_step_functions_functions_then_they_work_as_documented() -> None:
    machine = pass_output(
        {
            "partition": "{% $partition([1, 2, 3, 4, 5, 6, 7], 3) %}",
            "range": "{% $range(0, 10, 2) %}",
            "down": "{% $range(5, 1, -2) %}",
            "hash": "{% $hash($states.input.text, 'SHA-256') %}",
            "seeded": "{% $random(7) = $random(7) %}",
            "random": "{% $random() >= 0 and $random() < 1 %}",
            "uuid": "{% $uuid() %}",
            "parsed": "{% $parse($states.input.json).a %}",
        }
    )
    result = output(run(machine, {"text": "hello", "json": '{"a": [1, {"b": null}]}'}))
    uuid = result.pop("uuid")
    version_4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(version_4, uuid)
    assert result == {
        "partition": [[1, 2, 3], [4, 5, 6], [7]],
        "range": [0, 2, 4, 6, 8, 10],
        "down": [5, 3, 1],
        "hash": hashlib.sha256(b"hello").hexdigest(),
        "seeded": True,
        "random": True,
        "parsed": [1, {"b": None}],
    }


# --- Failures: States.QueryEvaluationError ----------------------------------------------------


def evaluation_failed(described: dict[str, Any]) -> dict[str, Any]:
    failed = [e for e in described["events"] if e["type"] == "EvaluationFailed"]
    assert len(failed) == 1, described["events"]
    return failed[0]["evaluationFailedEventDetails"]


@pytest.mark.usefixtures("engine")
def test_given_an_expression_that_throws_then_the_state_fails_with_query_evaluation_error() -> None:
    described = run(pass_output({"sum": "{% $states.input.a + 'x' %}"}), {"a": 1})

    assert described["status"] == "FAILED"
    assert described["error"] == "States.QueryEvaluationError"
    assert described["cause"] == (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "The JSONata expression '$states.input.a + 'x'' threw an error during evaluation. "
        "T2002: The right side of the + operator must evaluate to a number"
    )
    details = evaluation_failed(described)
    assert details["error"] == "States.QueryEvaluationError"
    assert details["state"] == "P"


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize(
    ("expression", "cause"),
    [
        ("{% $states.input.missing %}", "returned nothing (undefined)."),
        ("{% function($x) { $x } %}", "returned an unsupported result type."),
        ("{% $states.input.a + %}", "S0207: Unexpected end of expression"),
        ("{% $nope(1) %}", "T1006: Attempted to invoke a non-function"),
        ("{% $eval('1') %}", "The function $eval is not supported by Step Functions; use $parse."),
        ("{% $hash('x', 'SHA-3') %}", "The function $hash failed: the algorithm must be one of"),
        ("{% $parse('{') %}", "The function $parse failed: the string is not JSON"),
    ],
)
def test_given_a_bad_expression_then_its_cause_says_why(expression: str, cause: str) -> None:
    described = run(pass_output({"v": expression}), {"a": 1})
    assert described["error"] == "States.QueryEvaluationError"
    assert cause in described["cause"], described["cause"]


@pytest.mark.usefixtures("engine")
def test_given_a_query_evaluation_error_in_a_branch_then_catch_handles_it_by_name() -> None:
    failing_branch = {
        "StartAt": "Bad",
        "States": {"Bad": {"Type": "Pass", "Output": "{% $states.input.a + 'x' %}", "End": True}},
    }
    machine = jsonata(
        {
            "Work": {
                "Type": "Parallel",
                "Branches": [failing_branch],
                "Catch": [
                    {
                        "ErrorEquals": ["States.QueryEvaluationError"],
                        "Output": {"caught": "{% $states.errorOutput.Error %}"},
                        "Next": "Handled",
                    }
                ],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        }
    )
    assert output(run(machine, {"a": 1})) == {"caught": "States.QueryEvaluationError"}


# --- A Lambda task through LocalRuntime -------------------------------------------------------

LAMBDA_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Double:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: double/
      Handler: app.handler
      Runtime: python3.12
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: machine.asl.json
      DefinitionSubstitutions:
        DoubleArn: !GetAtt Double.Arn
"""

LAMBDA_MACHINE = {
    "QueryLanguage": "JSONata",
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {
                "FunctionName": "${DoubleArn}",
                "Payload": {"n": "{% $states.input.n %}", "who": "{% $states.input.who %}"},
            },
            "Assign": {"doubled": "{% $states.result.Payload.doubled %}"},
            "Output": {
                "status": "{% $states.result.StatusCode %}",
                "who": "{% $states.input.who %}",
            },
            "Catch": [
                {
                    "ErrorEquals": ["ValueError"],
                    "Output": {
                        "failed": "{% $states.errorOutput.Error %}",
                        "cause": "{% $parse($states.errorOutput.Cause).errorMessage %}",
                    },
                    "Next": "Failed",
                }
            ],
            "Next": "Report",
        },
        "Report": {
            "Type": "Pass",
            "Output": "{% $merge([$states.input, {'doubled': $doubled}]) %}",
            "End": True,
        },
        "Failed": {"Type": "Pass", "End": True},
    },
}

LAMBDA_CODE = """
def handler(event, context):
    if event["n"] < 0:
        raise ValueError(f"negative: {event['n']}")
    return {"doubled": event["n"] * 2, "who": event["who"]}
"""


def test_given_a_lambda_task_then_arguments_output_assign_and_catch_are_evaluated(
    tmp_path: Path,
) -> None:
    (tmp_path / "double").mkdir()
    (tmp_path / "double" / "app.py").write_text(textwrap.dedent(LAMBDA_CODE))
    (tmp_path / "machine.asl.json").write_text(json.dumps(LAMBDA_MACHINE))
    (tmp_path / "template.yaml").write_text(LAMBDA_TEMPLATE)

    with LocalRuntime(tmp_path / "template.yaml", time_scale=0.001) as runtime:
        succeeded = runtime.run("Machine", {"n": 21, "who": "Ann"})
        failed = runtime.run("Machine", {"n": -1, "who": "Bob"})

    assert json.loads(succeeded["output"]) == {"status": 200, "who": "Ann", "doubled": 42}
    assert json.loads(failed["output"]) == {"failed": "ValueError", "cause": "negative: -1"}


# --- Canary -----------------------------------------------------------------------------------


@pytest.mark.canary
@pytest.mark.usefixtures("engine")
def test_canary_moto_has_no_jsonata_evaluator() -> None:
    """If this fails, moto evaluates JSONata itself: compare, then delete fix jsonata-evaluated."""
    with engine_fixes_reverted("jsonata-evaluated"):
        described = run(pass_output({"sum": "{% $states.input.a + $states.input.b %}"}), {"a": 1})
    assert described["error"] == "States.Runtime"
    assert "'NoneType' object is not callable" in described["cause"]
