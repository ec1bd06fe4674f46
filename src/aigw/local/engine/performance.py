"""Performance: boto3 clients, parsed programs and finished threads are not rebuilt or kept."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Final

import boto3
from botocore.handlers import BUILTIN_HANDLERS
from moto.core.models import botocore_stubber
from moto.settings import moto_server_port
from moto.stepfunctions.parser import utils as parser_utils
from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from aigw.local.engine.patches import Attr, Fix, Rebind

_ORIGINAL_BOTO_CLIENT_FOR: Final = boto_client.boto_client_for
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def _cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    # boto3 clients are thread-safe but building one takes milliseconds and uses the
    # (not thread-safe) default session. A client keeps the event handlers it was built
    # with, so a new default session or new built-in handlers (e.g. a local provider
    # registered later) must yield a new client.
    # The original ignores state_credentials (every client uses moto's dummy keys).
    with _clients_lock:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        endpoint = None if botocore_stubber.enabled else moto_server_port()
        key = (session, region, service, endpoint, len(BUILTIN_HANDLERS))
        client = _clients.get(key)
        if client is None:
            stale = [cached for cached in _clients if cached[0] is not session]
            for cached in stale:
                del _clients[cached]
            client = _clients[key] = _ORIGINAL_BOTO_CLIENT_FOR(region, service, state_credentials)
        return client


_PROGRAM_CACHE_SIZE: Final = 128
_programs: OrderedDict[str, EvalComponent] = OrderedDict()
_programs_lock = threading.Lock()


def _prime_heap_keys(component: Any, seen: set[int] | None = None) -> None:
    # EvalComponent.heap_key is assigned lazily; assign every key before the tree is
    # shared by concurrent executions so that no two threads race to set it.
    seen = set() if seen is None else seen
    if id(component) in seen:
        return
    seen.add(id(component))
    if isinstance(component, EvalComponent):
        _ = component.heap_key
    children: Any = ()
    if isinstance(component, list | tuple | set):
        children = component
    elif isinstance(component, dict):
        children = component.values()
    elif isinstance(component, Component):
        children = vars(component).values()
    for child in children:
        _prime_heap_keys(child, seen)


def _cached_evaluation_entrypoint(self: ExecutionWorker) -> EvalComponent:
    # The component tree keeps all evaluation state in the Environment (Map iterations
    # already share one tree across threads), so one parse per definition is enough.
    definition = self._evaluation_details.state_machine_details.definition
    with _programs_lock:
        program = _programs.get(definition)
        if program is not None:
            _programs.move_to_end(definition)
            return program
    program = AmazonStateLanguageParser.parse(definition)[0]
    _prime_heap_keys(program)
    with _programs_lock:
        _programs[definition] = program
        if len(_programs) > _PROGRAM_CACHE_SIZE:
            _programs.popitem(last=False)
    return program


class _LiveThreads(list[threading.Thread]):
    """The engine's TMP_THREADS registry, keeping only threads that have not finished."""

    _lock = threading.Lock()

    def append(self, thread: threading.Thread) -> None:
        with self._lock:
            self[:] = [alive for alive in self if alive.is_alive()]
            super().append(thread)


_ORIGINAL_TMP_THREADS: Final = parser_utils.TMP_THREADS
_LIVE_THREADS: Final = _LiveThreads()


FIXES: Final[list[Fix]] = [
    Fix(
        name="boto-client-cache",
        why="Building a boto3 client per task costs milliseconds per state.",
        upstream_bug="boto_client_for builds a new boto3 client on every call.",
        patches=[Rebind("boto_client_for", _ORIGINAL_BOTO_CLIENT_FOR, _cached_boto_client_for)],
    ),
    Fix(
        name="parsed-program-cache",
        why="Parsing the ASL costs milliseconds per execution.",
        upstream_bug="ExecutionWorker parses the definition again for every execution.",
        patches=[
            Attr(ExecutionWorker, "_get_evaluation_entrypoint", _cached_evaluation_entrypoint)
        ],
    ),
    Fix(
        name="finished-threads-released",
        why="A long-lived runtime must not keep every finished worker thread.",
        upstream_bug="Every engine thread is appended to TMP_THREADS and never removed.",
        patches=[Rebind("TMP_THREADS", _ORIGINAL_TMP_THREADS, _LIVE_THREADS)],
    ),
]
