"""In-process AWS calls leave no reference cycles (aigw.local.engine.reference_cycles).

What a cycle costs is the collector's time: the objects are found only by a collection that
walks their generation. Each test counts what a few calls leave for the collector with
``gc.DEBUG_SAVEALL`` (everything a collection finds unreachable is kept in ``gc.garbage``
instead of freed); the canaries run the same calls with one fix reverted. Calls served
by threads (a Step Functions execution's program, the served AWS endpoint's request
threads) may still be ending when the client has its answer: their tests collect again for
a while, a canary until the cycle shows up.
"""

from __future__ import annotations

import datetime
import gc
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import jmespath
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import JSONParser, ResponseParser, ResponseParserFactory
from jmespath import functions as jmespath_functions
from jmespath.visitor import TreeInterpreter
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.request import Request
from moto.dynamodb.parsing.ast_nodes import Node
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from sfn_waits import wait_done

from aigw.local.engine import apply_engine_fixes, engine_fixes_reverted
from aigw.local.engine.retention import on_express_finished
from aigw.local.services.aws_endpoint import AwsEndpoint

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/sfn"


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    apply_engine_fixes()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


@pytest.fixture
def dynamodb() -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="jobs",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


CALLS = 4


def _count_usage(dynamodb: Any) -> None:
    """The usage count a job adds (ADD, on a new item the first time)."""
    dynamodb.update_item(
        TableName="jobs",
        Key={"id": {"S": "usage-1"}},
        UpdateExpression="ADD jobs :one, units :units SET tenant = :tenant",
        ExpressionAttributeValues={
            ":one": {"N": "1"},
            ":units": {"N": "3"},
            ":tenant": {"S": "t-1"},
        },
    )


def _job_calls(dynamodb: Any) -> None:
    """What a job does to its item: create, count (ADD on a new item), update, read."""
    dynamodb.put_item(TableName="jobs", Item={"id": {"S": "j-1"}, "status": {"S": "QUEUED"}})
    _count_usage(dynamodb)
    dynamodb.update_item(
        TableName="jobs",
        Key={"id": {"S": "j-1"}},
        UpdateExpression="SET #s = :s, steps = :steps REMOVE queued_at",
        ConditionExpression="attribute_exists(id)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "RUNNING"}, ":steps": {"M": {}}},
    )
    dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})


def _left_for_the_collector(
    calls: Callable[[], None],
    until: Callable[[list[Any]], bool] | None = None,
    within: float = 0.0,
) -> list[Any]:
    """The objects ``calls`` left in reference cycles (the collector's findings); with
    ``until``, collected again until it holds of them or ``within`` seconds have passed."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        calls()
        gc.collect()
        deadline = time.monotonic() + within
        while until is not None and not until(gc.garbage) and time.monotonic() < deadline:
            time.sleep(0.02)
            gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def _of(kind: type, garbage: list[Any]) -> list[Any]:
    return [item for item in garbage if isinstance(item, kind)]


def test_a_job_s_dynamodb_calls_leave_no_requests_parsers_or_expression_trees(
    dynamodb: Any,
) -> None:
    _job_calls(dynamodb)  # clients, models and parsed expressions made once, not per call

    garbage = _left_for_the_collector(lambda: _job_calls(dynamodb))

    assert _of(Request, garbage) == []
    assert _of(ResponseParser, garbage) == []
    assert _of(Node, garbage) == []


def test_an_update_s_expression_checks_leave_nothing_for_the_collector(dynamodb: Any) -> None:
    """The checks' walks (engine fix dynamodb-update-expression-checks-match-node-classes-once)
    are plain calls: a walk that recursed through a closure left the closure, its cells and
    the check with its table of bound methods in a cycle, ten per UpdateItem (about 700
    objects per job under load, collected in pauses of 30-90 ms)."""

    def updates() -> None:
        for _ in range(2):
            _count_usage(dynamodb)

    updates()

    assert _left_for_the_collector(updates) == []
    item = dynamodb.get_item(TableName="jobs", Key={"id": {"S": "usage-1"}})["Item"]
    assert item["jobs"] == {"N": "4"}


def test_the_calls_still_answer_as_dynamodb_does(dynamodb: Any) -> None:
    _job_calls(dynamodb)
    _job_calls(dynamodb)

    item = dynamodb.get_item(TableName="jobs", Key={"id": {"S": "usage-1"}})["Item"]
    assert item == {
        "id": {"S": "usage-1"},
        "jobs": {"N": "2"},
        "units": {"N": "6"},
        "tenant": {"S": "t-1"},
    }
    job = dynamodb.get_item(TableName="jobs", Key={"id": {"S": "j-1"}})["Item"]
    assert job == {"id": {"S": "j-1"}, "status": {"S": "RUNNING"}, "steps": {"M": {}}}

    # A rejected update (a path that overlaps another) is answered as DynamoDB answers it,
    # and leaves no tree behind either.
    def overlapping_update() -> None:
        with pytest.raises(ClientError) as raised:
            dynamodb.update_item(
                TableName="jobs",
                Key={"id": {"S": "j-1"}},
                UpdateExpression="SET steps = :a, steps.x = :b",
                ExpressionAttributeValues={":a": {"M": {}}, ":b": {"S": "x"}},
            )
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert "overlap" in raised.value.response["Error"]["Message"]

    garbage = _left_for_the_collector(overlapping_update)
    assert _of(Node, garbage) == []


def test_a_reused_parser_still_follows_the_factory_s_defaults() -> None:
    factory = ResponseParserFactory()
    first = factory.create_parser("json")
    assert factory.create_parser("json") is first
    assert factory.create_parser("rest-xml") is not first

    factory.set_parser_defaults(timestamp_parser=lambda value: f"parsed {value}")
    parser = factory.create_parser("json")

    assert parser is not first
    model = boto3.client("stepfunctions", region_name=REGION).meta.service_model
    operation = model.operation_model("DescribeExecution")
    body = (
        b'{"executionArn": "arn", "stateMachineArn": "arn", "status": "RUNNING",'
        b' "startDate": 1700000000}'
    )
    parsed = parser.parse({"status_code": 200, "headers": {}, "body": body}, operation.output_shape)
    assert parsed["startDate"] == "parsed 1700000000"
    default = first.parse({"status_code": 200, "headers": {}, "body": body}, operation.output_shape)
    assert isinstance(default["startDate"], datetime.datetime)


@pytest.mark.canary
def test_canary_a_moto_request_is_a_cycle_through_its_environ(dynamodb: Any) -> None:
    """If this fails, moto fixed it upstream: delete fix moto-request-not-in-its-environ."""
    _job_calls(dynamodb)
    with engine_fixes_reverted("moto-request-not-in-its-environ"):
        garbage = _left_for_the_collector(lambda: _job_calls(dynamodb))

    assert len(_of(Request, garbage)) == CALLS  # one per call


@pytest.mark.canary
def test_canary_every_response_builds_a_parser_in_a_cycle(dynamodb: Any) -> None:
    """If this fails, botocore fixed it upstream: delete fix botocore-response-parser-reused."""
    _job_calls(dynamodb)
    with engine_fixes_reverted("botocore-response-parser-reused"):
        garbage = _left_for_the_collector(lambda: _job_calls(dynamodb))

    # One per response (DynamoDB's JSON protocol), each with its event-stream parser.
    assert len([item for item in garbage if type(item) is JSONParser]) == CALLS


@pytest.mark.canary
def test_canary_an_update_s_expression_tree_is_left_linked(dynamodb: Any) -> None:
    """If this fails, moto fixed it upstream: delete fix dynamodb-update-tree-unlinked."""
    _job_calls(dynamodb)
    with engine_fixes_reverted("dynamodb-update-tree-unlinked"):
        garbage = _left_for_the_collector(lambda: _job_calls(dynamodb))

    assert _of(Node, garbage)


# ------------------------------------------------------------------------ Step Functions

#: A Pass and a Parallel of two branches: the execution's program, and threads for both.
PASS_AND_PARALLEL = {
    "StartAt": "Shape",
    "States": {
        "Shape": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Double",
                    "States": {
                        "Double": {
                            "Type": "Pass",
                            "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
                            "End": True,
                        }
                    },
                },
                {"StartAt": "Same", "States": {"Same": {"Type": "Pass", "End": True}}},
            ],
            "End": True,
        },
    },
}
PASS_AND_PARALLEL_OUTPUT = [{"doubled": 4}, {"n": 2}]


def _machine(kind: str) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sfn.create_state_machine(
        name=f"cycles-{kind.lower()}",
        definition=json.dumps(PASS_AND_PARALLEL),
        roleArn=ROLE,
        type=kind,
    )["stateMachineArn"]


def _sync_executions(arn: str, outputs: list[Any]) -> Callable[[], None]:
    sfn = boto3.client("stepfunctions", region_name=REGION)

    def run() -> None:
        answer = sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps({"n": 2}))
        outputs.append((answer["status"], json.loads(answer["output"])))

    return run


def _executions(garbage: list[Any]) -> list[Any]:
    return _of(Execution, garbage) + _of(ExecutionWorker, garbage)


def test_a_sync_execution_leaves_no_execution_for_the_collector() -> None:
    outputs: list[Any] = []
    run = _sync_executions(_machine("EXPRESS"), outputs)
    run()  # the engine's caches (parsed definition, clients) built once, not per execution

    garbage = _left_for_the_collector(run, until=_executions, within=0.3)

    assert _executions(garbage) == []
    assert outputs == [("SUCCEEDED", PASS_AND_PARALLEL_OUTPUT)] * 2


def test_a_standard_execution_still_answers_its_history_once_it_ended() -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.start_execution(stateMachineArn=_machine("STANDARD"), input='{"n": 2}')[
        "executionArn"
    ]
    described = wait_done(arn)

    history = sfn.get_execution_history(executionArn=arn)["events"]

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == PASS_AND_PARALLEL_OUTPUT
    types = [event["type"] for event in history]
    assert types[0] == "ExecutionStarted"
    assert types[-1] == "ExecutionSucceeded"
    assert {"PassStateExited", "ParallelStateSucceeded"} <= set(types)
    succeeded = history[-1]["executionSucceededEventDetails"]
    assert json.loads(succeeded["output"]) == PASS_AND_PARALLEL_OUTPUT
    # Answered after the cut: the worker kept for the history no longer has its channel.
    (execution,) = [
        execution
        for machine in stepfunctions_parser_backends[DEFAULT_ACCOUNT_ID][REGION].state_machines
        for execution in machine.executions
        if execution.exec_arn == arn
    ]
    assert execution.exec_worker is not None
    assert vars(execution.exec_worker)["_execution_communication"] is None


def test_a_finished_express_execution_still_hands_its_history_to_listeners() -> None:
    histories: list[list[str]] = []
    finished = threading.Event()

    def listener(described: dict[str, Any], history: Callable[[], list[Any]]) -> None:
        histories.append([event["type"] for event in history()])
        finished.set()

    remove = on_express_finished(listener)
    try:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        sfn.start_execution(stateMachineArn=_machine("EXPRESS"), input='{"n": 2}')
        assert finished.wait(30), "no Express execution finished within 30 s"
    finally:
        remove()

    ((first, *_, last),) = histories
    assert (first, last) == ("ExecutionStarted", "ExecutionSucceeded")


@pytest.mark.canary
def test_canary_an_execution_is_a_cycle_through_its_worker_s_channel() -> None:
    """If this fails, moto fixed it upstream: delete fix execution-worker-releases-its-channel."""
    outputs: list[Any] = []
    run = _sync_executions(_machine("EXPRESS"), outputs)
    run()
    with engine_fixes_reverted("execution-worker-releases-its-channel"):
        garbage = _left_for_the_collector(run, until=_executions, within=2.0)

    assert _of(Execution, garbage)
    assert outputs == [("SUCCEEDED", PASS_AND_PARALLEL_OUTPUT)] * 2


# ------------------------------------------------------------------------------ jmespath


class _Doubling(jmespath_functions.Functions):
    @jmespath_functions.signature({"types": ["number"]})
    def _func_double(self, value: float) -> float:
        return value * 2


DOCUMENT = {"Bucket": "b", "Items": [{"n": 1}, {"n": 2}, {"n": 3}], "Key": None}


def _searches(results: list[Any]) -> Callable[[], None]:
    """What botocore's endpoint rules do: searches without options, compiled or not."""
    compiled = jmespath.compile("Items[?n > `1`].n")

    def search() -> None:
        results.append(jmespath.search("Bucket", DOCUMENT))
        results.append(jmespath.search("length(Items)", DOCUMENT))
        results.append(compiled.search(DOCUMENT))

    return search


def test_jmespath_searches_leave_no_interpreter_and_answer_as_before() -> None:
    results: list[Any] = []
    search = _searches(results)
    search()

    garbage = _left_for_the_collector(search)

    assert _of(TreeInterpreter, garbage) == []
    assert results == ["b", 3, [2, 3]] * 2
    # A search with options still gets an interpreter of its own, with those options.
    options = jmespath.Options(custom_functions=_Doubling())
    assert jmespath.search("double(Items[2].n)", DOCUMENT, options=options) == 6
    assert jmespath.compile("sum(Items[].n)").search(DOCUMENT, options=options) == 6
    with pytest.raises(jmespath.exceptions.UnknownFunctionError):
        jmespath.search("double(Items[2].n)", DOCUMENT)  # not in the shared interpreter


@pytest.mark.canary
def test_canary_every_jmespath_search_builds_an_interpreter_in_a_cycle() -> None:
    """If this fails, jmespath fixed it upstream: delete fix jmespath-interpreter-reused."""
    results: list[Any] = []
    search = _searches(results)
    search()
    with engine_fixes_reverted("jmespath-interpreter-reused"):
        garbage = _left_for_the_collector(search)

    assert len(_of(TreeInterpreter, garbage)) == 3  # one per search


# ------------------------------------------------------------------ served AWS endpoint


def _enctype_helpers(garbage: list[Any]) -> list[Any]:
    """Flask's debug-mode class per request (attach_enctype_error_multidict), and its
    instances."""
    name = "attach_enctype_error_multidict"
    return [
        item
        for item in garbage
        if name in type(item).__qualname__ or (isinstance(item, type) and name in item.__qualname__)
    ]


def _served_s3_calls(url: str) -> Callable[[], None]:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=url)
    s3.create_bucket(Bucket="served")

    def calls() -> None:
        s3.put_object(Bucket="served", Key="k", Body=b"payload")
        assert s3.get_object(Bucket="served", Key="k")["Body"].read() == b"payload"
        assert [item["Key"] for item in s3.list_objects_v2(Bucket="served")["Contents"]] == ["k"]

    return calls


def test_requests_to_the_served_endpoint_leave_no_class_per_request() -> None:
    endpoint = AwsEndpoint()
    try:
        calls = _served_s3_calls(endpoint.start())
        calls()

        garbage = _left_for_the_collector(calls, until=_enctype_helpers, within=0.3)

        assert _enctype_helpers(garbage) == []
    finally:
        endpoint.stop()


@pytest.mark.canary
def test_canary_the_served_endpoint_makes_a_class_per_request_in_debug_mode() -> None:
    """If this fails, moto fixed it upstream: delete fix served-endpoint-not-in-debug-mode."""
    # The server's thread looks create_backend_app up when it starts: started reverted.
    with engine_fixes_reverted("served-endpoint-not-in-debug-mode"):
        endpoint = AwsEndpoint()
        try:
            calls = _served_s3_calls(endpoint.start())
            calls()
            garbage = _left_for_the_collector(calls, until=_enctype_helpers, within=2.0)
        finally:
            endpoint.stop()

    assert _enctype_helpers(garbage)
