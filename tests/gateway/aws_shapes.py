"""Checks that a local provider answers in the shape the real AWS operation answers."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.model import OperationModel
from botocore.validate import validate_parameters


@functools.cache
def _operation(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def assert_output_shape(service: str, operation: str, response: Mapping[str, Any]) -> None:
    """Raise if the response has a member, type or nesting the operation's output lacks."""
    validate_parameters(dict(response), _operation(service, operation).output_shape)
