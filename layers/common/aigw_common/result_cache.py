"""The result cache (SPEC §6): a job whose identical request already succeeded for the same
tenant, under the same pipeline version, is answered from the stored result at once, with
no AI call and $0 of AI cost.

Opt-in: per job (``"options": {"cache": true}``; ``false`` opts a job out) or per tenant
(``cache_by_default``, with its ``cache_ttl_seconds``; ``aigw tenants update``).

The key is the SHA-256 of the canonical request: the tenant, the pipeline, the pipeline's
version, its prepared input and its options (JSON with sorted keys). The prepared input is
what the pipeline would run on (a prompt template resolved to its version and rendered, a
text split into its chunks), so a new prompt version or a changed splitter is a new key;
an S3 object (an upload, or an inline document the API stored) counts by its ETag and size,
not its key, so the same file uploaded twice is one entry, and a file overwritten under
the same key is another.

The pipeline's version is a digest of every pipeline state machine's definition as
deployed and of the shared layer's code (which prepares inputs and normalizes results):
any deploy that changes how a result is made starts a fresh cache.

Entries are items of the ResultCache table (partition ``tenant_id``: two tenants' identical
requests never share one), written by whoever stores a job's result (finalize), with the
result inline when small and else the key of its S3 object. DynamoDB's TTL deletes expired
entries eventually (within days); reads ignore an expired entry themselves.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from aigw_common.metering import ObjectFacts

#: Bumped when what a cached entry holds changes shape.
ENTRY_FORMAT = 1
_LAYER = Path(__file__).parent

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class CacheRequest:
    """A job's use of the cache: its key and how long its result is kept."""

    key: str
    ttl_seconds: int

    def record(self) -> dict[str, Any]:
        return {"key": self.key, "ttl_seconds": self.ttl_seconds}

    @classmethod
    def from_record(cls, record: Any) -> CacheRequest | None:
        if not isinstance(record, dict) or "key" not in record:
            return None
        return cls(key=str(record["key"]), ttl_seconds=int(record["ttl_seconds"]))


@dataclass(frozen=True)
class CachedResult:
    """A stored result: inline (its JSON) or the S3 key of its object."""

    source_job_id: str
    result: str | None
    result_key: str | None


def layer_digest(files: Iterable[Path] | None = None) -> str:
    """SHA-256 of the layer's code and data (its .py and .json files), in a stable order."""
    digest = hashlib.sha256()
    paths = files if files is not None else _LAYER.rglob("*")
    for path in sorted(p for p in paths if p.suffix in (".py", ".json") and p.is_file()):
        digest.update(str(path.relative_to(_LAYER)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def pipeline_version(definitions: Iterable[str], layer: str) -> str:
    """The version of the pipelines: their definitions as deployed and the layer's code."""
    digest = hashlib.sha256(f"format {ENTRY_FORMAT}\0{layer}\0".encode())
    for definition in sorted(definitions):
        digest.update(definition.encode() + b"\0")
    return digest.hexdigest()[:32]


def cache_key(
    tenant_id: str,
    pipeline: str,
    version: str,
    prepared: dict[str, Any],
    options: dict[str, Any],
    source: ObjectFacts | None,
) -> str:
    """SHA-256 of the canonical request (see the module's doc)."""
    pipeline_input = dict(prepared)
    if source is not None:
        # The object's content stands for its name (uploads/<tenant>/<random>/<file>).
        pipeline_input.pop("bucket", None)
        pipeline_input.pop("key", None)
        pipeline_input["object"] = {"etag": source.etag, "size": source.size}
    canonical = {
        "tenant_id": tenant_id,
        "pipeline": pipeline,
        "version": version,
        "input": pipeline_input,
        "options": {name: value for name, value in options.items() if name != "cache"},
    }
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


class ResultCache:
    """The ResultCache table: the only code that reads or writes it."""

    def __init__(
        self, table_name: str, client: Any, clock: Callable[[], float] = time.time
    ) -> None:
        self.table_name = table_name
        self.client = client
        self.clock = clock

    def get(self, tenant_id: str, key: str) -> CachedResult | None:
        """The entry, unless there is none or it has expired (TTL deletes lazily)."""
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"tenant_id": {"S": tenant_id}, "cache_key": {"S": key}},
        ).get("Item")
        if item is None:
            return None
        values = {name: _deserializer.deserialize(value) for name, value in item.items()}
        if int(values.get("expires_at", 0)) <= self.clock():
            return None
        return CachedResult(
            source_job_id=str(values["job_id"]),
            result=values.get("result"),
            result_key=values.get("result_key"),
        )

    def put(
        self,
        tenant_id: str,
        request: CacheRequest,
        *,
        pipeline: str,
        job_id: str,
        result: str | None = None,
        result_key: str | None = None,
    ) -> None:
        """Store a job's result under its key for ``request.ttl_seconds`` (the latest
        result of a key wins: they are the same request's)."""
        now = self.clock()
        values: dict[str, Any] = {
            "tenant_id": tenant_id,
            "cache_key": request.key,
            "pipeline": pipeline,
            "job_id": job_id,
            "stored_at": int(now),
            "expires_at": int(now) + request.ttl_seconds,
        }
        if result is not None:
            values["result"] = result
        else:
            values["result_key"] = result_key
        self.client.put_item(
            TableName=self.table_name,
            Item={name: _serializer.serialize(value) for name, value in values.items()},
        )
