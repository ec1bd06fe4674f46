"""botocore's service models, shared by the fixes that translate between ASL and API shapes."""

from __future__ import annotations

import base64
import datetime
import functools
import threading
from collections.abc import Callable
from typing import Any, Final

import botocore.session
from botocore import xform_name
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.response import StreamingBody
from moto.stepfunctions.parser.utils import camel_to_snake_case

models_lock = threading.Lock()


@functools.cache
def botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def service_model(boto_service: str) -> ServiceModel:
    with models_lock:  # botocore sessions are not thread-safe
        return botocore_session().get_service_model(boto_service)


@functools.cache
def operation_model(boto_service: str, action: str) -> OperationModel:
    # The engine calls `getattr(client, camel_to_snake_case(action))`; find that operation.
    wanted = camel_to_snake_case(action)
    model = service_model(boto_service)
    for operation in model.operation_names:
        if xform_name(operation) == wanted:
            return model.operation_model(operation)
    raise ValueError(f"Service '{boto_service}' has no API action '{action}'.")


def to_api_member_names(value: Any, shape: Shape | None) -> None:
    """Rename ASL (PascalCase) request keys in place to the API's own member names."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {xform_name(name): (name, member) for name, member in shape.members.items()}
        for key in list(value):
            if (found := members.get(xform_name(key))) is not None:
                member_name, member_shape = found
                item = value.pop(key)
                to_api_member_names(item, member_shape)
                value[member_name] = item
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for item in value:
            to_api_member_names(item, shape.member)
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for item in value.values():
            to_api_member_names(item, shape.value)


def blob_text(blob: bytes) -> str:
    # AWS returns blobs (S3/SageMaker bodies) as text; undecodable bytes become base64.
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(blob).decode("ascii")


def json_safe(value: Any, timestamp: Callable[[datetime.datetime], Any]) -> Any:
    """Make a botocore response JSON-safe, in place where it is a container."""
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = json_safe(item, timestamp)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = json_safe(item, timestamp)
    elif isinstance(value, StreamingBody):
        return blob_text(value.read())
    elif isinstance(value, bytes | bytearray):
        return blob_text(bytes(value))
    elif isinstance(value, datetime.datetime):
        return timestamp(value)
    return value


def epoch_millis(value: datetime.datetime) -> int:
    return int(value.timestamp() * 1000)


def iso_8601(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


# aws-sdk integration names (arn:aws:states:::aws-sdk:<name>:<action>) are the AWS SDK for
# Java 2.x client names in lower case. Most are a boto3 service name without its hyphens
# (sagemakerruntime, acmpca, bedrockruntime); these, for botocore 1.44, are not.
_SDK_SERVICE_NAMES: Final[dict[str, str]] = {
    "applicationdiscovery": "discovery",
    "cloudwatchlogs": "logs",
    "cognitoidentityprovider": "cognito-idp",
    "costandusagereport": "cur",
    "costexplorer": "ce",
    "databasemigration": "dms",
    "directory": "ds",
    "directoryservicedata": "ds-data",
    "elasticloadbalancing": "elb",
    "elasticloadbalancingv2": "elbv2",
    "elasticsearch": "es",
    "eventbridge": "events",
    "iotdataplane": "iot-data",
    "iotjobsdataplane": "iot-jobs-data",
    "lexmodelbuilding": "lex-models",
    "lexmodelsv2": "lexv2-models",
    "lexruntimev2": "lexv2-runtime",
    "marketplacemetering": "meteringmarketplace",
    "migrationhub": "mgh",
    "serverlessapplicationrepository": "serverlessrepo",
    "sfn": "stepfunctions",
    "simpledb": "sdb",
}


@functools.cache
def _boto_services_without_hyphens() -> dict[str, str]:
    with models_lock:
        services = botocore_session().get_available_services()
    return {name.replace("-", ""): name for name in services}


def boto3_service_name(integration_name: str) -> str:
    """The boto3 service name for an aws-sdk integration name (e.g. sagemakerruntime)."""
    return _SDK_SERVICE_NAMES.get(integration_name) or _boto_services_without_hyphens().get(
        integration_name, integration_name
    )
