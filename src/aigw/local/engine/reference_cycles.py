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

A fourth cycle is one per Step Functions execution, and it holds the most: the execution
links to its worker, the worker to its communication channel and the channel back to the
execution. Everything the execution kept (its environment, every state's input and
output, its event history) waited for the collector after the execution was dropped,
about 150 dicts per text job. The worker's link to the channel is used once, to report
that the program ended; it is cut once that report is made.

Smaller ones, each a few per job: botocore resolves some endpoint parameters with
``jmespath.search``, which builds an interpreter per search that caches bound methods of
itself; and the endpoint ``aigw local`` serves (for the URLs functions presign, so their S3
calls go through it) runs moto's Flask apps in debug mode, where Flask gives every request
that has no files a class of its own, made for the request and linked to it.

The collector then had those objects to find on top of what lives on: its full
collections, every 2-3 s at 8 clients, paused every thread for 60-90 ms each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from botocore.parsers import ResponseParserFactory
from jmespath import parser as jmespath_parser
from jmespath import visitor as jmespath_visitor
from moto.core.request import Request
from moto.dynamodb.parsing.ast_nodes import Node
from moto.dynamodb.parsing.validators import Validator
from moto.moto_server import threaded_moto_server
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

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


def _terminated(inner: Callable[..., None], self: BaseExecutionWorkerCommunication) -> None:
    inner(self)
    # The worker calls this channel once, when the program ends (its execution logic has
    # already read the attribute); the execution keeps the worker for its history.
    worker = getattr(self.execution, "exec_worker", None)
    if worker is not None and vars(worker).get("_execution_communication") is self:
        worker._execution_communication = None


# An interpreter keeps only its options and a cache of its own visit methods: one serves
# every search made without options, from any thread.
_INTERPRETER: Final = jmespath_visitor.TreeInterpreter()


def _search(self: jmespath_parser.ParsedResult, value: Any, options: Any = None) -> Any:
    interpreter = _INTERPRETER if options is None else jmespath_visitor.TreeInterpreter(options)
    return interpreter.visit(self.parsed, value)


_ORIGINAL_CREATE_BACKEND_APP: Final = threaded_moto_server.create_backend_app


def _create_backend_app(service: Any) -> Any:
    app = _ORIGINAL_CREATE_BACKEND_APP(service)
    # Debug mode's only effect here is Flask's enctype helper (a class per request); an
    # error is a 500 either way, and the served endpoint has no debugger.
    app.debug = False
    return app


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
    Fix(
        name="execution-worker-releases-its-channel",
        why="Every Step Functions execution, with its environment, states' data and event "
        "history, was left in a reference cycle for the garbage collector to find.",
        upstream_bug="Execution -> ExecutionWorker -> ExecutionWorkerCommunication -> "
        "Execution: the worker keeps its channel after reporting the program's end.",
        patches=[Wrap(BaseExecutionWorkerCommunication, "terminated", _terminated)],
    ),
    Fix(
        name="jmespath-interpreter-reused",
        why="Some AWS calls (botocore's endpoint rules read operation context parameters "
        "with jmespath) left an interpreter in a reference cycle per search.",
        upstream_bug="jmespath's ParsedResult.search builds a TreeInterpreter per search; "
        "it caches bound methods of itself.",
        patches=[Attr(jmespath_parser.ParsedResult, "search", _search)],
    ),
    Fix(
        name="served-endpoint-not-in-debug-mode",
        why="Every request to the served AWS endpoint (the functions' S3 calls) made a class "
        "of its own and left it, with the request, in a reference cycle.",
        upstream_bug="moto's create_backend_app sets Flask's debug mode, in which Flask "
        "attaches a new multidict subclass to each request's files.",
        patches=[Attr(threaded_moto_server, "create_backend_app", _create_backend_app)],
    ),
]
