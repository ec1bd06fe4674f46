"""Nothing a consumer fails on is lost silently: static checks of the template.

A stream consumer halves a failing batch, bounds its retries and sends what still fails to
a queue; every asynchronously invoked function (SNS, EventBridge) has an on-failure
destination; every such queue has an alarm, and every alarm is on the dashboard. How the
local runtime honours the same settings is tested in tests/runtime/test_failure_destinations.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from aigw.local.deploy.template import CfnTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]
ASYNC_PRINCIPALS = {"sns.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com"}


@cache
def template() -> CfnTemplate:
    return load_template(ROOT / "template.yaml")


def resources(resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.properties
        for logical_id, resource in template().resources.items()
        if resource.type == resource_type
    }


def references(node: Any) -> Iterator[str]:
    """Logical ids named by Ref, Fn::GetAtt and Fn::Sub under ``node``."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt":
                yield value.split(".")[0] if isinstance(value, str) else value[0]
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                yield from (name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text))
                yield from references(value)
            else:
                yield from references(value)


def the(node: Any) -> str:
    [logical_id] = set(references(node))
    return logical_id


def stream_mappings() -> dict[str, dict[str, Any]]:
    return {
        logical_id: props
        for logical_id, props in resources("AWS::Lambda::EventSourceMapping").items()
        if template().resources[the(props["EventSourceArn"])].type
        in ("AWS::DynamoDB::Table", "AWS::Kinesis::Stream")
    }


def asynchronously_invoked() -> set[str]:
    """Functions another service invokes with InvocationType=Event."""
    functions = set(resources("AWS::Lambda::Function"))
    invoked = {
        the(props["FunctionName"])
        for props in resources("AWS::Lambda::Permission").values()
        if props["Principal"] in ASYNC_PRINCIPALS
    }
    invoked |= {
        the(props["Endpoint"])
        for props in resources("AWS::SNS::Subscription").values()
        if props["Protocol"] == "lambda"
    }
    return invoked & functions


def invoke_configs() -> dict[str, dict[str, Any]]:
    return {
        the(props["FunctionName"]): props
        for props in resources("AWS::Lambda::EventInvokeConfig").values()
    }


def failure_queues() -> set[str]:
    queues = {
        the(props["DestinationConfig"]["OnFailure"]["Destination"])
        for props in [
            *stream_mappings().values(),
            *invoke_configs().values(),
        ]
    }
    return queues


# ---------------------------------------------------------------------------- streams


def test_given_the_template_then_the_jobs_stream_has_its_consumers() -> None:
    assert {the(props["FunctionName"]) for props in stream_mappings().values()} == {
        "JobEventsFunction",
        "SettleFunction",
    }


@pytest.mark.parametrize("mapping", sorted(stream_mappings()))
def test_given_a_stream_consumer_then_a_poisoned_record_cannot_block_or_vanish(
    mapping: str,
) -> None:
    props = stream_mappings()[mapping]
    destination = the(props["DestinationConfig"]["OnFailure"]["Destination"])

    # -1 (the default) retries until the record expires: a day of a blocked shard.
    assert 0 <= int(props["MaximumRetryAttempts"]) <= 10
    assert props["BisectBatchOnFunctionError"] is True
    assert template().resources[destination].type == "AWS::SQS::Queue"


@pytest.mark.parametrize("mapping", sorted(stream_mappings()))
def test_given_a_stream_consumer_then_it_filters_the_records_it_does_not_use(
    mapping: str,
) -> None:
    filters = stream_mappings()[mapping]["FilterCriteria"]["Filters"]

    assert filters
    for entry in filters:
        assert isinstance(json.loads(entry["Pattern"]), dict)


# ---------------------------------------------------------------------------- async invocations


def test_given_the_template_then_the_asynchronously_invoked_functions_are_known() -> None:
    assert asynchronously_invoked() == {
        "NotifierFunction",
        "TextractCallbackFunction",
        "ReconcilerFunction",
    }


@pytest.mark.parametrize("function", sorted(asynchronously_invoked()))
def test_given_an_asynchronously_invoked_function_then_its_failures_go_to_a_queue(
    function: str,
) -> None:
    config = invoke_configs()[function]
    destination = the(config["DestinationConfig"]["OnFailure"]["Destination"])

    assert template().resources[destination].type == "AWS::SQS::Queue"
    assert 0 <= int(config["MaximumRetryAttempts"]) <= 2


def test_given_an_eventbridge_target_then_undeliverable_events_have_a_dead_letter_queue() -> None:
    rules = resources("AWS::Events::Rule")
    targets = [(rule, target) for rule, props in rules.items() for target in props["Targets"]]
    policies = resources("AWS::SQS::QueuePolicy")

    assert targets
    for rule, target in targets:
        queue = the(target["DeadLetterConfig"]["Arn"])
        admitted = [
            statement
            for props in policies.values()
            if queue in set(references(props["Queues"]))
            for statement in props["PolicyDocument"]["Statement"]
            if statement["Principal"] == {"Service": "events.amazonaws.com"}
        ]
        # EventBridge needs the queue's permission, each statement for one named rule of
        # the stack (confused deputy), one of them this rule.
        sources = [
            set(references(statement["Condition"]["ArnEquals"]["aws:SourceArn"]))
            for statement in admitted
        ]
        assert {rule} in sources, f"{rule}: EventBridge may not send to {queue}"
        assert all(len(source) == 1 and source <= set(rules) for source in sources)


# ---------------------------------------------------------------------------- queues and alarms


@pytest.mark.parametrize("queue", sorted(failure_queues()))
def test_given_a_failure_queue_then_it_keeps_messages_longest_and_encrypted_without_kms(
    queue: str,
) -> None:
    props = resources("AWS::SQS::Queue")[queue]

    assert int(props["MessageRetentionPeriod"]) == 1_209_600  # 14 days, SQS's maximum
    # An AWS managed KMS key (alias/aws/sqs) would refuse service principals.
    assert props["SqsManagedSseEnabled"] is True
    assert "KmsMasterKeyId" not in props


@pytest.mark.parametrize("queue", sorted(failure_queues()))
def test_given_a_failure_queue_then_an_alarm_notifies_when_it_holds_a_message(queue: str) -> None:
    watching = []
    for alarm, props in resources("AWS::CloudWatch::Alarm").items():
        for query in props.get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric", {})
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            if (
                metric.get("MetricName") == "ApproximateNumberOfMessagesVisible"
                and the(dimensions.get("QueueName")) == queue
            ):
                watching.append((alarm, props))

    assert watching, f"no alarm watches {queue}"
    for alarm, props in watching:
        assert props["ComparisonOperator"] == "GreaterThanThreshold", alarm
        assert float(props["Threshold"]) == 0, alarm
        assert props["AlarmActions"], alarm


def test_given_every_alarm_then_it_is_on_the_dashboard() -> None:
    [dashboard] = resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["DashboardBody"]["Fn::Sub"]

    missing = [alarm for alarm in resources("AWS::CloudWatch::Alarm") if alarm not in body]

    assert missing == []


def test_given_each_consumer_then_it_may_send_only_to_its_own_failure_queue() -> None:
    destinations = {
        the(props["FunctionName"]): the(props["DestinationConfig"]["OnFailure"]["Destination"])
        for props in [*stream_mappings().values(), *invoke_configs().values()]
    }
    functions = resources("AWS::Lambda::Function")

    for function, queue in destinations.items():
        role = the(functions[function]["Role"])
        sent_to = {
            target
            for policy in resources("AWS::IAM::Role")[role].get("Policies", [])
            for statement in policy["PolicyDocument"]["Statement"]
            if "sqs:SendMessage" in json.dumps(statement["Action"])
            for target in references(statement["Resource"])
        }
        assert sent_to == {queue}, function
