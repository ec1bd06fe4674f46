"""DynamoDB item sizes, measured without copying the item.

moto checks DynamoDB's 400 KB item limit whenever an attribute is stored (every attribute of
a put item, every action of an UpdateExpression), measuring the whole item each time. For a
map it wraps each value in a new ``DynamoType`` only to ask the wrapper its size, and a
wrapper of a map or list copies the value's whole subtree: measuring a job item with its
results inline copied the results again and again, about half the CPU of building the item.
The size of a value that is a ``DynamoType`` already is its own size, so it is asked.
"""

from __future__ import annotations

from typing import Final

from moto.dynamodb.models.dynamo_type import DynamoType, bytesize

from aigw.local.engine.patches import Attr, Fix

_ORIGINAL_SIZE: Final = DynamoType.size


def _size(self: DynamoType) -> int:
    if self.is_map():
        return sum(
            bytesize(key) + (item.size() if type(item) is DynamoType else DynamoType(item).size())
            for key, item in self.value.items()
        )
    return _ORIGINAL_SIZE(self)


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-item-size-without-copies",
        why="Checking the item size limit copied a nested item's subtree once per stored "
        "attribute: about half the CPU of building a job item.",
        upstream_bug="DynamoType.size measures a map's values through new DynamoType "
        "wrappers, which copy each value's subtree.",
        patches=[Attr(DynamoType, "size", _size)],
    ),
]
