"""DynamoDB Query on a table's key reads one partition, not the whole table.

moto answers every Query by sorting all the table's items and keeping those of the asked
partition, so a query's cost grows with the table: a notifier looking up one job's
WebSocket subscribers, or a tenant listing its jobs, gets slower with every job the process
has seen. DynamoDB reads only the partition. A Query on the table itself (not an index) now
sees only the asked partition's items; everything else (sort order, ranges, filters,
pagination, projections) is moto's own code.
"""

from __future__ import annotations

from typing import Any, Final

from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

from aigw.local.engine.patches import Attr, Fix

_ORIGINAL: Final = Table.query


class _OnePartition:
    """The table, as far as Query is concerned, holding only one partition's items."""

    def __init__(self, table: Table, hash_key: Any) -> None:
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Item]:
        # .get: the table's items are a defaultdict, and a lookup must not add a partition.
        partition = self._table.items.get(self._hash_key)
        if partition is None:
            return []
        # Query sorts what it gets by range key itself.
        return list(partition.values()) if self._table.range_key_attr else [partition]


#: Table.query's parameters before index_name (moto's backend passes them by position).
_BEFORE_INDEX_NAME: Final = 6


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = args[_BEFORE_INDEX_NAME] if len(args) > _BEFORE_INDEX_NAME else None
    if index_name or kwargs.get("index_name") or hash_key is None:
        return _ORIGINAL(self, hash_key, *args, **kwargs)
    table: Any = _OnePartition(self, hash_key)
    return _ORIGINAL(table, hash_key, *args, **kwargs)


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-query-one-partition",
        why="A Query's cost must not grow with the rest of the table (job listings, a "
        "notifier's subscriber lookup).",
        upstream_bug="Table.query sorts every item of the table and filters by partition.",
        patches=[Attr(Table, "query", _query)],
    ),
]
