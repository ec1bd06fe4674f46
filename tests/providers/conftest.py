"""Fixtures shared by the provider tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aigw.local.services.providers import registry
from aigw.providers import text


@pytest.fixture(scope="module")
def comprehend() -> Iterator[Any]:
    """A real boto3 client answered by the default text providers; the registry is restored
    after, so the gateway tests' fakes and moto see what they saw before."""
    saved = {operation: registry.lookup("comprehend", operation) for operation in text.OPERATIONS}
    text.install(registry)
    try:
        with mock_aws():
            yield boto3.client("comprehend", region_name="us-east-1")
    finally:
        for operation, provider in saved.items():
            if provider is None:
                registry.unregister("comprehend", operation)
            else:
                registry.register("comprehend", operation, provider)
