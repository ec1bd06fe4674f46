"""Measures what one job costs on AWS while it runs in the offline runtime.

Two instruments, both outside the gateway's code:

- a botocore hook on every client in the process (``before-parameter-build`` and
  ``after-call``, the events the local providers use) records each AWS call the handlers,
  the state machine engine and the providers make: DynamoDB request units from the real
  item sizes (read from the table before and after each write), SNS publish requests by
  64 KB chunk, S3 requests, WebSocket messages, and the AI services' billing units;
- a wrapper around the runtime's Lambda bridge records each invocation with its function,
  memory and measured duration (billed per started millisecond).

The bench's own reads (histories, waits, sizes) run under :func:`bench_calls` and are not
counted.
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.handlers import BUILTIN_HANDLERS

_BENCH: contextvars.ContextVar[bool] = contextvars.ContextVar("aigw_bench_calls", default=False)
_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("aigw_bench_caller", default="")
_STASH = "aigw_bench_call"

COMPREHEND_OPS = {
    "DetectDominantLanguage",
    "DetectSentiment",
    "DetectEntities",
    "DetectKeyPhrases",
    "DetectPiiEntities",
    "DetectSyntax",
}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


@contextmanager
def bench_calls() -> Iterator[None]:
    """AWS calls made inside are the bench's own and are not metered."""
    token = _BENCH.set(True)
    try:
        yield
    finally:
        _BENCH.reset(token)


# --------------------------------------------------------------------------- item sizes


def _value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = len(str(data).lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(item if isinstance(item, bytes) else item.encode()) for item in data)
    if kind == "NS":
        return sum(_value_size({"N": item}) for item in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in data)
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    """DynamoDB's size of an item: attribute names plus values, as the docs count them."""
    if not item:
        return 0
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


# --------------------------------------------------------------------------- records


@dataclass
class Call:
    service: str
    operation: str
    caller: str
    ms: float
    units: dict[str, float] = field(default_factory=dict)
    #: DynamoDB request units (write or read) by table: what metering and limits add.
    tables: dict[str, float] = field(default_factory=dict)


@dataclass
class Invocation:
    function: str
    memory_mb: int
    ms: float


class Meter:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()
        self._dynamodb: Any = None
        self._key_schemas: dict[str, list[str]] = {}
        self._textract_jobs: set[str] = set()
        self._function_names: dict[str, str] = {}
        self._bridge: Any = None
        self._original_invoke: Any = None

    # ------------------------------------------------------------------ install
    def install_hooks(self) -> None:
        """Before the runtime starts, so every session and client made later has them."""
        for event, handler in (
            ("before-parameter-build", self._before),
            ("after-call", self._after),
        ):
            if (event, handler) not in BUILTIN_HANDLERS:
                BUILTIN_HANDLERS.append((event, handler))

    def uninstall_hooks(self) -> None:
        for entry in [("before-parameter-build", self._before), ("after-call", self._after)]:
            while entry in BUILTIN_HANDLERS:
                BUILTIN_HANDLERS.remove(entry)
        self.uninstall_bridge()

    def uninstall_bridge(self) -> None:
        if self._bridge is not None:
            self._bridge.invoke = self._original_invoke
            self._bridge = None
        self._dynamodb = None

    def attach(self, runtime: Any) -> None:
        """Meter ``runtime``'s Lambda invocations and read item sizes from its tables."""
        self._dynamodb = boto3.session.Session(
            region_name=runtime.region, aws_access_key_id="local", aws_secret_access_key="local"
        ).client("dynamodb")
        self._key_schemas.clear()
        self._function_names = {
            str(runtime.physical_id(logical_id)): logical_id
            for logical_id, resource in runtime.template.resources.items()
            if resource.type == "AWS::Lambda::Function"
        }
        bridge = runtime.bridge
        original = bridge.invoke
        self._bridge, self._original_invoke = bridge, original

        def invoke(name_or_arn: str, event: Any) -> Any:
            spec = bridge.spec(name_or_arn)
            name = self._function_names.get(spec.name, spec.name)
            token = _CALLER.set(name)
            started = time.perf_counter()
            try:
                return original(name_or_arn, event)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                _CALLER.reset(token)
                with self._lock:
                    self.invocations.append(Invocation(name, spec.memory_size, elapsed))

        bridge.invoke = invoke

    @contextmanager
    def window(self) -> Iterator[tuple[list[Call], list[Invocation]]]:
        """What is recorded inside the block (the lists fill when the block ends)."""
        calls: list[Call] = []
        invocations: list[Invocation] = []
        with self._lock:
            first_call, first_invocation = len(self.calls), len(self.invocations)
        yield calls, invocations
        with self._lock:
            calls.extend(self.calls[first_call:])
            invocations.extend(self.invocations[first_invocation:])

    # ------------------------------------------------------------------ DynamoDB sizes
    def _key_of(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        if table not in self._key_schemas:
            with bench_calls():
                schema = self._dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
            self._key_schemas[table] = [key["AttributeName"] for key in schema]
        return {name: item[name] for name in self._key_schemas[table] if name in item}

    def _stored_size(self, table: str, key: dict[str, Any]) -> int:
        if self._dynamodb is None:
            return 0
        with bench_calls():
            answer = self._dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
        return item_size(answer.get("Item"))

    def _write_targets(self, operation: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """(table, key, size of the new item or None when it must be read after)."""
        targets: list[tuple[Any, ...]] = []
        if operation == "PutItem":
            item = params["Item"]
            targets.append((params["TableName"], self._key_of(params["TableName"], item), item))
        elif operation in ("UpdateItem", "DeleteItem"):
            new = {} if operation == "DeleteItem" else None
            targets.append((params["TableName"], params["Key"], new))
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                table = body["TableName"]
                if kind == "Put":
                    targets.append((table, self._key_of(table, body["Item"]), body["Item"]))
                elif kind == "Update":
                    targets.append((table, body["Key"], None))
                else:  # Delete, ConditionCheck
                    targets.append((table, body["Key"], {}))
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        targets.append((table, self._key_of(table, item), item))
                    else:
                        targets.append((table, request["DeleteRequest"]["Key"], {}))
        return targets

    # ------------------------------------------------------------------ hooks
    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any):
        if _BENCH.get():
            return
        service = model.service_model.service_name
        stash: dict[str, Any] = {"params": params, "started": time.perf_counter()}
        if service == "dynamodb" and (
            model.name in _WRITES or model.name in ("TransactWriteItems", "BatchWriteItem")
        ):
            targets = self._write_targets(model.name, params)
            stash["writes"] = [
                (table, key, new, self._stored_size(table, key)) for table, key, new in targets
            ]
        context[_STASH] = stash

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any):
        stash = context.get(_STASH)
        if stash is None or _BENCH.get():
            return
        service, operation = model.service_model.service_name, model.name
        params = stash["params"]
        call = Call(
            service,
            operation,
            _CALLER.get() or "workflow",
            (time.perf_counter() - stash["started"]) * 1000,
        )
        try:
            call.units = self._units(service, operation, params, parsed or {}, stash)
            if service == "dynamodb":
                call.tables = self._table_units(operation, params, parsed or {}, stash)
        except (KeyError, TypeError, ValueError) as error:  # never break the gateway
            call.units = {"unmetered": 1, "error": str(error)[:80]}  # type: ignore[dict-item]
        with self._lock:
            self.calls.append(call)

    def _units(
        self,
        service: str,
        operation: str,
        params: dict[str, Any],
        parsed: dict[str, Any],
        stash: dict[str, Any],
    ) -> dict[str, float]:
        if service == "dynamodb":
            return self._dynamodb_units(operation, params, parsed, stash)
        if service == "stepfunctions" and operation == "StartSyncExecution":
            # A synchronous Express execution leaves no execution to list: its billed
            # duration is the engine's start-to-stop time from the answer.
            start, stop = parsed.get("startDate"), parsed.get("stopDate")
            if start is not None and stop is not None:
                return {"express_sync_ms": (stop - start).total_seconds() * 1000}
            return {"express_sync_ms": (time.perf_counter() - stash["started"]) * 1000}
        if service == "sns" and operation == "Publish":
            size = len(params.get("Message", "").encode()) + _attributes_size(params)
            return {"sns_publish": max(1, math.ceil(size / 65536))}
        if service == "sns" and operation == "PublishBatch":
            entries = params.get("PublishBatchRequestEntries", [])
            size = sum(len(e.get("Message", "").encode()) + _attributes_size(e) for e in entries)
            return {"sns_publish": max(1, math.ceil(size / 65536))}
        if service == "s3":
            if operation in (
                "PutObject",
                "CopyObject",
                "ListObjects",
                "ListObjectsV2",
                "PostObject",
            ):
                return {"s3_put": 1}
            if operation in ("GetObject", "HeadObject"):
                return {"s3_get": 1}
        if service == "apigatewaymanagementapi" and operation == "PostToConnection":
            data = params.get("Data", b"")
            return {"apigw_ws_message": max(1, math.ceil(len(data) / 32768))}
        if service == "comprehend" and operation in COMPREHEND_OPS:
            return {"comprehend_unit": max(3, math.ceil(len(params["Text"]) / 100))}
        if service == "translate" and operation == "TranslateText":
            return {"translate_character": len(params["Text"])}
        if service == "textract" and operation.startswith("GetDocument"):
            job_id = params["JobId"]
            if job_id in self._textract_jobs or "NextToken" in params:
                return {}
            self._textract_jobs.add(job_id)
            pages = parsed.get("DocumentMetadata", {}).get("Pages", 0)
            key = (
                "textract_detect_page"
                if "Text" in operation
                else "textract_analyze_tables_forms_page"
            )
            return {key: pages}
        if service == "rekognition" and operation.startswith("Detect"):
            return {"rekognition_image": 1}
        if service == "sagemaker-runtime" and operation == "InvokeEndpoint":
            body = parsed.get("Body", b"")
            out = len(body) if isinstance(body, bytes | str) else 0
            return {"sagemaker_data_gb": (len(params.get("Body", b"")) + out) / 1e9}
        return {}

    def _table_units(
        self, operation: str, params: dict[str, Any], parsed: dict[str, Any], stash: dict[str, Any]
    ) -> dict[str, float]:
        """The request units of one DynamoDB call split by table (as _dynamodb_units counts
        them)."""
        tables: dict[str, float] = {}
        if "writes" in stash:
            tables = stash["table_wru"]
        elif operation == "BatchGetItem":
            for table, items in parsed.get("Responses", {}).items():
                sizes = [max(1, math.ceil(item_size(i) / 4096)) for i in items]
                tables[table] = 0.5 * sum(sizes)
        elif "TableName" in params:
            tables[params["TableName"]] = sum(
                self._dynamodb_units(operation, params, parsed, stash).values()
            )
        return tables

    def _dynamodb_units(
        self, operation: str, params: dict[str, Any], parsed: dict[str, Any], stash: dict[str, Any]
    ) -> dict[str, float]:
        if "writes" in stash:
            factor = 2 if operation.startswith("Transact") else 1
            by_table: dict[str, float] = {}
            for table, key, new, before in stash["writes"]:
                after = item_size(new) if new is not None else self._stored_size(table, key)
                units = factor * max(1, math.ceil(max(before, after) / 1024))
                by_table[table] = by_table.get(table, 0) + units
            stash["table_wru"] = by_table
            return {"dynamodb_wru": sum(by_table.values())}
        strong = 1.0 if params.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            size = item_size(parsed.get("Item"))
            return {"dynamodb_rru": strong * max(1, math.ceil(size / 4096))}
        if operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in parsed.get("Items", []))
            return {"dynamodb_rru": strong * max(1, math.ceil(size / 4096))}
        if operation == "TransactGetItems":
            sizes = [item_size(r.get("Item")) for r in parsed.get("Responses", [])]
            return {"dynamodb_rru": sum(2 * max(1, math.ceil(s / 4096)) for s in sizes)}
        if operation == "BatchGetItem":
            items = [i for table in parsed.get("Responses", {}).values() for i in table]
            return {
                "dynamodb_rru": sum(0.5 * max(1, math.ceil(item_size(i) / 4096)) for i in items)
            }
        return {}


def _attributes_size(entry: dict[str, Any]) -> int:
    size = 0
    for name, attribute in (entry.get("MessageAttributes") or {}).items():
        size += len(name) + len(attribute.get("DataType", ""))
        size += len(str(attribute.get("StringValue", attribute.get("BinaryValue", ""))))
    return size
