"""What the API does, over the Jobs table, the bucket and Step Functions.

The AWS clients are passed in (``from_environment`` makes the real ones), and every AWS
error that a client can cause is mapped to a domain error here, once.

A cold start imports what reading a job needs (the Jobs table, the job model). What only
some routes use is imported by them at first use: the pipeline catalogue (with the text,
LLM and prompt modules), metering, the usage ledger, the tenants' settings and the result
cache for submissions and runs, the prompt repository for the prompt routes. A container
that only answers polls (``GET /v1/jobs/{id}``, most requests) never loads them.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from aigw_common.errors import (
    Conflict,
    GatewayError,
    Internal,
    InvalidInput,
    NotFound,
    RateLimited,
    Timeout,
    Unprocessable,
    UpstreamError,
)
from aigw_common.ids import is_job_id, new_job_id
from aigw_common.job_status import JobStatus, utc_now
from aigw_common.jobs import (
    MAX_INLINE_RESULT_BYTES,
    RUN_PREFIX,
    RUN_RETENTION_SECONDS,
    AdmissionRefused,
    JobRepository,
    sweep_fields,
)
from aigw_common.json_input import excerpt
from aigw_common.lazy import LazyClient
from aigw_common.pricing import price_table
from aigw_common.settings import load_settings

if TYPE_CHECKING:
    from aigw_common.llm import ModelCatalogue
    from aigw_common.metering import ObjectFacts
    from aigw_common.models import Job
    from aigw_common.pipelines import ObjectHead
    from aigw_common.prompt_repository import PromptRepository
    from aigw_common.prompts import PromptVersion
    from aigw_common.result_cache import CacheRequest, ResultCache
    from aigw_common.tenant_settings import Limits, TenantDirectory, TenantSettings
    from aigw_common.usage import Reservation, UsageLedger

UPLOAD_URL_SECONDS = 900
#: How long a function keeps the pipelines' version (a cache key's part) before reading the
#: state machines' definitions again: a deploy that changes only a definition leaves warm
#: functions running, and their cache keys follow it within this time.
PIPELINE_VERSION_SECONDS = 60
RESULT_URL_SECONDS = 3600
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    jobs_table: str
    documents_bucket: str
    job_runner_arn: str
    express_job_runner_arn: str
    #: The pipelines whose jobs run on the Express runner (comma-separated).
    express_job_pipelines: str
    text_insights_arn: str
    document_insights_arn: str
    image_insights_arn: str
    predict_arn: str
    llm_generate_arn: str
    document_summary_arn: str
    prompts_table: str
    #: The Bedrock models and inference profiles the gateway may call (comma-separated).
    llm_models: str
    llm_default_model: str
    tenants_table: str
    usage_table: str
    prices_region: str
    result_cache_table: str

    def state_machine(self, pipeline: str) -> str:
        return getattr(self, pipeline.replace("-", "_") + "_arn")

    def runs_on_express(self, pipeline: str) -> bool:
        return pipeline in self.express_job_pipelines.split(",")


class JobService:
    def __init__(
        self, settings: Settings, dynamodb: Any, s3: Any, sfn: Any, sfn_sync: Any = None
    ) -> None:
        self.settings = settings
        self.jobs = JobRepository(settings.jobs_table, dynamodb)
        # Read at the cold start, so a region without a price table stops it.
        self.prices = price_table(settings.prices_region)
        # The pipelines' version (a cache key's part) and when it was read: computed on the
        # first job that asks for the cache, not at every cold start.
        self._version: tuple[str, float] | None = None
        self.dynamodb = dynamodb
        self.s3 = s3
        self.sfn = sfn
        self.sfn_sync = sfn_sync or sfn

    # What only some routes use, made (and its module imported) by the first that does.
    @functools.cached_property
    def prompts(self) -> PromptRepository:
        from aigw_common.prompt_repository import PromptRepository

        return PromptRepository(self.settings.prompts_table, self.dynamodb)

    @functools.cached_property
    def models(self) -> ModelCatalogue:
        from aigw_common.llm import ModelCatalogue

        return ModelCatalogue.from_setting(
            self.settings.llm_models, self.settings.llm_default_model
        )

    @functools.cached_property
    def tenants(self) -> TenantDirectory:
        from aigw_common.tenant_settings import TenantDirectory

        return TenantDirectory(self.settings.tenants_table, self.dynamodb)

    @functools.cached_property
    def ledger(self) -> UsageLedger:
        from aigw_common.usage import UsageLedger

        return UsageLedger(self.settings.usage_table, self.dynamodb)

    @functools.cached_property
    def cache(self) -> ResultCache:
        from aigw_common.result_cache import ResultCache

        return ResultCache(self.settings.result_cache_table, self.dynamodb)

    @classmethod
    def from_environment(cls) -> JobService:
        settings = load_settings(Settings)
        # Fail fast inside API Gateway's 29 s: a few quick retries, short timeouts.
        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3)
        # A synchronous run is never retried (it may have run, and its calls are billed)
        # and gives up before the function's 29 s, so the run is still recorded.
        sync = Config(
            retries={"mode": "standard", "max_attempts": 1}, connect_timeout=3, read_timeout=24
        )
        return cls(
            settings,
            LazyClient("dynamodb", config=config),
            LazyClient("s3", config=Config(signature_version="s3v4")),
            LazyClient("stepfunctions", config=config),
            sfn_sync=LazyClient("stepfunctions", config=sync),
        )

    # ------------------------------------------------------------------ catalogue
    def pipelines(self) -> list[dict[str, Any]]:
        from aigw_common.pipelines import catalogue

        return [pipeline.describe() for pipeline in catalogue().values()]

    def list_models(self) -> dict[str, Any]:
        """GET /v1/models: the predict models from the catalogue predict runs with, and the
        LLM models the stack is configured for."""
        # Only this route and predict submissions (aigw_common.pipelines) read the catalogue.
        from aigw_common.predict_models import load_catalogue

        return {
            "models": [model.describe() for model in load_catalogue().models],
            "llm_models": [
                {"id": model, "default": model == self.models.default}
                for model in self.models.models
            ],
        }

    # ------------------------------------------------------------------ uploads
    def create_upload(self, tenant_id: str, request: dict[str, Any]) -> dict[str, Any]:
        filename = _UNSAFE_FILENAME.sub("_", str(request.get("filename", "")))[-120:] or "file"
        content_type = request.get("content_type")
        size = request.get("size")
        if content_type not in ("application/pdf", "image/png", "image/jpeg", "image/tiff"):
            raise InvalidInput(f"content_type {excerpt(content_type)} is not accepted")
        if not isinstance(size, int) or not 1 <= size <= 50 * 1024 * 1024:
            raise InvalidInput("size must be between 1 byte and 50 MiB")
        key = f"uploads/{tenant_id}/{uuid.uuid4().hex}/{filename}"
        post = self.s3.generate_presigned_post(
            Bucket=self.settings.documents_bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, size]],
            ExpiresIn=UPLOAD_URL_SECONDS,
        )
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
            seconds=UPLOAD_URL_SECONDS
        )
        return {
            "upload": {"url": post["url"], "fields": post["fields"]},
            "input": {"s3_uri": f"s3://{self.settings.documents_bucket}/{key}"},
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    # ------------------------------------------------------------------ jobs
    def submit(
        self, tenant_id: str, request: dict[str, Any], *, idempotency_key: str | None
    ) -> dict[str, Any]:
        from aigw_common.models import Job, Progress
        from aigw_common.pipelines import catalogue

        name = request.get("pipeline")
        if not isinstance(name, str) or name not in catalogue():
            raise InvalidInput(f"pipeline must be one of: {', '.join(catalogue())}")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 128:
            raise InvalidInput("Idempotency-Key must have 1 to 128 characters")
        request_hash = hashlib.sha256(
            json.dumps(request, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        job_id = new_job_id()
        tenant = self.tenants.settings(tenant_id)
        pipeline_input, options, prepared = self._prepare(tenant_id, job_id, name, request)
        facts = self._object_facts_once(prepared)
        asked = (request.get("options") or {}).get("cache")
        cache = self._cache_request(tenant_id, tenant, name, prepared, options, asked, facts)
        job = None
        if cache is not None:
            job = self._from_cache(
                Job(
                    tenant_id=tenant_id,
                    job_id=job_id,
                    pipeline=name,
                    status=JobStatus.SUCCEEDED,
                    created_at=utc_now(),
                    updated_at=utc_now(),
                    progress=Progress(step="done", percent=100),
                    cached=True,
                    request_hash=request_hash,
                    idempotency_key=idempotency_key,
                ),
                pipeline_input,
                cache,
            )
        if job is None:
            now = utc_now()
            reservation = self._reservation(name, prepared, options, now, facts)
            stored: dict[str, Any] = {"reservation": reservation.record()}
            if cache is not None:
                stored["cache"] = cache.record()  # finalize stores the result under it
            if self.settings.runs_on_express(name):
                stored.update(sweep_fields(job_id, datetime.datetime.now(datetime.UTC)))
            try:
                job, _ = self.jobs.create(
                    Job(
                        tenant_id=tenant_id,
                        job_id=job_id,
                        pipeline=name,
                        status=JobStatus.QUEUED,
                        created_at=now,
                        updated_at=now,
                        request_hash=request_hash,
                        idempotency_key=idempotency_key,
                    ),
                    input_summary=_summary(pipeline_input),
                    stored=stored,
                    admission=self.ledger.admission_items(tenant_id, tenant.limits, reservation),
                )
            except AdmissionRefused as refused:
                raise self._refusal(refused, tenant.limits, reservation) from None
        if job.status is JobStatus.QUEUED:
            # Also on a replay: if the first request's start was lost, this one starts the
            # job; on job-runner the execution name (tenant + job) makes a second start a
            # no-op; on the Express runner a second execution starts, finds the job RUNNING
            # under another execution and runs nothing.
            self._start(job, prepared, options)
        links = {"self": f"/v1/jobs/{job.job_id}"}
        if job.cached:
            return {**self.get_job(tenant_id, job.job_id), "links": links}
        return {"job_id": job.job_id, "status": job.status.value, "links": links}

    # ------------------------------------------------------------------ result cache
    def _cache_request(
        self,
        tenant_id: str,
        tenant: TenantSettings,
        name: str,
        prepared: dict[str, Any],
        options: dict[str, Any],
        asked: bool | None,
        facts: Callable[[], ObjectFacts | None],
    ) -> CacheRequest | None:
        """The job's cache key and TTL, when the job (or else its tenant) asks for the cache."""
        from aigw_common.result_cache import CacheRequest, cache_key

        if not (tenant.cache_by_default if asked is None else asked):
            return None
        source = None
        if "bucket" in prepared and "key" in prepared:
            source = facts()
            if source is None:
                return None  # no such object: the pipeline says so, and there is nothing to keep
        version = self._pipeline_version()
        if version is None:
            return None
        key = cache_key(tenant_id, name, version, prepared, options, source)
        return CacheRequest(key=key, ttl_seconds=tenant.cache_ttl_seconds)

    def _pipeline_version(self) -> str | None:
        """The pipelines' version (result_cache.pipeline_version), read again after a while;
        None when the definitions cannot be read now (the job then runs uncached)."""
        from aigw_common.pipelines import catalogue
        from aigw_common.result_cache import pipeline_version

        now = time.monotonic()
        if self._version is None or now - self._version[1] > PIPELINE_VERSION_SECONDS:
            try:
                definitions = [
                    self.sfn.describe_state_machine(
                        stateMachineArn=self.settings.state_machine(name)
                    )["definition"]
                    for name in catalogue()
                ]
            except ClientError:
                return None
            self._version = (pipeline_version(definitions, _layer_digest()), now)
        return self._version[0]

    def _from_cache(
        self, job: Job, pipeline_input: dict[str, Any], cache: CacheRequest
    ) -> Job | None:
        """The job answered from the cache (created SUCCEEDED, with a $0 usage), or None on
        a miss. Takes no concurrency slot and no budget: it calls nothing. It is settled
        like any job from the Jobs stream, as a cache hit."""
        from aigw_common.metering import cached_usage

        hit = self.cache.get(job.tenant_id, cache.key)
        if hit is None:
            return None
        stored: dict[str, Any] = {"usage": cached_usage().record()}
        if hit.result is not None:
            stored["result"] = hit.result
        else:
            # The job gets its own copy: it lives as long as the job, whatever the entry's.
            key = f"results/{job.tenant_id}/{job.job_id}.json"
            bucket = self.settings.documents_bucket
            try:
                self.s3.copy_object(
                    Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": hit.result_key}
                )
            except ClientError as error:
                if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                    return None  # the result object expired before its entry: run the job
                raise UpstreamError("could not read the cached result; retry") from error
            stored["result_key"] = key
        created, _ = self.jobs.create(job, input_summary=_summary(pipeline_input), stored=stored)
        return created

    def _start(self, job: Job, prepared: dict[str, Any], options: dict[str, Any]) -> None:
        run = {"tenant_id": job.tenant_id, "job_id": job.job_id}
        pipeline = {
            "pipeline_name": job.pipeline,
            "state_machine_arn": self.settings.state_machine(job.pipeline),
        }
        if self.settings.runs_on_express(job.pipeline):
            # The pipeline's own input is a separate object: StartSyncExecution takes it as
            # one string (States.JsonToString), with nothing else of the runner's input.
            runner = self.settings.express_job_runner_arn
            execution_input = {**pipeline, "run": {**run, "input": prepared, "options": options}}
        else:
            runner = self.settings.job_runner_arn
            execution_input = {**run, **pipeline, "input": prepared, "options": options}
        try:
            self.sfn.start_execution(
                stateMachineArn=runner,
                name=execution_name(job.tenant_id, job.job_id),
                input=json.dumps(execution_input),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return  # started by an earlier attempt of the same request
            from aigw_common.models import JobError

            failure = _upstream(error)
            # Nothing will run it: end it, so its slot and reservation are released.
            self.jobs.transition(
                job.tenant_id,
                job.job_id,
                JobStatus.FAILED,
                error=JobError(
                    code="ServiceUnavailable", message=failure.message, retryable=True
                ).record(),
            )
            raise failure from error

    # ------------------------------------------------------------------ limits and usage
    def _reservation(
        self,
        name: str,
        prepared: dict[str, Any],
        options: dict[str, Any],
        now: str,
        facts: Callable[[], ObjectFacts | None],
    ) -> Reservation:
        """What the job holds from admission until it is settled: its estimated cost, in
        the month it is created in (its settlement finds the month on the job)."""
        from aigw_common.metering import estimate
        from aigw_common.usage import Reservation

        # An object's size bounds a document's pages; an image's estimate needs no HEAD.
        is_object = "bucket" in prepared and "key" in prepared and name != "image-insights"
        return Reservation(
            month=now[:7],
            estimate=estimate(name, prepared, options, self.prices, facts() if is_object else None),
        )

    def _object_facts_once(self, prepared: dict[str, Any]) -> Callable[[], ObjectFacts | None]:
        """The submitted object's facts, read by one HEAD the first time they are needed:
        the cache key and the reservation both use them."""
        return functools.cache(functools.partial(self._object_facts, prepared))

    def _object_facts(self, prepared: dict[str, Any]) -> ObjectFacts | None:
        from aigw_common.metering import ObjectFacts

        try:
            head = self.s3.head_object(Bucket=prepared["bucket"], Key=prepared["key"])
        except ClientError:
            return None  # the pipeline reports a missing object, as it always has
        return ObjectFacts(
            size=int(head["ContentLength"]),
            content_type=str(head.get("ContentType", "")),
            etag=str(head.get("ETag", "")).strip('"'),
        )

    def _refusal(
        self, refused: AdmissionRefused, limits: Limits, reservation: Reservation
    ) -> GatewayError:
        return self.ledger.refusal(refused.reasons, limits, reservation) or Conflict(
            "the job could not be admitted; retry the request"
        )

    def usage(self, tenant_id: str, query: dict[str, str]) -> dict[str, Any]:
        """GET /v1/usage: settled usage by day, pipeline or service, and the limits now."""
        from aigw_common.usage import month_of, parse_period, report

        tenant = self.tenants.settings(tenant_id)
        today = datetime.datetime.now(datetime.UTC).date()
        start, end = parse_period(query, today)
        body = report(
            self.ledger.days(tenant_id, start, end), start, end, query.get("group_by", "day")
        )
        active, month = self.ledger.counters(tenant_id, month_of(today))
        limits = tenant.limits
        budget = limits.monthly_budget_usd
        body["limits"] = {
            "max_concurrent_jobs": {"limit": limits.max_concurrent_jobs, "used": active},
            "monthly_budget_usd": {
                "limit": None if budget is None else float(budget),
                "used": float(month.get("committed_usd", 0)),
            },
            "monthly_jobs": {"limit": limits.monthly_jobs, "used": int(month.get("jobs", 0))},
        }
        body["month_to_date_usd"] = float(month.get("spent_usd", 0))
        body["month_reserved_usd"] = float(month.get("reserved_usd", 0))
        return body

    def get_job(self, tenant_id: str, job_id: str) -> dict[str, Any]:
        job = self._job(tenant_id, job_id)
        url = self._presigned_get(job.result_key) if job.result_key is not None else None
        body = job.to_api(result_url=url)
        document = (body.get("result") or {}).get("document")
        # The full extraction (every page's lines) is an object of the gateway's bucket:
        # clients get a presigned GET for it, as for a result stored in S3.
        if (
            job.pipeline in ("document-insights", "document-summary")
            and isinstance(document, dict)
            and document.get("bucket") == self.settings.documents_bucket
            and document.get("key")
        ):
            body["result"] = {
                **body["result"],
                "document": {**document, "url": self._presigned_get(document["key"])},
            }
        return body

    def _presigned_get(self, key: str) -> str:
        return str(
            self.s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.settings.documents_bucket, "Key": key},
                ExpiresIn=RESULT_URL_SECONDS,
            )
        )

    def list_jobs(self, tenant_id: str, query: dict[str, str]) -> dict[str, Any]:
        status = query.get("status")
        if status is not None and status not in JobStatus.__members__:
            raise InvalidInput(f"status must be one of: {', '.join(JobStatus.__members__)}")
        pipeline = query.get("pipeline")
        if pipeline is not None:
            from aigw_common.pipelines import catalogue

            if pipeline not in catalogue():
                raise InvalidInput(f"pipeline must be one of: {', '.join(catalogue())}")
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            raise InvalidInput("limit must be an integer from 1 to 100") from None
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must be an integer from 1 to 100")
        jobs, next_token = self.jobs.list(
            tenant_id,
            status=status,
            pipeline=pipeline,
            limit=limit,
            next_token=query.get("next_token"),
        )
        body: dict[str, Any] = {"jobs": [job.to_api() for job in jobs]}
        if next_token:
            body["next_token"] = next_token
        return body

    def cancel(self, tenant_id: str, job_id: str) -> dict[str, Any]:
        job = self._job(tenant_id, job_id)
        if job.status is JobStatus.CANCELLED:
            return job.to_api()  # cancelling twice is not an error
        if job.status.terminal:
            raise Conflict(f"job {job_id} already ended {job.status.value}")
        if self.jobs.transition(tenant_id, job_id, JobStatus.CANCELLED):
            # StopExecution does not apply to Express executions: the job's CANCELLED
            # status is the cancel, and the execution's later writes, all conditional on
            # QUEUED or RUNNING, change nothing.
            if not self.settings.runs_on_express(job.pipeline):
                self._stop(tenant_id, job_id)
            return self._job(tenant_id, job_id).to_api()
        job = self._job(tenant_id, job_id)  # it ended while we were cancelling
        if job.status is JobStatus.CANCELLED:
            return job.to_api()
        raise Conflict(f"job {job_id} already ended {job.status.value}")

    def _stop(self, tenant_id: str, job_id: str) -> None:
        machine = self.settings.job_runner_arn
        arn = (
            machine.replace(":stateMachine:", ":execution:")
            + ":"
            + execution_name(tenant_id, job_id)
        )
        try:
            self.sfn.stop_execution(executionArn=arn, error="Cancelled", cause="cancelled")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise _upstream(error) from error

    def _job(self, tenant_id: str, job_id: str) -> Job:
        if not is_job_id(job_id):
            raise NotFound(f"job {excerpt(job_id)} not found")
        return self.jobs.get(tenant_id, job_id)

    # ------------------------------------------------------------------ synchronous runs
    def run(self, tenant_id: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """A synchronous run: admitted and settled like a job (it takes a concurrency slot
        and counts against the month's jobs and budget), through a run record that the
        Jobs table's stream settles as it would a job's."""
        from aigw_common.models import Job
        from aigw_common.pipelines import get_pipeline

        pipeline = get_pipeline(name)
        if not pipeline.runs_synchronously:
            raise InvalidInput(f"{name} runs asynchronously: submit it with POST /v1/jobs")
        run_id = new_job_id()
        tenant = self.tenants.settings(tenant_id)
        _, options, prepared = self._prepare(tenant_id, run_id, name, request)
        facts = self._object_facts_once(prepared)
        asked = (request.get("options") or {}).get("cache")
        cache = self._cache_request(tenant_id, tenant, name, prepared, options, asked, facts)
        if cache is not None:
            answered = self._run_from_cache(tenant_id, name, run_id, cache)
            if answered is not None:
                return answered
        now = utc_now()
        reservation = self._reservation(name, prepared, options, now, facts)
        record = RUN_PREFIX + run_id
        try:
            self.jobs.create(
                Job(
                    tenant_id=tenant_id,
                    job_id=record,
                    pipeline=name,
                    status=JobStatus.RUNNING,
                    created_at=now,
                    updated_at=now,
                ),
                input_summary={},
                stored={"reservation": reservation.record()},
                admission=self.ledger.admission_items(tenant_id, tenant.limits, reservation),
                retention_seconds=RUN_RETENTION_SECONDS,
            )
        except AdmissionRefused as refused:
            raise self._refusal(refused, tenant.limits, reservation) from None
        try:
            return self._run_admitted(tenant_id, name, run_id, prepared, options, cache)
        except Exception:
            # Whatever went wrong after admission, the record ends so its slot comes back
            # now, not at its expiry (a no-op when the run's end was already written; should
            # this write fail too, the expiry still settles it).
            with contextlib.suppress(ClientError):
                self.jobs.transition(tenant_id, record, JobStatus.FAILED)
            raise

    def _run_admitted(
        self,
        tenant_id: str,
        name: str,
        run_id: str,
        prepared: dict[str, Any],
        options: dict[str, Any],
        cache: CacheRequest | None,
    ) -> dict[str, Any]:
        from aigw_common.failures import classify
        from aigw_common.metering import Usage, measure
        from aigw_common.pipelines import normalize

        record = RUN_PREFIX + run_id
        execution_input = {
            "tenant_id": tenant_id,
            "job_id": run_id,
            "input": prepared,
            "options": options,
        }
        try:
            answer = self.sfn_sync.start_sync_execution(
                stateMachineArn=self.settings.state_machine(name),
                name=execution_name(tenant_id, run_id),
                input=json.dumps(execution_input),
            )
        except ReadTimeoutError:
            # Still running, and billed: the run is charged its estimate.
            self.jobs.transition(tenant_id, record, JobStatus.TIMED_OUT)
            raise Timeout(f"{name} did not finish in time") from None
        except ClientError as error:
            # Not started: nothing to charge.
            self.jobs.transition(tenant_id, record, JobStatus.FAILED, usage=Usage().record())
            raise _upstream(error) from error
        if answer["status"] == "SUCCEEDED":
            output = json.loads(answer["output"])
            result = normalize(name, output, prepared, self._read_object)
            usage = measure(name, prepared, options, output, self.prices)
            if cache is not None:
                self._remember_run(tenant_id, name, run_id, cache, result)
            self.jobs.transition(tenant_id, record, JobStatus.SUCCEEDED, usage=usage.record())
            return {
                "pipeline": name,
                "status": "SUCCEEDED",
                "result": result,
                "usage": usage.api(),
            }
        if answer["status"] == "TIMED_OUT":
            self.jobs.transition(tenant_id, record, JobStatus.TIMED_OUT)
            raise Timeout(f"{name} did not finish in time")
        failure = classify(answer.get("error"), answer.get("cause"))
        self.jobs.transition(tenant_id, record, JobStatus.FAILED, error=failure.record())
        if failure.code == "Internal":
            raise Internal(f"{name} failed unexpectedly ({failure.message[:200]})")
        if failure.retryable:
            raise UpstreamError(f"{failure.code}: {failure.message}")
        raise Unprocessable(f"{failure.code}: {failure.message}")

    def _run_from_cache(
        self, tenant_id: str, name: str, run_id: str, cache: CacheRequest
    ) -> dict[str, Any] | None:
        """A run answered from the cache (recorded SUCCEEDED with a $0 usage, settled as a
        cache hit), or None on a miss."""
        from aigw_common.metering import cached_usage
        from aigw_common.models import Job

        hit = self.cache.get(tenant_id, cache.key)
        if hit is None:
            return None
        if hit.result is not None:
            result = json.loads(hit.result)
        else:
            try:
                result = json.loads(self._read_object(str(hit.result_key)))
            except ClientError as error:
                if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                    return None  # the result object expired before its entry: run it
                raise UpstreamError("could not read the cached result; retry") from error
        usage = cached_usage()
        now = utc_now()
        self.jobs.create(
            Job(
                tenant_id=tenant_id,
                job_id=RUN_PREFIX + run_id,
                pipeline=name,
                status=JobStatus.SUCCEEDED,
                created_at=now,
                updated_at=now,
                cached=True,
            ),
            input_summary={},
            stored={"usage": usage.record()},
            retention_seconds=RUN_RETENTION_SECONDS,
        )
        return {
            "pipeline": name,
            "status": "SUCCEEDED",
            "result": result,
            "usage": usage.api(),
            "cached": True,
        }

    def _remember_run(
        self, tenant_id: str, name: str, run_id: str, cache: CacheRequest, result: Any
    ) -> None:
        """A run's result into the cache, as finalize stores a job's: inline when small,
        else as an object of its own. A failed write costs a later re-run, not this run."""
        encoded = json.dumps(result, separators=(",", ":"))
        try:
            if len(encoded.encode()) <= MAX_INLINE_RESULT_BYTES:
                self.cache.put(tenant_id, cache, pipeline=name, job_id=run_id, result=encoded)
                return
            key = f"results/{tenant_id}/{run_id}.json"
            self._write_object(key, encoded.encode())
            self.cache.put(tenant_id, cache, pipeline=name, job_id=run_id, result_key=key)
        except ClientError as error:
            logger.warning("result not cached: %s", error.response["Error"]["Code"])

    def _prepare(
        self, tenant_id: str, job_id: str, name: str, request: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The request's input and options, and the pipeline's execution input from them."""
        from aigw_common.pipelines import Submission, get_pipeline, prepare

        pipeline_input = request.get("input")
        options = request.get("options")
        if options is None:  # absent or null: none
            options = {}
        if not isinstance(pipeline_input, dict) or not isinstance(options, dict):
            raise InvalidInput("input and options must be JSON objects")

        def read_prompt(name: str, version: int | None) -> PromptVersion:
            try:
                return self.prompts.get(tenant_id, name, version)[0]
            except NotFound as error:
                raise InvalidInput(f"input.prompt: {error.message}") from None

        submission = Submission(
            tenant_id,
            job_id,
            self.settings.documents_bucket,
            self._write_object,
            self._read_head,
            models=self.models,
            read_prompt=read_prompt,
        )
        prepared = prepare(get_pipeline(name), pipeline_input, options, submission)
        # Whether to use the result cache is the gateway's business, not the pipeline's.
        options = {option: value for option, value in options.items() if option != "cache"}
        return pipeline_input, options, prepared

    def _read_head(self, key: str) -> ObjectHead | None:
        """An upload's size and first bytes, in one ranged GET."""
        from aigw_common import media
        from aigw_common.pipelines import ObjectHead

        try:
            answer = self.s3.get_object(
                Bucket=self.settings.documents_bucket,
                Key=key,
                Range=f"bytes=0-{media.HEAD_BYTES - 1}",
            )
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in ("NoSuchKey", "404"):
                return None
            if code == "InvalidRange":  # a range of an empty object
                return ObjectHead(0, b"")
            raise _upstream(error) from error
        total = str(answer.get("ContentRange", "")).rpartition("/")[2]  # "bytes 0-9/1234"
        size = int(total or answer["ContentLength"])
        return ObjectHead(size, answer["Body"].read())

    def _read_object(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.settings.documents_bucket, Key=key)[
            "Body"
        ].read()
        return body

    def _write_object(self, key: str, content: bytes) -> None:
        self.s3.put_object(Bucket=self.settings.documents_bucket, Key=key, Body=content)


@functools.cache
def _layer_digest() -> str:
    from aigw_common.result_cache import layer_digest

    return layer_digest()  # the layer does not change while the function runs


def execution_name(tenant_id: str, job_id: str) -> str:
    """Unique per job and at most 80 characters, so a retried start cannot run twice."""
    return f"{tenant_id[:53]}-{job_id}"


def _summary(pipeline_input: dict[str, Any]) -> dict[str, Any]:
    """What the job record keeps of its input: never the text or document itself."""
    summary: dict[str, Any] = {}
    if "text" in pipeline_input:
        summary["text_bytes"] = len(str(pipeline_input["text"]).encode())
    if "s3_uri" in pipeline_input:
        summary["s3_uri"] = pipeline_input["s3_uri"]
    for inline in ("document_base64", "image_base64"):
        if inline in pipeline_input:
            summary[inline.removesuffix("_base64") + "_inline"] = True
    if "model" in pipeline_input:
        summary["model"] = pipeline_input["model"]
    if "prompt" in pipeline_input:
        summary["prompt"] = pipeline_input["prompt"]
    if "messages" in pipeline_input:
        summary["messages"] = len(pipeline_input["messages"])
    return summary


def _upstream(error: ClientError) -> GatewayError:
    code = error.response["Error"]["Code"]
    if code in ("ThrottlingException", "TooManyRequestsException", "ExecutionLimitExceeded"):
        return RateLimited("the service is busy; retry shortly", retry_after=2)
    return UpstreamError(f"could not start the pipeline ({code})")
