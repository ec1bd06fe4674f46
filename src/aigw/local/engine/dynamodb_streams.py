"""Each DynamoDB stream record has its own sequence number, increasing within its shard.

DynamoDB gives every stream record a sequence number (a string of 21 to 40 digits) that
grows within the shard (the DynamoDB Streams API reference, ``StreamRecord`` and
``SequenceNumberRange``); a stream consumer checkpoints on it, a function reporting batch
item failures names a record by it, and an on-failure destination names a batch by its first
and last. moto numbers a record by its position in the shard's buffer
(``StreamShard.add``: ``len(self.items) + starting_sequence_number``), and empties the buffer
each time an event source mapping takes its records, so on a table with a consumer every
record had the shard's starting sequence number.

A shard now counts its records: each one gets the next number, whether or not the buffer was
emptied. moto's DynamoDB Streams reads (``GetShardIterator``, ``GetRecords``) find a record
in the buffer by the same arithmetic; they now read it relative to the first record still in
the buffer, and ``LATEST`` is the number the next record will have.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from moto.dynamodb.models.table import StreamRecord, StreamShard, Table
from moto.dynamodbstreams.models import ShardIterator

from aigw.local.engine.patches import Fix, Wrap

#: The number a shard gives its next record (kept on the shard).
_NEXT: Final = "_aigw_next_sequence_number"


def _next_number(shard: StreamShard) -> int:
    return int(getattr(shard, _NEXT, shard.starting_sequence_number))


def _record_numbered(
    inner: Callable[..., None],
    self: StreamRecord,
    table: Table,
    stream_type: str,
    event_name: str,
    old: Any,
    new: Any,
    seq: int,
) -> None:
    # Only StreamShard.add makes records, for the table's current shard, under the
    # DynamoDB lock (dynamodb_transactions): numbering here is numbering in the shard.
    shard = table.stream_shard
    if shard is not None:
        seq = _next_number(shard)
        setattr(shard, _NEXT, seq + 1)
    inner(self, table, stream_type, event_name, old, new, seq)


def _first_buffered(shard: StreamShard) -> int:
    """The number of the first record still in the shard's buffer (of the next one if the
    buffer is empty)."""
    if shard.items:
        return int(shard.items[0].record["dynamodb"]["SequenceNumber"])
    return _next_number(shard)


def _get(inner: Callable[..., list[Any]], self: StreamShard, start: int, quantity: int) -> Any:
    # moto reads items[start - starting_sequence_number]; records already taken by a
    # mapping are gone, so a position before the buffer reads from its start.
    position = max(int(start) - _first_buffered(self), 0)
    return inner(self, position + self.starting_sequence_number, quantity)


def _iterator_init(inner: Callable[..., None], self: ShardIterator, *args: Any, **kw: Any) -> None:
    inner(self, *args, **kw)
    if self.shard_iterator_type == "LATEST":
        self.sequence_number = _next_number(self.stream_shard)


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-stream-sequence-numbers",
        why="Every stream record must have its own sequence number, increasing in its "
        "shard: consumers checkpoint on it, ReportBatchItemFailures names a record by it.",
        upstream_bug="StreamShard.add numbers a record len(items) + starting_sequence_number, "
        "and the items are emptied each time a mapping takes them: every record delivered "
        "to a function had the same SequenceNumber.",
        patches=[
            Wrap(StreamRecord, "__init__", _record_numbered),
            Wrap(StreamShard, "get", _get),
            Wrap(ShardIterator, "__init__", _iterator_init),
        ],
    ),
]
