"""DynamoDB transactions: all or nothing, without copying tables."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

from aigw.local.engine.patches import Attr, Fix


class _TableLocks:
    """One lock per table, held for every DynamoDB request of the process on it, reads
    included: a transaction's checks and writes see no other write in between, and a read
    serializes an item no other thread is changing (DynamoDB serializes conflicting writes
    and reads whole items; moto's threads do neither: an UpdateItem changes the stored item
    in place). Requests on different tables never conflict, so they do not wait for each
    other (with one lock for all, a notifier's read of its connections queued behind every
    write of the jobs table). A request on several tables takes their locks in name order;
    one whose tables are not named (ListTables, PartiQL) takes every table's."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}

    def _lock(self, table: str) -> threading.RLock:
        with self._guard:
            lock = self._locks.get(table)
            if lock is None:
                lock = self._locks[table] = threading.RLock()
            return lock

    @contextmanager
    def held(self, tables: Iterable[str] | None) -> Iterator[None]:
        if tables is None:
            with self._guard:
                tables = list(self._locks)
        locks = [self._lock(table) for table in sorted(set(tables))]
        for lock in locks:
            lock.acquire()
        try:
            yield
        finally:
            for lock in reversed(locks):
                lock.release()


_TABLES = _TableLocks()
_TRANSACTION_OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})


def _transaction_target(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> Any:
    if op_type == "Put":
        table = backend.get_table(op["TableName"])
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return op["Key"]


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """TransactWriteItems: every condition is checked first, under the write lock, and the
    writes are made only if all hold, so a cancelled transaction writes nothing (no stream
    record either) and no table is copied."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _TABLES.held(_transaction_tables(transact_items)):
        targets: set[tuple[str, str]] = set()
        errors: list[tuple[str | None, str | None, Any]] = []
        plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(item.items()))
            original: Any = None
            try:
                if op_type not in _TRANSACTION_OPERATIONS:
                    raise ValueError("Unsupported transaction operation")
                key = _transaction_target(self, op_type, op)
                target = (str(op["TableName"]), str(dict(sorted(key.items()))))
                if target in targets:
                    raise MultipleTransactionsException()
                targets.add(target)
                current = self.get_item(op["TableName"], key)
                condition = op.get("ConditionExpression")
                if condition is not None:
                    check = get_filter_expression(
                        condition,
                        op.get("ExpressionAttributeNames"),
                        op.get("ExpressionAttributeValues"),
                    )
                    if not check.expr(current):
                        wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                        if wants_old and current:
                            original = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original)
                plan.append((op_type, op, key))
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as error:
                errors.append(("ConditionalCheckFailed", str(error.message), original))
            except Exception as error:
                errors.append((type(error).__name__, str(error), original))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        for op_type, op, key in plan:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"])
            elif op_type == "Delete":
                self.delete_item(op["TableName"], key)
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )


def _transaction_tables(items: Any) -> list[str] | None:
    """The tables of TransactItems (None if one is not named: then every table's lock)."""
    tables = []
    for item in items if isinstance(items, list) else [None]:
        operations = list(item.values()) if isinstance(item, dict) else [None]
        for operation in operations:
            table = operation.get("TableName") if isinstance(operation, dict) else None
            if not isinstance(table, str):
                return None
            tables.append(table)
    return tables


def _request_tables(params: Any) -> list[str] | None:
    """The tables a request reads or writes, from its parameters; None when it names none
    (its own lock then is every table's)."""
    if not isinstance(params, dict):
        return None
    if isinstance(params.get("TableName"), str):
        return [params["TableName"]]
    if isinstance(params.get("RequestItems"), dict):  # BatchGetItem, BatchWriteItem
        return [str(table) for table in params["RequestItems"]]
    if "TransactItems" in params:
        return _transaction_tables(params["TransactItems"])
    return None


def _serialized_request(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def call_action(self: DynamoHandler) -> Any:
        with _TABLES.held(_request_tables(getattr(self, "params", None))):
            return original(self)

    return call_action


def _serialized_write(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def write(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
        with _TABLES.held([table_name]):
            return original(self, table_name, *args, **kwargs)

    return write


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-transactions",
        why="TransactWriteItems must be all or nothing while other threads write: the "
        "gateway creates every job (and its idempotency record) in one transaction. A read "
        "must not see an item while another thread updates it: DELETE /jobs/{id} read a "
        "job the workflow was updating and failed with a 500. Both hold per table: requests "
        "on different tables do not wait for each other.",
        upstream_bug="transact_write_items deep-copies every table it touches before "
        "writing (O(items), and 'dictionary changed size during iteration' when another "
        "thread writes meanwhile), applies items one by one (a cancelled transaction still "
        "sends stream records) and rolls back by putting the copy back, losing writes other "
        "threads made in between. Reads are not serialized with writes: GetItem and Query "
        "serialize the stored item while UpdateItem changes it in place ('dictionary "
        "changed size during iteration').",
        patches=[
            Attr(DynamoHandler, "call_action", _serialized_request(DynamoHandler.call_action)),
            Attr(DynamoDBBackend, "transact_write_items", _transact_write_items),
            *(
                Attr(DynamoDBBackend, name, _serialized_write(getattr(DynamoDBBackend, name)))
                for name in ("put_item", "update_item", "delete_item")
            ),
        ],
    ),
]
