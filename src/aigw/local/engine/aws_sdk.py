"""aws-sdk integrations: service names, error names, parameter casing, blobs and dates."""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (  # noqa: E501
    StateTaskServiceAwsSdk,
)

from aigw.local.engine.botocore_models import (
    boto3_service_name,
    iso_8601,
    json_safe,
    operation_model,
    service_model,
    to_api_member_names,
)
from aigw.local.engine.patches import Attr, Fix


def _pascal_case_words(service_id: str) -> str:
    # The AWS SDK for Java 2.x turns a serviceId into its client name word by word
    # ("SageMaker Runtime" -> SageMakerRuntime, "DynamoDB" -> DynamoDb, "ACM PCA" -> AcmPca,
    # "SFN" -> Sfn); Step Functions prefixes aws-sdk errors with that name.
    text = re.sub(r"[^A-Za-z0-9]+", " ", service_id)
    text = re.sub(r"([^a-z]{2,})v([0-9]+)", r"\1 v\2 ", text)
    text = re.sub(r"([^A-Z]{2,})V([0-9]+)", r"\1 V\2 ", text)
    text = re.sub(r"(?<=[a-z])(?=[A-Z][a-zA-Z0-9])", " ", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([0-9])([a-zA-Z])", r"\1 \2", text)
    name = "".join(word[:1].upper() + word[1:].lower() for word in text.split())
    return name.removesuffix("Service") or name  # "Config Service" -> Config


@functools.cache
def aws_sdk_error_prefix(integration_name: str) -> str:
    """`<Prefix>` of aws-sdk task errors `<Prefix>.<Name>Exception`, e.g. DynamoDb, S3."""
    return _pascal_case_words(service_model(boto3_service_name(integration_name)).service_id)


def _sdk_get_boto_service_name(
    self: StateTaskServiceAwsSdk, boto_service_name: str | None = None
) -> str:
    return boto3_service_name(boto_service_name or self.resource.api_name)


def _sdk_normalise_parameters(
    self: StateTaskServiceAwsSdk,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    operation = operation_model(
        self._get_boto_service_name(boto_service_name),
        service_action_name or self.resource.api_action,
    )
    to_api_member_names(parameters, operation.input_shape)


def _sdk_normalise_response(
    self: StateTaskServiceAwsSdk,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    operation = operation_model(
        self._get_boto_service_name(boto_service_name),
        service_action_name or self.resource.api_action,
    )
    if operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)
    json_safe(response, iso_8601)


FIXES: Final[list[Fix]] = [
    Fix(
        name="aws-sdk-error-names",
        why="Retry/Catch written for AWS (S3.NoSuchKeyException, "
        "SageMakerRuntime.ModelErrorException, ...) must match aws-sdk task errors.",
        upstream_bug="_normalise_service_error_name only knows dynamodb and sfn and falls "
        "back to the lower-case integration name.",
        patches=[
            Attr(
                StateTaskServiceAwsSdk,
                "_normalise_service_error_name",
                staticmethod(aws_sdk_error_prefix),
            )
        ],
    ),
    Fix(
        name="aws-sdk-calls",
        why="aws-sdk tasks must reach services whose boto3 name differs "
        "(sagemakerruntime), accept PascalCase parameters and return JSON (blob bodies "
        "as text, timestamps as ISO 8601) with PascalCase keys.",
        upstream_bug="The aws-sdk integration passes the integration name to boto3 as is "
        "and leaves StreamingBody/bytes/datetime values in the state output.",
        patches=[
            Attr(StateTaskServiceAwsSdk, "_get_boto_service_name", _sdk_get_boto_service_name),
            Attr(StateTaskServiceAwsSdk, "_normalise_parameters", _sdk_normalise_parameters),
            Attr(StateTaskServiceAwsSdk, "_normalise_response", _sdk_normalise_response),
        ],
    ),
]
