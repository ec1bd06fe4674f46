"""The Jobs table: the only code that reads or writes it (the workflows' direct DynamoDB
tasks follow the same conditions, see statemachines/job-runner.asl.json).

Items: partition ``tenant_id``, sort ``job_id`` (time-sortable). An idempotency claim is an
item in the same partition with ``job_id = "idem#<key>"`` pointing at the job, written in
the same transaction as the job, so a retried submission can never create a second job.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from aigw_common.errors import Conflict, InvalidInput, NotFound
from aigw_common.ids import is_job_id
from aigw_common.json_input import excerpt
from aigw_common.models import ALLOWED_FROM, Job, JobStatus, utc_now

IDEMPOTENCY_PREFIX = "idem#"
#: How long a finished job stays readable (DynamoDB TTL on ``expires_at``).
RETENTION_SECONDS = 30 * 24 * 3600

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
    values = from_item(item)
    if isinstance(values.get("result"), str):
        values["result"] = json.loads(values["result"])
    return Job.model_validate(values)


class JobRepository:
    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self.client = client

    # ------------------------------------------------------------------ create
    def create(self, job: Job, input_summary: dict[str, Any]) -> tuple[Job, bool]:
        """Store a new QUEUED job; with an idempotency key, a replay returns the first job.

        Returns ``(job, created)``. The same key with another request body is a Conflict.
        """
        now = int(time.time())
        record = job.model_dump(exclude_none=True, mode="json")
        record["input_summary"] = input_summary
        record["expires_at"] = now + RETENTION_SECONDS
        put_job = {
            "Put": {
                "TableName": self.table_name,
                "Item": _to_item(record),
                "ConditionExpression": "attribute_not_exists(job_id)",
            }
        }
        if job.idempotency_key is None:
            self.client.transact_write_items(TransactItems=[put_job])
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
            self.client.transact_write_items(TransactItems=[put_claim, put_job])
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            return self._replay(job), False
        return job, True

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
        filters = ["NOT begins_with(job_id, :idem)"]
        values: dict[str, Any] = {":tenant": tenant_id, ":idem": IDEMPOTENCY_PREFIX}
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
        sets = ["#status = :status", "#updated = :now"]
        for index, (name, value) in enumerate(sorted(changes.items())):
            if value is None:
                continue
            names[f"#n{index}"] = name
            values[f":v{index}"] = value
            sets.append(f"#n{index} = :v{index}")
        placeholders = []
        for index, previous in enumerate(allowed):
            values[f":from{index}"] = previous.value
            placeholders.append(f":from{index}")
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_to_item({"tenant_id": tenant_id, "job_id": job_id}),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=f"#status IN ({', '.join(placeholders)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_to_item(values),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


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
