"""DynamoDB update expressions are parsed once per expression, not twice per request.

moto tokenizes and parses an UpdateItem's ``UpdateExpression`` twice for every request (the
handler checks its placeholders, the backend validates and runs it) and once more per
Update of a transaction. The expressions a program sends are few and fixed (their values
come as placeholders), and moto never changes a parsed tree (its validator works on a copy
of it), so a parsed tree is kept per expression and shared.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Final

from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from aigw.local.engine.patches import Attr, Fix

_CACHE_SIZE: Final = 512
_ORIGINAL_MAKE: Final = UpdateExpressionParser.make
_parsed: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def _make(cls: type[UpdateExpressionParser], expression: str) -> Any:
    with _lock:
        tree = _parsed.get(expression)
        if tree is not None:
            _parsed.move_to_end(expression)
            return tree
    tree = _ORIGINAL_MAKE(expression)  # an invalid expression raises, every time
    with _lock:
        _parsed[expression] = tree
        if len(_parsed) > _CACHE_SIZE:
            _parsed.popitem(last=False)
    return tree


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-update-expressions-parsed-once",
        why="Every UpdateItem tokenized and parsed its expression twice; a job's status "
        "writes and its settlement send the same few expressions over and over.",
        upstream_bug="UpdateExpressionParser.make parses the expression on every call, and "
        "update_item calls it in the handler and again in the backend.",
        patches=[Attr(UpdateExpressionParser, "make", classmethod(_make))],
    ),
]
