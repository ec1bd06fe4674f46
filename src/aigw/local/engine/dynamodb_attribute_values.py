"""A DynamoDB request whose ``AttributeValue`` is not a ``{type: value}`` map is refused as
DynamoDB refuses it: a 400 ``SerializationException``.

An item written by hand (``Item: {"id": "abc"}``, where the API takes ``{"id": {"S":
"abc"}}``) is what a ``dynamodb:putItem`` task sends when its Parameters hold a plain value,
and what any client that does not check its parameters (the AWS CLI given a JSON body, an
HTTP client) may send. DynamoDB answers 400 ``SerializationException`` "Unexpected value
type in payload" for a string, a number or a boolean where an AttributeValue belongs, and
"Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue" for a
list (recorded against DynamoDB by dynalite's tests, ``test/helpers.js``, ``ValueStruct``;
the same answer to a PutItem of ``{"psd_segid": "45"}`` in JuliaCloud/AWSSDK.jl#11).

moto's request parser read such a value as a structure (``value.get``): an AttributeError,
which the served endpoint answered as an HTML 500. Here the parser refuses it with moto's
``SerializationException``, which both the served endpoint and an in-process client answer
as DynamoDB's JSON error.

A Step Functions DynamoDB task (the optimized ``dynamodb:*`` integration and ``aws-sdk:
dynamodb:*``) never got that far: moto calls DynamoDB through a boto3 client that does not
check parameters, and botocore's serializer failed on the plain value (``'str' object has
no attribute 'items'``), which the task reported as ``DynamoDB.AmazonDynamoDBException``
with that Python message. During such a task the value is written out as it is, as Step
Functions sends the task's parameters, so the task fails with DynamoDB's answer
(``DynamoDB.SerializationException``, ``DynamoDb.SerializationException`` for aws-sdk).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Final

from botocore.model import Shape
from botocore.serialize import JSONSerializer
from moto.core.parse import BaseJSONParser
from moto.dynamodb.exceptions import DynamodbException
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (  # noqa: E501
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb import (  # noqa: E501
    StateTaskServiceDynamoDB,
)
from moto.utilities.aws_headers import gen_amzn_requestid_long

from aigw.local.engine.patches import Fix, Wrap

_CORAL_TYPE: Final = "com.amazon.coral.service#SerializationException"
#: DynamoDB's message for a scalar (string, number, boolean) where an AttributeValue belongs.
UNEXPECTED_VALUE: Final = "Unexpected value type in payload"
#: ... and for a list there.
UNRECOGNIZED_COLLECTION: Final = (
    "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue"
)


class SerializationException(DynamodbException):
    """DynamoDB's answer, as it sends it: ``__type`` names Coral's exception, the text is
    ``Message``, and (raised while the request is read, before moto's handler adds one) the
    answer carries its ``x-amzn-RequestId``, which SDKs read into the error."""

    def __init__(self, message: str) -> None:
        super().__init__(error_type=_CORAL_TYPE, message=message)
        self.description = json.dumps({"__type": _CORAL_TYPE, "Message": message})
        self.content_type = "application/x-amz-json-1.0"

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [
            *super().get_headers(*args, **kwargs),
            ("x-amzn-RequestId", gen_amzn_requestid_long()),
        ]


def _refusal(value: Any) -> str | None:
    """DynamoDB's message for ``value`` in an AttributeValue's place, None if it is a map
    (or a null, which the parser leaves out as it always did)."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list):
        return UNRECOGNIZED_COLLECTION
    return UNEXPECTED_VALUE


def _parse_structure(inner: Any, self: BaseJSONParser, shape: Shape, value: Any) -> Any:
    if (
        shape.name == "AttributeValue"
        and self.operation_model.service_model.service_name == "dynamodb"
    ):
        message = _refusal(value)
        if message is not None:
            raise SerializationException(message)
    return inner(self, shape, value)


_in_task = threading.local()


def _as_a_task_sends_it(inner: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    depth = getattr(_in_task, "depth", 0)
    _in_task.depth = depth + 1
    try:
        return inner(self, *args, **kwargs)
    finally:
        _in_task.depth = depth


def _serialize_structure(
    inner: Any, self: JSONSerializer, serialized: Any, value: Any, shape: Shape, key: Any
) -> None:
    if (
        getattr(_in_task, "depth", 0)
        and key is not None
        and shape.name == "AttributeValue"
        and _refusal(value) is not None
    ):
        serialized[key] = value  # for DynamoDB to refuse, as on AWS
        return
    inner(self, serialized, value, shape, key)


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-malformed-attribute-value-refused",
        why="An item holding a plain value instead of an AttributeValue (what a hand-written "
        "JSON body or a dynamodb:putItem task's Parameters hold) got an HTML 500 from the "
        "served endpoint: DynamoDB answers 400 SerializationException.",
        upstream_bug="moto's JSON request parser reads any value of a structure shape with "
        "value.get: a string, number, boolean or list in an AttributeValue's place raises "
        "AttributeError.",
        patches=[Wrap(BaseJSONParser, "_parse_structure", _parse_structure)],
    ),
    Fix(
        name="dynamodb-task-parameters-sent-as-written",
        why="A dynamodb:putItem task whose Item held a plain value failed as "
        "DynamoDB.AmazonDynamoDBException with a Python message ('str' object has no "
        "attribute 'items'): on AWS DynamoDB refuses the request and the task fails with "
        "DynamoDB's error, DynamoDB.SerializationException.",
        upstream_bug="moto's Step Functions tasks call DynamoDB through a boto3 client "
        "without parameter validation, whose JSON serializer raises AttributeError on a "
        "non-map AttributeValue before any request is sent.",
        patches=[
            Wrap(StateTaskServiceDynamoDB, "_eval_service_task", _as_a_task_sends_it),
            Wrap(StateTaskServiceAwsSdk, "_eval_service_task", _as_a_task_sends_it),
            Wrap(JSONSerializer, "_serialize_type_structure", _serialize_structure),
        ],
    ),
]
