"""DynamoDB items held with their repeated values shared.

moto keeps an item as a tree of ``DynamoType`` objects built from the request's JSON: every
attribute name is a new string and every value, down to the last ``{"N": "10"}``, a new
object with a new string. A job item repeats most of its values (its cost estimate and its
usage list the same services, operations, units and prices) and every item repeats its
attribute names, so a long-running ``aigw local`` held each job's few KB of data as about
25 KiB of objects (docs/benchmarks.md, memory growth).

After each write (a put, an update expression or legacy ``AttributeUpdates``, whichever
request makes them: PutItem, UpdateItem, transactions, batch writes) the stored item's
attribute names are interned and its scalar values (``S`` and ``N`` up to 128 characters,
``BOOL``, ``NULL``) are shared with equal ones already held. moto never changes a scalar
``DynamoType`` in place (an update replaces it, a number ``ADD`` makes a new one); maps,
lists and sets are changed in place and are never shared. What an item reads
back, and how conditions, updates and queries see it, does not change.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Final

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.executors import UpdateExpressionExecutor

from aigw.local.engine.patches import Fix, Wrap

_SCALARS: Final = frozenset({"S", "N", "BOOL", "NULL"})
_STRINGS: Final = frozenset({"S", "N"})
#: Longer strings are rarely repeated (job ids are 26 characters, results kilobytes).
_SHARED_LENGTH: Final = 128
#: Bounded: when full it starts over (values already shared stay shared). Most values are
#: ids and timestamps met once, the repeated ones come back at the next job.
_SHARED_VALUES: Final = 2048
_shared: dict[tuple[str, Any], DynamoType] = {}
_intern = sys.intern


def _compact(value: DynamoType) -> DynamoType:
    kind = value.type
    if kind in _SCALARS:
        scalar = value.value
        if kind in _STRINGS and (type(scalar) is not str or len(scalar) > _SHARED_LENGTH):
            return value
        key = (kind, scalar)
        held = _shared.get(key)
        if held is not None:
            return held
        if len(_shared) >= _SHARED_VALUES:
            _shared.clear()
        return _shared.setdefault(key, value)
    if kind == "M":
        _compact_map(value.value)
    elif kind == "L":
        values = value.value
        for index, member in enumerate(values):
            if type(member) is DynamoType:
                values[index] = _compact(member)
    return value


def _compact_map(attributes: dict[str, Any]) -> None:
    if any(_intern(name) is not name for name in attributes):
        named = [(_intern(name), member) for name, member in attributes.items()]
        attributes.clear()
        dict.update(attributes, named)  # LimitedSizeDict re-measures the item per key set
    for name, member in attributes.items():
        if type(member) is DynamoType:
            shared = _compact(member)
            if shared is not member:
                dict.__setitem__(attributes, name, shared)


def compact_item(item: Item | None) -> None:
    """Share ``item``'s attribute names and scalar values (under its table's lock)."""
    if item is None:
        return
    item.hash_key = _compact(item.hash_key)
    if item.range_key is not None:
        item.range_key = _compact(item.range_key)
    _compact_map(item.attrs)


def _put_item(inner: Callable[..., Item], self: Table, *args: Any, **kwargs: Any) -> Item:
    item = inner(self, *args, **kwargs)
    compact_item(item)
    return item


def _execute_update(
    inner: Callable[..., None], self: UpdateExpressionExecutor, node: Any = None
) -> None:
    inner(self, node)
    if node is None:  # the whole expression (it runs its actions through itself)
        compact_item(self.item)


def _attribute_updates(inner: Callable[..., None], self: Item, *args: Any, **kwargs: Any) -> None:
    inner(self, *args, **kwargs)
    compact_item(self)


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-items-share-values",
        why="A long-running runtime held each job item's few KB as about 25 KiB of objects: "
        "every attribute name and every repeated value its own copy.",
        upstream_bug="Item keeps a new DynamoType, with a new string, for every attribute "
        "name and value of every request.",
        patches=[
            # Not DynamoDBBackend's put_item and update_item: dynamodb-transactions sets
            # those, and setting them again would drop a wrapper of them.
            Wrap(Table, "put_item", _put_item),
            Wrap(UpdateExpressionExecutor, "execute", _execute_update),
            Wrap(Item, "update_with_attribute_updates", _attribute_updates),
        ],
    ),
]
