"""What governance relies on from DynamoDB, checked against botocore's service models (the
models the AWS SDKs are generated from) and against the template."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]


@cache
def model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def test_given_dynamodb_transactions_then_100_items_and_cancellation_reasons_in_item_order() -> (
    None
):
    dynamodb = model("dynamodb")
    items = dynamodb.operation_model("TransactWriteItems").input_shape.members["TransactItems"]
    reason = dynamodb.shape_for("CancellationReason")
    return_values = dynamodb.shape_for("ReturnValuesOnConditionCheckFailure")

    # The biggest transactions: a job with its idempotency claim and two admission items;
    # a settlement of five items.
    assert items.metadata["max"] == 100
    assert set(reason.members) == {"Item", "Code", "Message"}
    assert "ALL_OLD" in return_values.enum
    canceled = dynamodb.shape_for("TransactionCanceledException")
    assert "CancellationReasons" in canceled.members


def test_given_the_jobs_stream_then_at_most_two_functions_read_it() -> None:
    # DynamoDB Streams: "More than 2 processes are reading from the same streams shard at the
    # same time. Exceeding this limit may result in request throttling."
    limit = model("dynamodbstreams").shape_for("LimitExceededException").documentation
    assert "More than 2 processes are reading from the same streams shard" in limit
    resources = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]

    readers = [
        logical_id
        for logical_id, spec in resources.items()
        if spec["Type"] == "AWS::Serverless::Function"
        for event in (spec["Properties"].get("Events") or {}).values()
        if event["Type"] == "DynamoDB"
        and event["Properties"]["Stream"] == {"Fn::GetAtt": ["JobsTable", "StreamArn"]}
    ]

    assert sorted(readers) == ["JobEventsFunction", "SettleFunction"]


def test_given_dynamodb_ttl_then_expired_items_still_show_in_reads_until_deleted() -> None:
    """Why the result cache checks an entry's expiry itself (aigw_common/result_cache.py)."""
    documentation = model("dynamodb").operation_model("UpdateTimeToLive").documentation

    assert "within two days of expiration" in documentation
    assert "still show up in reads" in documentation


def test_given_describe_state_machine_then_the_definition_is_always_answered() -> None:
    """The pipelines' version (a cache key's part) is a digest of their definitions."""
    output = model("stepfunctions").operation_model("DescribeStateMachine").output_shape

    assert "definition" in output.required_members


def test_given_finalize_deleting_a_jobs_answers_then_delete_objects_has_the_shape_it_sends() -> (
    None
):
    """finalize deletes a job's per-chunk answers with one quiet DeleteObjects: the request
    names keys under Delete.Objects with Quiet, and a key S3 could not delete comes back in
    Errors with its Code (quiet mode lists nothing else). The request needs a checksum, which
    botocore adds (a hand-built request without one is refused)."""
    operation = model("s3").operation_model("DeleteObjects")
    delete = operation.input_shape.members["Delete"]
    errors = operation.output_shape.members["Errors"]

    assert set(delete.members) == {"Objects", "Quiet"}
    assert "Key" in delete.members["Objects"].member.members
    assert delete.members["Quiet"].type_name == "boolean"
    assert {"Key", "Code", "Message"} <= set(errors.member.members)
    assert operation.http_checksum.get("requestChecksumRequired") is True
