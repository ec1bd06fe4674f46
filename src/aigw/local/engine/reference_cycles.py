"""In-process AWS calls leave no reference cycles behind: their garbage is freed at once.

An object in a reference cycle is not freed when its last outside reference goes; it waits
for Python's cyclic collector, which finds it only by walking every object of its
generation. In a busy ``aigw local`` each text job left about 1,400 such objects (counted
with ``gc.DEBUG_SAVEALL`` over 100 jobs), nearly all from three places that run on every
in-process AWS call:

- moto's request: werkzeug stores a request in its own WSGI environ
  (``environ["werkzeug.request"]``), so the request, its environ, headers, body stream and
  parsed arguments form one cycle, about 25 per job. Nothing moto or werkzeug does reads
  that key (werkzeug's debugger does, and moto serves no debugger).
- botocore's response parser: one is built per response, and it keeps a bound method of
  itself as its blob parser (and hands it to its event-stream parser). Parsers hold no
  per-response state (only what their constructor stores), so one per protocol and set of
  defaults serves every response, as botocore's own factory would if it kept them.
- moto's copy of an UpdateItem's expression tree: nodes link to their parent and the parent
  to its children. The validator makes the copy (twice for an item that does not exist yet,
  the first copy only validated) and is the only reader of the parent links (its traversal
  puts a rewritten node back in its parent's place); normalizing and running the tree read
  children only. The links are cut when the validation ends.

The collector then had those objects to find on top of what lives on: its full
collections, every 2-3 s at 8 clients, paused every thread for 60-90 ms each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from botocore.parsers import ResponseParserFactory
from moto.core.request import Request
from moto.dynamodb.parsing.ast_nodes import Node
from moto.dynamodb.parsing.validators import Validator

from aigw.local.engine.patches import Attr, Fix, Wrap

_ORIGINAL_FROM_PRIMITIVES: Final = vars(Request)["from_primitives"].__func__


def _from_primitives(cls: type[Request], *args: Any, **kwargs: Any) -> Request:
    request = _ORIGINAL_FROM_PRIMITIVES(cls, *args, **kwargs)
    if request.environ.get("werkzeug.request") is request:
        del request.environ["werkzeug.request"]
    return request


_PARSERS: Final = "_aigw_parsers"
_parsers_lock = threading.Lock()


def _create_parser(
    inner: Callable[..., Any], self: ResponseParserFactory, protocol_name: str
) -> Any:
    try:
        key = (protocol_name, tuple(sorted(self._defaults.items())))
        hash(key)
    except TypeError:  # an unhashable default: build one, as botocore does
        return inner(self, protocol_name)
    parser = vars(self).get(_PARSERS, {}).get(key)  # every response: no lock once built
    if parser is None:
        with _parsers_lock:
            parsers = vars(self).setdefault(_PARSERS, {})
            parser = parsers.get(key)
            if parser is None:
                parser = parsers[key] = inner(self, protocol_name)
    return parser


def _unlink(node: Any) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Node):
            current.parent = None
            stack.extend(current.children or ())


def _validate(inner: Callable[..., Node], self: Validator) -> Node:
    tree = None
    try:
        tree = inner(self)
        return tree
    finally:
        # The validator's own copy; a rejected one (an invalid update) goes as well.
        _unlink(self.node_to_validate)
        if tree is not self.node_to_validate:  # a processor replaced the root
            _unlink(tree)


FIXES: Final[list[Fix]] = [
    Fix(
        name="moto-request-not-in-its-environ",
        why="Every in-process AWS call left its request, environ, headers and body as a "
        "reference cycle for the garbage collector to find.",
        upstream_bug="Request.from_primitives builds a werkzeug Request, which stores itself "
        "in its own environ (populate_request) although nothing reads it back.",
        patches=[Attr(Request, "from_primitives", classmethod(_from_primitives))],
    ),
    Fix(
        name="botocore-response-parser-reused",
        why="Every AWS response built a new parser, a reference cycle through the bound "
        "method it keeps as its blob parser.",
        upstream_bug="botocore's ResponseParserFactory.create_parser builds a parser per "
        "response; ResponseParser stores self._default_blob_parser on itself.",
        patches=[Wrap(ResponseParserFactory, "create_parser", _create_parser)],
    ),
    Fix(
        name="dynamodb-update-tree-unlinked",
        why="Every UpdateItem left its copies of the expression tree (nodes linked both "
        "ways) for the garbage collector to find.",
        upstream_bug="moto's update expression nodes keep a parent link that only the "
        "validator reads; its copies of the tree are dropped with the links in place.",
        patches=[Wrap(Validator, "validate", _validate)],
    ),
]
