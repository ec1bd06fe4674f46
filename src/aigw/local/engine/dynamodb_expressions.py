"""DynamoDB update expressions are parsed once per expression, not twice per request.

moto tokenizes and parses an UpdateItem's ``UpdateExpression`` twice for every request (the
handler checks its placeholders, the backend validates and runs it) and once more per
Update of a transaction. The expressions a program sends are few and fixed (their values
come as placeholders), and moto never changes a parsed tree (its validator works on a copy
of it), so a parsed tree is kept per expression and shared.

That copy was the next cost: the validator deep-copies the tree (nodes linked both ways)
for every UpdateItem and every Update of a transaction, with ``copy.deepcopy`` walking each
node in Python. A tree's snapshot (pickled once, the first time it is copied) is loaded
instead: the same independent tree, made in C, about ten times faster.

The validator then walks the copy once per check (ten of them) and, at each node, rebuilt
the check's table of node classes and matched the node against it with ``isinstance`` on
abstract classes: about half of an UpdateItem's time for a dozen-action expression. A walk
now builds the table once and remembers, per node class, which entry (if any) it matches.
The order of visits, the hooks called and the nodes replaced are moto's own.

Two of those checks (at most one clause of each kind; no two actions on one path) look at
every node of the tree and, at each, collect the clauses below it again: quadratic in the
expression's length. Neither changes the tree, so while one of them walks it, the clauses
found below a node are kept for that walk and reused by the node above.

Every attribute name an expression uses by name (``updated_at``, not ``#updated``) is
checked against DynamoDB's 573 reserved words, which moto keeps as a list and scans: about
7 us a name, in update and condition expressions alike. The list stays a list, and answers
``in`` from a set of the same words.
"""

from __future__ import annotations

import copy
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import (
    DepthFirstTraverser,
    Expression,
    Node,
    UpdateExpressionFunction,
)
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords
from moto.dynamodb.parsing.validators import ActionCountValidator, OverlappingPathsValidator

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


_SNAPSHOT: Final = "_aigw_snapshot"


def _deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    if memo is not None or not isinstance(value, Node):
        return copy.deepcopy(value, memo)
    snapshot = vars(value).get(_SNAPSHOT)
    if snapshot is None:
        # Taken before the attribute is set, so the copies do not carry it.
        snapshot = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        setattr(value, _SNAPSHOT, snapshot)
    return pickle.loads(snapshot)


#: (check class, node class) -> the entry of the check's table the node matches, or None.
_matches: dict[tuple[type, type], Any] = {}
_NO_HOOK: Final = DepthFirstTraverser.pre_processing_of_child
#: node class -> (is a Node, find_clauses descends into it)
_kinds: dict[type, tuple[bool, bool]] = {}
#: The checks that only read the tree: the clauses below a node hold for their whole walk.
_READ_ONLY_CHECKS: Final = frozenset({ActionCountValidator, OverlappingPathsValidator})
_walk = threading.local()


def _kind(node_class: type) -> tuple[bool, bool]:
    kind = _kinds.get(node_class)
    if kind is None:
        kind = _kinds[node_class] = (
            issubclass(node_class, Node),
            issubclass(node_class, (Expression, UpdateExpressionFunction)),
        )
    return kind


def _collect_clauses(node: Node, clause_types: Any) -> list[Any]:
    # moto's Node.find_clauses, with its isinstance() checks answered per class.
    clauses: list[Any] = []
    for child in node.children or []:
        child_class = type(child)
        if child_class in clause_types:
            clauses.append(child)
        elif _kind(child_class)[1]:
            clauses.extend(child.find_clauses(clause_types))
    return clauses


def _find_clauses(self: Node, clause_types: Any) -> list[Any]:
    found = getattr(_walk, "clauses", None)
    if found is None:
        return _collect_clauses(self, clause_types)
    key = (id(self), tuple(clause_types))  # the nodes outlive the walk: ids stay theirs
    clauses = found.get(key)
    if clauses is None:
        clauses = found[key] = _collect_clauses(self, clause_types)
    return list(clauses)


def _match(check: type, table: dict[type, Any], node_class: type) -> Any:
    key = (check, node_class)
    try:
        return _matches[key]
    except KeyError:
        # As moto's process(): the first entry the node is an instance of, in table order.
        found = next((entry for entry in table if issubclass(node_class, entry)), None)
        _matches[key] = found
        return found


def _visit(
    check: type,
    table: dict[type, Any],
    hook: Callable[[Any, int], None] | None,
    node: Any,
    child_id: int,
) -> Any:
    # A function of its own, not a closure calling itself: that would be a cycle (the
    # function, its cell, the check's table of bound methods and the check) left for the
    # collector by every walk, ten walks per UpdateItem.
    if not _kind(type(node))[0]:
        return node
    parent_node = node.parent
    if node.children is not None:
        for i, child_node in enumerate(node.children):
            if hook is not None:
                hook(node, i)
            _visit(check, table, hook, child_node, i)
    entry = _match(check, table, type(node))
    if entry is not None:
        node = table[entry](node)
        node.parent = parent_node
        if parent_node:
            parent_node.children[child_id] = node
    return node


def _traverse(self: DepthFirstTraverser, root: Any) -> Any:
    check = type(self)
    table = self._processing_map()  # bound methods of this check; the classes never vary
    hook = None if check.pre_processing_of_child is _NO_HOOK else self.pre_processing_of_child
    if check not in _READ_ONLY_CHECKS or getattr(_walk, "clauses", None) is not None:
        return _visit(check, table, hook, root, -1)
    _walk.clauses = {}
    try:
        return _visit(check, table, hook, root, -1)
    finally:
        _walk.clauses = None


class _Words(list[str]):
    """moto's list of reserved words, answering ``in`` from a set of them."""

    def __init__(self, words: list[str]) -> None:
        super().__init__(words)
        self._set = frozenset(words)

    def __contains__(self, word: object) -> bool:
        return word in self._set


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-update-expressions-parsed-once",
        why="Every UpdateItem tokenized and parsed its expression twice; a job's status "
        "writes and its settlement send the same few expressions over and over.",
        upstream_bug="UpdateExpressionParser.make parses the expression on every call, and "
        "update_item calls it in the handler and again in the backend.",
        patches=[Attr(UpdateExpressionParser, "make", classmethod(_make))],
    ),
    Fix(
        name="dynamodb-update-expressions-copied-from-a-snapshot",
        why="Deep-copying an update expression's tree node by node cost about half a "
        "millisecond per UpdateItem, under the DynamoDB lock.",
        upstream_bug="The expression validator copies the parsed tree with copy.deepcopy "
        "for every request.",
        patches=[Attr(validators, "deepcopy", _deepcopy)],
    ),
    Fix(
        name="dynamodb-update-expression-checks-match-node-classes-once",
        why="Validating an UpdateItem's expression matched every node of the tree against "
        "each check's table of abstract node classes, rebuilt at every node, and two checks "
        "collected the clauses below every node again: about half of an UpdateItem with a "
        "dozen actions, the job's settlement write among them.",
        upstream_bug="DepthFirstTraverser calls nodes_to_be_processed() (which rebuilds "
        "_processing_map()) and isinstance() against abstract classes for every node; "
        "ActionCountValidator and OverlappingPathsValidator call find_clauses at every node.",
        patches=[
            Attr(DepthFirstTraverser, "traverse", _traverse),
            Attr(Node, "find_clauses", _find_clauses),
        ],
    ),
    Fix(
        name="dynamodb-reserved-words-looked-up-in-a-set",
        why="Each attribute named in an update or condition expression was looked up in a "
        "list of 573 reserved words, about 7 us a name.",
        upstream_bug="ReservedKeywords.get_reserved_keywords returns a list, and callers "
        "test membership with `in`.",
        patches=[
            Attr(
                ReservedKeywords,
                "KEYWORDS",
                _Words(ReservedKeywords._get_reserved_keywords()),
            )
        ],
    ),
]
