"""Small, reversible patches of moto's Step Functions engine (moto 5.2.5, pinned).

moto runs ASL in-process with the interpreter it ported from LocalStack. Where that
interpreter differs from AWS in a way a workflow can see, one `Fix` patches it; each
module of this package holds the fixes for one behaviour. Each fix replaces or wraps as
little as possible and can be reverted, so the canary tests in
tests/runtime/test_engine_fixes.py can show whether the upstream bug is still there: when a
canary fails after a moto upgrade, moto fixed the bug and the fix should go.

`apply_engine_fixes()` installs them all (idempotent); `engine_fixes_reverted()` takes
some or all of them out for the duration of a `with` block; `set_time_scale()` shortens
Wait states and Retry back-off for tests; `admission` bounds the executions that run at
once; `outside_service_time()` keeps the emulator's own work out of a task's timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from aigw.local.engine import (
    admission,
    api_errors,
    api_gateway_invoke,
    aws_sdk,
    callbacks,
    choice_paths,
    context_object,
    distributed_map,
    dynamodb_attribute_values,
    dynamodb_client,
    dynamodb_compact,
    dynamodb_expressions,
    dynamodb_item_size,
    dynamodb_metrics,
    dynamodb_numbers,
    dynamodb_queries,
    dynamodb_serialization,
    dynamodb_streams,
    dynamodb_transactions,
    engine_threads,
    error_names,
    execution_history,
    execution_output,
    in_process_requests,
    jsonata,
    jsonpath,
    lambda_errors,
    moto_dispatch,
    nested_executions,
    performance,
    reference_cycles,
    request_parameters,
    retention,
    s3_objects,
    scheduler_groups,
    service_time,
    stop_execution,
    stop_wins,
    stopped_timeouts,
    sync_execution,
    sync_waits,
    task_failure,
    time_scale,
    tolerated_failure,
    unnamed_execution,
)
from aigw.local.engine.admission import ExecutionAdmission
from aigw.local.engine.aws_sdk import aws_sdk_error_prefix
from aigw.local.engine.botocore_models import boto3_service_name
from aigw.local.engine.patches import Fix
from aigw.local.engine.service_time import outside_service_time
from aigw.local.engine.time_scale import set_time_scale

__all__ = [
    "FIXES",
    "ExecutionAdmission",
    "Fix",
    "apply_engine_fixes",
    "aws_sdk_error_prefix",
    "boto3_service_name",
    "engine_fixes_reverted",
    "outside_service_time",
    "set_time_scale",
]

FIXES: Final[list[Fix]] = [
    *jsonpath.FIXES,
    *jsonata.FIXES,
    *unnamed_execution.FIXES,
    *nested_executions.FIXES,
    *aws_sdk.FIXES,
    *task_failure.FIXES,
    *error_names.FIXES,
    *lambda_errors.FIXES,
    *stop_wins.FIXES,
    *sync_execution.FIXES,
    *dynamodb_transactions.FIXES,
    *dynamodb_numbers.FIXES,
    *dynamodb_serialization.FIXES,
    *dynamodb_client.FIXES,
    *dynamodb_item_size.FIXES,
    *dynamodb_expressions.FIXES,
    *dynamodb_compact.FIXES,
    *dynamodb_metrics.FIXES,
    *dynamodb_attribute_values.FIXES,
    *dynamodb_streams.FIXES,
    *performance.FIXES,
    *moto_dispatch.FIXES,
    *in_process_requests.FIXES,
    *request_parameters.FIXES,
    *reference_cycles.FIXES,
    *engine_threads.FIXES,
    *retention.FIXES,
    *s3_objects.FIXES,
    *time_scale.FIXES,
    *context_object.FIXES,
    *choice_paths.FIXES,
    *execution_history.FIXES,
    *execution_output.FIXES,
    *stop_execution.FIXES,
    *api_gateway_invoke.FIXES,
    # Before the thresholds: they wrap the batching, so they count items, not batches.
    *distributed_map.FIXES,
    *tolerated_failure.FIXES,
    *dynamodb_queries.FIXES,
    *callbacks.FIXES,
    *sync_waits.FIXES,
    *service_time.FIXES,
    *admission.FIXES,
    *api_errors.FIXES,
    *stopped_timeouts.FIXES,
    *scheduler_groups.FIXES,
]

_fixes_lock = threading.RLock()


def apply_engine_fixes() -> None:
    """Install every fix (idempotent)."""
    with _fixes_lock:
        for fix in FIXES:
            fix.apply()


@contextmanager
def engine_fixes_reverted(*names: str) -> Iterator[None]:
    """Take the named fixes (default: all) out for the block, then put them back."""
    by_name = {fix.name: fix for fix in FIXES}
    unknown = set(names) - by_name.keys()
    if unknown:
        raise KeyError(f"unknown engine fixes: {sorted(unknown)}")
    with _fixes_lock:
        chosen = [by_name[name] for name in names] if names else list(FIXES)
        reverted = [fix for fix in reversed(chosen) if fix.applied]
        for fix in reverted:
            fix.revert()
    try:
        yield
    finally:
        with _fixes_lock:
            for fix in reversed(reverted):
                fix.apply()
