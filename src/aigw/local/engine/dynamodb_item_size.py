"""DynamoDB item sizes, measured without copying the item.

moto checks DynamoDB's 400 KB item limit whenever an attribute is stored (every attribute of
a put item, every action of an UpdateExpression), measuring the whole item each time. For a
map it wraps each value in a new ``DynamoType`` only to ask the wrapper its size, and a
wrapper of a map or list copies the value's whole subtree: measuring a job item with its
results inline copied the results again and again, about half the CPU of building the item.
The size of a value that is a ``DynamoType`` already is its own size, so it is asked.

Building an item (every put, every transaction's Put, every item a stream record carries)
stores its attributes one by one, and each store measured all the attributes stored before
it again: quadratic in the attribute count, the job's results measured once per attribute
after them. The item is new and none of its values changes while it is built, so the sizes
are added up as they come: the same check, failing at the same attribute.
"""

from __future__ import annotations

from typing import Any, Final

from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict, bytesize

from aigw.local.engine.patches import Attr, Fix

_ORIGINAL_SIZE: Final = DynamoType.size


def _size(self: DynamoType) -> int:
    if self.is_map():
        return sum(
            bytesize(key) + (item.size() if type(item) is DynamoType else DynamoType(item).size())
            for key, item in self.value.items()
        )
    return _ORIGINAL_SIZE(self)


#: moto's LimitedSizeDict refuses a store that takes the item over this many bytes.
_ITEM_LIMIT: Final = 405000


def _item_init(
    self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]
) -> None:
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = stored = LimitedSizeDict()
    size = 0
    for key, value in attrs.items():
        attribute = DynamoType(value)
        # moto's LimitedSizeDict.__setitem__: the attributes stored so far plus this one.
        size += bytesize(key) + attribute.size()
        if size > _ITEM_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(stored, key, attribute)


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-item-size-without-copies",
        why="Checking the item size limit copied a nested item's subtree once per stored "
        "attribute: about half the CPU of building a job item.",
        upstream_bug="DynamoType.size measures a map's values through new DynamoType "
        "wrappers, which copy each value's subtree.",
        patches=[Attr(DynamoType, "size", _size)],
    ),
    Fix(
        name="dynamodb-item-built-measuring-each-attribute-once",
        why="Building an item measured every attribute stored before each new one: a job "
        "item's results were measured once per attribute after them, on every put.",
        upstream_bug="Item.__init__ stores attributes one by one in a LimitedSizeDict, "
        "whose __setitem__ sums the sizes of everything already stored.",
        patches=[Attr(Item, "__init__", _item_init)],
    ),
]
