"""Ends a job for job-runner: stores the result and marks it SUCCEEDED, or records why it
FAILED. Both writes are conditional: a job cancelled meanwhile stays CANCELLED.

The per-chunk answers a pipeline left in S3 (text-insights' entities, key phrases and PII
under ``results/<tenant>/<job>/insights/``) are merged into the result, then deleted: the
result holds them, and an intermediate copy of a text's PII should not outlive its use by
the results' 30-day lifecycle rule (which still removes any a failed delete leaves).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from aigw_common.failures import classify
from aigw_common.job_status import JobStatus
from aigw_common.jobs import MAX_INLINE_RESULT_BYTES, JobRepository
from aigw_common.lazy import LazyClient, LazyTracer
from aigw_common.metering import measure
from aigw_common.pipelines import normalize
from aigw_common.pricing import price_table
from aigw_common.result_cache import CacheRequest, ResultCache
from aigw_common.settings import load_settings

logger = Logger()
tracer = LazyTracer()
metrics = Metrics()


@dataclass(frozen=True)
class Settings:
    jobs_table: str
    documents_bucket: str
    prices_region: str
    result_cache_table: str


settings = load_settings(Settings)
prices = price_table(settings.prices_region)
dynamodb = LazyClient("dynamodb")
jobs = JobRepository(settings.jobs_table, dynamodb)
cache = ResultCache(settings.result_cache_table, dynamodb)
s3 = LazyClient("s3")
sfn = LazyClient("stepfunctions")


def _history(execution_arn: str) -> Iterator[dict[str, Any]]:
    # The failed step is a courtesy: an unreadable history must not stop the job being
    # marked FAILED.
    try:
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        for page in pages:
            yield from page["events"]
    except ClientError as error:
        logger.warning("no history for the failed step", extra={"error": str(error)})


def _read_result(key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=settings.documents_bucket, Key=key)["Body"].read()
    return body


#: DeleteObjects takes at most 1,000 keys (the S3 API reference).
_DELETE_BATCH = 1000


def _discard(tenant_id: str, job_id: str, keys: list[str]) -> None:
    """Delete the job's intermediate answers once its result holds them. Only keys under
    the job's own insights prefix are deleted, whatever the workflow's output names; a
    delete that fails is logged, and the lifecycle rule removes what it left."""
    prefix = f"results/{tenant_id}/{job_id}/insights/"
    owned = sorted({key for key in keys if key.startswith(prefix)})
    for start in range(0, len(owned), _DELETE_BATCH):
        batch = owned[start : start + _DELETE_BATCH]
        try:
            answer = s3.delete_objects(
                Bucket=settings.documents_bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
        except ClientError as error:
            logger.warning(
                "intermediate answers not deleted",
                extra={"error": error.response["Error"]["Code"], "keys": len(batch)},
            )
            return
        if answer.get("Errors"):  # quiet mode lists only the keys S3 could not delete
            logger.warning(
                "intermediate answers not deleted",
                extra={"errors": [e.get("Code") for e in answer["Errors"]]},
            )


#: What GetObject answers for a key that is gone: 404 NoSuchKey to a caller allowed
#: s3:ListBucket on the bucket, else 403 AccessDenied (finalize's role is not).
_GONE = frozenset({"NoSuchKey", "AccessDenied"})


def _ended_before(tenant_id: str, job_id: str, error: ClientError) -> bool:
    """A retried succeed whose answers are gone: a previous try ended the job and deleted
    them (or the job ended otherwise, and its answers expired)."""
    if error.response["Error"]["Code"] not in _GONE:
        return False
    status = jobs.stored_field(tenant_id, job_id, "status", consistent=True)
    return status in {str(s) for s in JobStatus if s.terminal}


def succeed(event: dict[str, Any]) -> dict[str, Any]:
    tenant_id, job_id, pipeline = event["tenant_id"], event["job_id"], event["pipeline_name"]
    read: list[str] = []

    def read_object(key: str) -> bytes:
        read.append(key)
        return _read_result(key)

    try:
        result = normalize(pipeline, event["output"], event["input"], read_object)
    except ClientError as error:
        if not _ended_before(tenant_id, job_id, error):
            raise
        logger.info("job already ended; its intermediate answers are gone")
        return {"stored": False}
    encoded = json.dumps(result, separators=(",", ":"))
    # The usage is stored with the result, in the same write that ends the job: the Jobs
    # table's stream then settles it (aggregates, budget, concurrency slot) from that image.
    usage = measure(pipeline, event["input"], event.get("options") or {}, event["output"], prices)
    changes: dict[str, Any] = {
        "progress": {"step": "done", "percent": 100},
        "usage": usage.record(),
    }
    if len(encoded.encode()) <= MAX_INLINE_RESULT_BYTES:
        changes["result"] = encoded
    else:
        key = f"results/{tenant_id}/{job_id}.json"
        s3.put_object(
            Bucket=settings.documents_bucket,
            Key=key,
            Body=encoded.encode(),
            ContentType="application/json",
        )
        changes["result_key"] = key
    request = CacheRequest.from_record(jobs.stored_field(tenant_id, job_id, "cache"))
    if request is not None:
        # Before the job shows SUCCEEDED: whoever sees it done and asks again is answered
        # from the cache. A job cancelled meanwhile still leaves a correct result there.
        _remember(tenant_id, job_id, pipeline, request, changes)
    stored = jobs.transition(tenant_id, job_id, JobStatus.SUCCEEDED, **changes)
    # Stored or not (a job cancelled meanwhile keeps no result), nothing reads them again.
    _discard(tenant_id, job_id, read)
    metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=1)
    return {"stored": stored}


def _remember(
    tenant_id: str, job_id: str, pipeline: str, request: CacheRequest, changes: dict[str, Any]
) -> None:
    """The job asked for the cache: its result answers the same request from now on. A
    failed write costs a later re-run, not this job: it is logged, the job succeeds."""
    try:
        cache.put(
            tenant_id,
            request,
            pipeline=pipeline,
            job_id=job_id,
            result=changes.get("result"),
            result_key=changes.get("result_key"),
        )
    except ClientError as error:
        logger.warning("result not cached", extra={"error": error.response["Error"]["Code"]})


def fail(event: dict[str, Any]) -> dict[str, Any]:
    failure = event.get("failure") or {}
    if "Status" in failure:
        # express-job-runner's pipeline ended badly: its StartSyncExecution answer (a
        # timed-out one has no Error). Express executions keep no history to find the
        # step in, so the step is the runner's, as for an Express pipeline under job-runner.
        timed_out = failure["Status"] == "TIMED_OUT" and not failure.get("Error")
        error = classify(
            "States.Timeout" if timed_out else failure.get("Error"), failure.get("Cause")
        )
        error = dataclasses.replace(error, step="RunPipeline")
    else:
        error = classify(
            failure.get("Error"),
            failure.get("Cause"),
            history=_history,
            execution_arn=event.get("execution_arn"),
        )
    stored = jobs.transition(
        event["tenant_id"],
        event["job_id"],
        JobStatus.FAILED,
        error=error.record(),
    )
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    logger.info("job failed", extra={"code": error.code, "step": error.step, "stored": stored})
    return {"stored": stored}


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("outcome") == "succeeded":
        return succeed(event)
    return fail(event)
