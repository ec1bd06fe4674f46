"""The Jobs table: the only code that reads or writes it (the workflows' direct DynamoDB
tasks follow the same conditions, see statemachines/job-runner.asl.json).

Items: partition ``tenant_id``, sort ``job_id`` (time-sortable). An idempotency claim is an
item in the same partition with ``job_id = "idem#<key>"`` pointing at the job, written in
the same transaction as the job, so a retried submission can never create a second job.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import random
import time
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from aigw_common.errors import Conflict, InvalidInput, NotFound
from aigw_common.ids import is_job_id
from aigw_common.job_status import ALLOWED_FROM, JobStatus, utc_now
from aigw_common.json_input import excerpt

if TYPE_CHECKING:
    from aigw_common.models import Job

IDEMPOTENCY_PREFIX = "idem#"
#: A synchronous run's record (POST /v1/run): settled like a job, never listed or shown.
RUN_PREFIX = "run#"
#: How long a synchronous run's record is kept. Should the API function die during a run,
#: the record's expiry (a stream REMOVE) still settles it, so its slot comes back.
RUN_RETENTION_SECONDS = 24 * 3600
#: Transactions that lose a conflict with another one on the same item are tried again.
CONFLICT_ATTEMPTS = 6
#: How long a finished job stays readable (DynamoDB TTL on ``expires_at``).
RETENTION_SECONDS = 30 * 24 * 3600
#: Larger results go to S3 and the job (or cache entry) keeps their key: DynamoDB items
#: stop at 400 KB.
MAX_INLINE_RESULT_BYTES = 32 * 1024
#: An Express execution lasts 5 minutes at most: a job of the Express runner still open a
#: minute after that has lost its execution (timed out, crashed before its terminal write),
#: and the reconciler's sweep ends it.
EXPRESS_DEADLINE_SECONDS = 5 * 60 + 60
#: The sweep index's partitions (``express#0`` ...): open Express jobs spread over several
#: partition keys, so no one key takes every job's writes.
SWEEP_SHARDS = 8
SWEEP_INDEX = "ExpressSweepIndex"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(_dynamo_safe(value)) for key, value in values.items()}


def _dynamo_safe(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _dynamo_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dynamo_safe(item) for item in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (or stream image) as plain Python values."""
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | set):
        return [_plain(item) for item in value]
    return value


def _job(item: dict[str, Any]) -> Job:
    # The job model only where a job is read: functions reading no job (job events, settle)
    # need not import it.
    from aigw_common.models import Job

    values = from_item(item)
    if isinstance(values.get("result"), str):
        values["result"] = json.loads(values["result"])
    return Job.from_record(values)


class AdmissionRefused(Exception):
    """A limit's condition failed: the cancellation reasons of the admission items."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("admission refused")
        self.reasons = reasons


class _ClaimTaken(Exception):
    """The idempotency key's claim exists: the request is a replay."""


class JobRepository:
    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self.client = client

    # ------------------------------------------------------------------ create
    def create(
        self,
        job: Job,
        input_summary: dict[str, Any],
        *,
        stored: dict[str, Any] | None = None,
        admission: list[dict[str, Any]] | None = None,
        retention_seconds: int = RETENTION_SECONDS,
    ) -> tuple[Job, bool]:
        """Store a new job; with an idempotency key, a replay returns the first job.

        ``stored`` adds fields kept with the job (its reservation, its usage); ``admission``
        are transaction items (the Usage table's limits counters) written in the same
        transaction, so the job exists if and only if it was admitted: AdmissionRefused
        carries their cancellation reasons when one of their conditions failed.

        Returns ``(job, created)``. The same key with another request body is a Conflict.
        """
        now = int(time.time())
        record = job.record()
        if not job.cached:
            record.pop("cached", None)
        record.update(stored or {})
        record["input_summary"] = input_summary
        record["expires_at"] = now + retention_seconds
        put_job = {
            "Put": {
                "TableName": self.table_name,
                "Item": _to_item(record),
                "ConditionExpression": "attribute_not_exists(job_id)",
            }
        }
        items = [put_job, *(admission or [])]
        if job.idempotency_key is None:
            self._transact(items, admitted=len(admission or []), claim=False)
            return job, True
        claim = {
            "tenant_id": job.tenant_id,
            "job_id": IDEMPOTENCY_PREFIX + job.idempotency_key,
            "target_job_id": job.job_id,
            "request_hash": job.request_hash,
            "expires_at": now + RETENTION_SECONDS,
        }
        put_claim = {
            "Put": {
                "TableName": self.table_name,
                "Item": _to_item(claim),
                "ConditionExpression": "attribute_not_exists(job_id)",
            }
        }
        try:
            self._transact([put_claim, *items], admitted=len(admission or []), claim=True)
        except _ClaimTaken:
            return self._replay(job), False
        return job, True

    def _transact(self, items: list[dict[str, Any]], *, admitted: int, claim: bool) -> None:
        """Write ``items`` in one transaction: first the idempotency claim (if ``claim``),
        last ``admitted`` admission items; a conflict with another transaction is retried."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or []
                codes = [reason.get("Code") for reason in reasons]
                failed = [code == "ConditionalCheckFailed" for code in codes]
                if claim and (not failed or failed[0]):
                    raise _ClaimTaken from None  # a replay: it is not admitted again
                if admitted and any(failed[-admitted:]):
                    raise AdmissionRefused(reasons[-admitted:]) from None
                if "TransactionConflict" not in codes or attempt == CONFLICT_ATTEMPTS - 1:
                    raise Conflict("the job could not be created; retry the request") from None
                time.sleep(random.uniform(0, 0.02 * 2**attempt))

    def _replay(self, job: Job) -> Job:
        claim = self.client.get_item(
            TableName=self.table_name,
            Key=_to_item(
                {"tenant_id": job.tenant_id, "job_id": IDEMPOTENCY_PREFIX + job.idempotency_key}
            ),
            ConsistentRead=True,
        ).get("Item")
        if claim is None:  # the transaction lost to something other than a claim
            raise Conflict("the job could not be created; retry the request")
        values = from_item(claim)
        if values.get("request_hash") != job.request_hash:
            raise Conflict("this Idempotency-Key was already used with a different request body")
        return self.get(job.tenant_id, values["target_job_id"])

    # ------------------------------------------------------------------ read
    def get(self, tenant_id: str, job_id: str) -> Job:
        if not is_job_id(job_id):  # an idempotency claim's key, or not an id at all
            raise NotFound(f"job {excerpt(job_id)} not found")
        item = self.client.get_item(
            TableName=self.table_name,
            Key=_to_item({"tenant_id": tenant_id, "job_id": job_id}),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            raise NotFound(f"job {job_id} not found")
        return _job(item)

    def list(
        self,
        tenant_id: str,
        *,
        status: str | None = None,
        pipeline: str | None = None,
        limit: int = 20,
        next_token: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """The tenant's jobs, newest first, filtered; ``next_token`` is opaque to clients."""
        filters = ["NOT begins_with(job_id, :idem)", "NOT begins_with(job_id, :run)"]
        values: dict[str, Any] = {
            ":tenant": tenant_id,
            ":idem": IDEMPOTENCY_PREFIX,
            ":run": RUN_PREFIX,
        }
        names: dict[str, str] = {}
        if status:
            filters.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = status
        if pipeline:
            filters.append("pipeline = :pipeline")
            values[":pipeline"] = pipeline
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "tenant_id = :tenant",
            "FilterExpression": " AND ".join(filters),
            "ExpressionAttributeValues": _to_item(values),
            "ScanIndexForward": False,
            "Limit": max(limit, 25),
        }
        if names:
            query["ExpressionAttributeNames"] = names
        if next_token:
            query["ExclusiveStartKey"] = _to_item(
                {"tenant_id": tenant_id, "job_id": _decode_token(next_token)}
            )
        jobs: list[Job] = []
        while True:
            page = self.client.query(**query)
            for item in page.get("Items", []):
                jobs.append(_job(item))
                if len(jobs) == limit:
                    # More may follow: resume after this job, whatever the page had left.
                    return jobs, _encode_token(jobs[-1].job_id)
            if "LastEvaluatedKey" not in page:
                return jobs, None
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def stored_field(
        self, tenant_id: str, job_id: str, name: str, *, consistent: bool = False
    ) -> Any:
        """One field of a job (None if the job or field is not there): a read of that field
        only, eventually consistent (enough for one stored at the job's creation) unless
        ``consistent``."""
        item = self.client.get_item(
            TableName=self.table_name,
            Key=_to_item({"tenant_id": tenant_id, "job_id": job_id}),
            ProjectionExpression="#field",
            ExpressionAttributeNames={"#field": name},
            ConsistentRead=consistent,
        ).get("Item")
        return from_item(item).get(name) if item else None

    # ------------------------------------------------------------------ status
    def transition(self, tenant_id: str, job_id: str, status: JobStatus, **changes: Any) -> bool:
        """Move the job to ``status`` if it may go there from where it is now.

        Returns False, without error, when the job has already moved on (a race lost to
        another writer, a cancel, a reconciler): status never goes backwards.
        """
        allowed = sorted(ALLOWED_FROM[status])
        values: dict[str, Any] = {":status": status.value, ":now": utc_now()}
        # Every name through a placeholder: "error", "result", ... are DynamoDB reserved words.
        names = {"#status": "status", "#updated": "updated_at"}
        sets = []
        for index, (name, value) in enumerate(sorted(changes.items())):
            if value is None:
                continue
            names[f"#n{index}"] = name
            values[f":v{index}"] = value
            sets.append(f"#n{index} = :v{index}")
        # The status last: an update is atomic on AWS, but the local engine applies its
        # actions one by one while reads go on, so a reader that sees the new status must
        # already see the result and usage that come with it.
        sets += ["#updated = :now", "#status = :status"]
        # An ended job leaves the sparse sweep index (it held only Express jobs still open).
        removes = " REMOVE sweep_shard, sweep_at" if status.terminal else ""
        placeholders = []
        for index, previous in enumerate(allowed):
            values[f":from{index}"] = previous.value
            placeholders.append(f":from{index}")
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"tenant_id": tenant_id, "job_id": job_id}),
                UpdateExpression="SET " + ", ".join(sets) + removes,
                ConditionExpression=f"#status IN ({', '.join(placeholders)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_to_item(values),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------------ sweep
    def overdue(self, now: datetime.datetime) -> Iterator[tuple[str, str]]:
        """``(tenant_id, job_id)`` of every Express-run job still open past its deadline."""
        cutoff = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for shard in range(SWEEP_SHARDS):
            query: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": SWEEP_INDEX,
                "KeyConditionExpression": "sweep_shard = :shard AND sweep_at < :cutoff",
                "ExpressionAttributeValues": _to_item(
                    {":shard": f"express#{shard}", ":cutoff": cutoff}
                ),
            }
            while True:
                page = self.client.query(**query)
                for item in page.get("Items", []):
                    yield item["tenant_id"]["S"], item["job_id"]["S"]
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def leave_sweep(self, tenant_id: str, job_id: str) -> None:
        """Take an ended job out of the sweep index (its end was written without it)."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"tenant_id": tenant_id, "job_id": job_id}),
                UpdateExpression="REMOVE sweep_shard, sweep_at",
                ConditionExpression="attribute_exists(job_id)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # else it has expired meanwhile: nothing left to take out


def sweep_fields(job_id: str, started: datetime.datetime) -> dict[str, str]:
    """What puts a job of the Express runner in the sweep index: its shard and the time
    after which it counts as lost. The job's terminal write removes both."""
    deadline = started + datetime.timedelta(seconds=EXPRESS_DEADLINE_SECONDS)
    return {
        "sweep_shard": f"express#{zlib.crc32(job_id.encode()) % SWEEP_SHARDS}",
        "sweep_at": deadline.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def _encode_token(job_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": job_id}).encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise InvalidInput("next_token is not a token this API returned") from error
    if not isinstance(value, str) or not is_job_id(value):
        raise InvalidInput("next_token is not a token this API returned")
    return value
