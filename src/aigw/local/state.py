"""A state directory: the template's tables and buckets kept on disk across restarts.

moto keeps everything in memory, so a restart would lose every item and object.
:class:`StateStore` snapshots the deployed DynamoDB tables (every item, typed JSON) and S3
buckets (every object with its content type and metadata) into a directory, and restores
them into a freshly deployed runtime before anything is served.

- Snapshots are written every ``interval`` seconds while running and once more at stop;
  each table file and the bucket index are replaced atomically (write, fsync, rename), and
  an object's bytes are written once per ETag, so a crash loses at most the last interval
  and never leaves a half-written snapshot.
- Restored items do not reach the table's stream consumers: a restart must not send the
  notifications of old changes again.
- Executions do not survive (the engine's state is not persisted).
- Only resources of the same logical id are restored; a table or bucket the template no
  longer has is skipped with a warning (its files stay in the directory).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aigw.local.runtime import LocalRuntime

LOG = logging.getLogger(__name__)

FORMAT_VERSION = 1
TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")
BUCKET_TYPES = ("AWS::S3::Bucket",)


class StateError(RuntimeError):
    """The state directory cannot be used (another format, unreadable files)."""


def _encode(value: Any) -> Any:
    """A low-level DynamoDB value as JSON: bytes (B, BS) become {"$b64": "..."}."""
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b64"}:
            return base64.b64decode(value["$b64"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


class StateStore:
    """Snapshots and restores a runtime's tables and buckets in ``directory``."""

    def __init__(self, runtime: LocalRuntime, directory: str | Path, *, interval: float = 5.0):
        self.runtime = runtime
        self.directory = Path(directory)
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def restore(self) -> dict[str, int]:
        """Load a previous snapshot (if any) into the runtime; returns counts restored."""
        counts = {"items": 0, "objects": 0}
        manifest_path = self.directory / "manifest.json"
        if not manifest_path.is_file():
            self.directory.mkdir(parents=True, exist_ok=True)
            return counts
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as error:
            raise StateError(f"{manifest_path} is not readable: {error}") from error
        if manifest.get("format") != FORMAT_VERSION:
            raise StateError(
                f"{self.directory} holds state format {manifest.get('format')!r}; this aigw "
                f"reads format {FORMAT_VERSION}: use another --state-dir"
            )
        with self.runtime.event_sources.streams_paused():
            for logical_id in manifest.get("tables", []):
                counts["items"] += self._restore_table(logical_id)
            for logical_id in manifest.get("buckets", []):
                counts["objects"] += self._restore_bucket(logical_id)
        return counts

    def start(self) -> None:
        """Save every ``interval`` seconds in the background until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="aigw-state", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background saver and write a final snapshot."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.save()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.save()
            except Exception:
                LOG.exception("saving the local state to %s failed", self.directory)

    # ------------------------------------------------------------------ save
    def save(self) -> None:
        """Write a snapshot of every table and bucket of the template."""
        with self._lock:
            tables = self._logical_ids(TABLE_TYPES)
            buckets = self._logical_ids(BUCKET_TYPES)
            for logical_id in tables:
                self._save_table(logical_id)
            for logical_id in buckets:
                self._save_bucket(logical_id)
            manifest = {
                "format": FORMAT_VERSION,
                "saved_at": datetime.datetime.now(datetime.UTC).isoformat(),
                "template": str(self.runtime.template_path),
                "tables": tables,
                "buckets": buckets,
            }
            _write_atomically(
                self.directory / "manifest.json", json.dumps(manifest, indent=1).encode()
            )

    def _logical_ids(self, types: tuple[str, ...]) -> list[str]:
        return sorted(
            logical_id
            for logical_id, resource in self.runtime.resources.items()
            if resource.type in types
        )

    def _save_table(self, logical_id: str) -> None:
        dynamodb = self.runtime.client("dynamodb")
        items = [
            _encode(item)
            for page in dynamodb.get_paginator("scan").paginate(
                TableName=self.runtime.physical_id(logical_id), ConsistentRead=True
            )
            for item in page["Items"]
        ]
        path = self.directory / "tables" / f"{logical_id}.json"
        _write_atomically(path, json.dumps(items).encode())

    def _save_bucket(self, logical_id: str) -> None:
        s3 = self.runtime.client("s3")
        bucket = self.runtime.physical_id(logical_id)
        folder = self.directory / "buckets" / logical_id
        index: dict[str, dict[str, Any]] = {}
        for summary in self._objects(s3, bucket):
            key = summary["Key"]
            etag = summary["ETag"].strip('"')
            name = hashlib.sha256(f"{key}\0{etag}".encode()).hexdigest()
            path = folder / "objects" / name
            head = s3.head_object(Bucket=bucket, Key=key)
            if not path.is_file():
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                _write_atomically(path, body)
            index[key] = {
                "file": name,
                "content_type": head.get("ContentType", "binary/octet-stream"),
                "metadata": head.get("Metadata", {}),
            }
        _write_atomically(folder / "index.json", json.dumps(index, indent=1).encode())
        # Bytes no key points at any more (deleted or overwritten objects).
        wanted = {entry["file"] for entry in index.values()}
        for path in (folder / "objects").glob("*"):
            if path.name not in wanted and not path.name.startswith("."):
                path.unlink(missing_ok=True)

    @staticmethod
    def _objects(s3: Any, bucket: str) -> Iterator[dict[str, Any]]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            yield from page.get("Contents", [])

    # ------------------------------------------------------------------ restore
    def _restore_table(self, logical_id: str) -> int:
        path = self.directory / "tables" / f"{logical_id}.json"
        if logical_id not in self.runtime.resources:
            LOG.warning("state: the template has no table %s any more; not restored", logical_id)
            return 0
        if not path.is_file():
            return 0
        dynamodb = self.runtime.client("dynamodb")
        table = self.runtime.physical_id(logical_id)
        items = _decode(json.loads(path.read_text()))
        for item in items:
            dynamodb.put_item(TableName=table, Item=item)
        return len(items)

    def _restore_bucket(self, logical_id: str) -> int:
        folder = self.directory / "buckets" / logical_id
        if logical_id not in self.runtime.resources:
            LOG.warning("state: the template has no bucket %s any more; not restored", logical_id)
            return 0
        if not (folder / "index.json").is_file():
            return 0
        s3 = self.runtime.client("s3")
        bucket = self.runtime.physical_id(logical_id)
        index = json.loads((folder / "index.json").read_text())
        for key, entry in index.items():
            body = (folder / "objects" / entry["file"]).read_bytes()
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=entry["content_type"],
                Metadata=entry["metadata"],
            )
        return len(index)
