"""DynamoDB answers carry ``ConsumedCapacity`` and ``ItemCollectionMetrics`` only when asked.

botocore's DynamoDB model documents both as optional parts of an answer: ``ConsumedCapacity``
"is only returned if the ``ReturnConsumedCapacity`` parameter was specified" (absent, it is
``NONE``), and ``ItemCollectionMetrics`` is returned "only if the
``ReturnItemCollectionMetrics`` parameter was specified" (``SIZE``). moto writes them into
some answers whatever the request asked: UpdateItem's ``ConsumedCapacity``, BatchWriteItem's
and TransactWriteItems' ``ConsumedCapacity`` and empty ``ItemCollectionMetrics``,
BatchGetItem's ``ConsumedCapacity``. A ``dynamodb:updateItem`` task then had
``{"ConsumedCapacity": ...}`` as its result, and so in the state's output.

Here a request that did not ask for them gets neither; one that asked keeps moto's values.
(PutItem, DeleteItem, GetItem, Query and Scan already answer so: moto adds their capacity
only when asked.)
"""

from __future__ import annotations

from typing import Any, Final

from moto.dynamodb.responses import DynamoHandler

from aigw.local.engine.patches import Fix, Wrap

#: The handler methods whose answers moto fills in unasked.
_OPERATIONS: Final = ("update_item", "batch_write_item", "batch_get_item", "transact_write_items")


def _asked(body: Any, parameter: str) -> bool:
    return isinstance(body, dict) and body.get(parameter, "NONE") not in ("NONE", None)


def _only_when_asked(inner: Any, self: DynamoHandler) -> Any:
    result = inner(self)
    answer = getattr(result, "result", None)
    if isinstance(answer, dict):
        if not _asked(self.body, "ReturnConsumedCapacity"):
            answer.pop("ConsumedCapacity", None)
        if not _asked(self.body, "ReturnItemCollectionMetrics"):
            answer.pop("ItemCollectionMetrics", None)
    return result


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-capacity-only-when-asked",
        why="A dynamodb:updateItem task's result (and the state's output) carried a "
        "ConsumedCapacity no one asked for, and BatchWriteItem an empty "
        "ItemCollectionMetrics: AWS answers them only when ReturnConsumedCapacity / "
        "ReturnItemCollectionMetrics ask.",
        upstream_bug="DynamoHandler.update_item, batch_write_item, batch_get_item and "
        "transact_write_items write ConsumedCapacity (and ItemCollectionMetrics) into every "
        "answer, whatever ReturnConsumedCapacity and ReturnItemCollectionMetrics say.",
        patches=[Wrap(DynamoHandler, name, _only_when_asked) for name in _OPERATIONS],
    ),
]
