"""Waiting for a Step Functions execution of the in-process (moto) AWS to end."""

from __future__ import annotations

import time
from typing import Any

import boto3

REGION = "us-east-1"


# Generous: it returns as soon as the execution ends, and the suite shares 2 busy cores.
def wait_done(execution_arn: str, timeout: float = 30.0) -> dict[str, Any]:
    """DescribeExecution's answer once the execution is no longer RUNNING."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.005)
    raise AssertionError(f"{execution_arn} still running after {timeout} s")
