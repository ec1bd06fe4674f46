"""The usual design's AI wrapper Lambda: one SDK call per invocation, as in the AWS samples.

The generated baseline workflow (bench/baseline.py) replaces each direct
``arn:aws:states:::aws-sdk:<service>:<action>`` task by a task that invokes this function
with ``{"service", "action", "params"}``; the answer is the SDK response without its
metadata (bodies as text, timestamps as ISO strings), so the workflow's ResultSelectors
work unchanged.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import boto3

#: Step Functions' aws-sdk service names that differ from boto3's.
_SERVICES = {"sagemakerruntime": "sagemaker-runtime"}
_clients: dict[str, Any] = {}


def _client(service: str) -> Any:
    name = _SERVICES.get(service, service)
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if hasattr(value, "read"):
        value = value.read()
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def handler(event: dict[str, Any], context: Any) -> Any:
    method = re.sub(r"(?<!^)(?=[A-Z])", "_", event["action"]).lower()
    response = getattr(_client(event["service"]), method)(**event["params"])
    response.pop("ResponseMetadata", None)
    return _plain(response)
