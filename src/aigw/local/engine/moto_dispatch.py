"""moto's request dispatch: an action is looked up on its response class, not listed, and
a backend's URL table is built once.

Every in-process AWS call (about 25 per text job) reaches ``BaseResponse.call_action``,
which asked ``inspect.getmembers`` for every function of the response class (hundreds of
attributes, each fetched and tested) only to ask whether the action's method is among
them: about a tenth of a small GetItem's CPU. Whether a name is among a class's functions
is answered by looking that one name up on the class, which is what this does.

Before that, moto's request matcher asks the service's backend for its URL table, which
the backend builds again on every request from its ``urls`` module (formatting every path
with every URL base, twice, and reading an environment variable per base). The table
depends only on the backend's class and that variable (ISO regions), so it is built once
for each.

Each request also reaches a service's backends through ``BackendDict[account]`` several
times (its own, IAM's for the account's visit, ...), and each look-up took moto's global
backend lock, listed the dict's accounts and compared the dict with every registered
``BackendDict`` through Python's ``__eq__``: a few microseconds each, growing with the
services in use. When the account is there and the dict is registered (by identity, which
is where ``__eq__`` would answer first) there is nothing to create, and nothing is done.

And each answer gets a request id of 52 letters and digits, which moto drew one character
at a time through ``Random.choice`` (about 17 us, 3% of a small call): they are drawn
at once, from the same seedable generator and the same characters.
"""

from __future__ import annotations

import inspect
import string
import threading
from collections.abc import Callable, Iterator
from typing import Any, Final

from moto.core import base_backend, responses
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.utils import method_names_from_class
from moto.moto_api._internal import mock_random
from moto.utilities import aws_headers

from aigw.local.engine.patches import Attr, Fix, Wrap


class _FunctionNames:
    """The names of ``owner``'s functions, as ``method_names_from_class`` lists them, for
    ``name in ...`` without listing them."""

    def __init__(self, owner: object) -> None:
        self.owner = owner

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self.owner, name, None))

    def __iter__(self) -> Iterator[str]:
        return iter(method_names_from_class(self.owner))


_ORIGINAL_URLS: Final[Callable[[BaseBackend], dict[str, Any]]] = vars(BaseBackend)["urls"].fget
_url_tables: dict[tuple[type, bool], dict[str, Any]] = {}
_url_tables_lock = threading.Lock()


def _urls(self: BaseBackend) -> dict[str, Any]:
    key = (type(self), base_backend.enable_iso_regions())
    with _url_tables_lock:
        table = _url_tables.get(key)
        if table is None:
            table = _url_tables[key] = _ORIGINAL_URLS(self)
    return dict(table)  # each caller its own, as before


def _account_backend(inner: Callable[..., None], self: BackendDict, account_id: str) -> None:
    if dict.__contains__(self, account_id) and id(self) in map(id, BackendDict._instances):
        return
    inner(self, account_id)


_ID_CHARACTERS: Final = string.ascii_letters + string.digits
_ID_LENGTH: Final = 52


def _request_id(headerdict: dict[str, Any] | None = None) -> str:
    # moto's gen_amzn_requestid_long, with its 52 characters drawn in one call.
    request_id = "".join(mock_random.choices(_ID_CHARACTERS, k=_ID_LENGTH))
    if headerdict is not None and isinstance(headerdict, dict):
        headerdict.update({"x-amzn-requestid": request_id})
    return request_id


FIXES: Final[list[Fix]] = [
    Fix(
        name="moto-action-lookup",
        why="Listing a response class's functions on every request cost about a tenth of a "
        "small in-process AWS call.",
        upstream_bug="BaseResponse.call_action calls method_names_from_class "
        "(inspect.getmembers) on every request to test one name.",
        patches=[Attr(responses, "method_names_from_class", _FunctionNames)],
    ),
    Fix(
        name="backend-url-table-built-once",
        why="Every in-process AWS call rebuilt its backend's URL table (every path formatted "
        "with every URL base, an environment read per base).",
        upstream_bug="BaseBackend.urls is a property that builds the table on each access, "
        "and the request matcher reads it on every request.",
        patches=[Attr(BaseBackend, "urls", property(_urls))],
    ),
    Fix(
        name="backend-dict-lookup-without-the-lock",
        why="Each look-up of a service's backends for an account (several per in-process "
        "call) took a global lock and compared the dict with every registered one through "
        "a Python __eq__.",
        upstream_bug="BackendDict.__getitem__ calls _create_account_specific_backend, which "
        "lists the accounts and tests list membership by __eq__ under backend_lock, even "
        "when there is nothing to create.",
        patches=[Wrap(BackendDict, "_create_account_specific_backend", _account_backend)],
    ),
    Fix(
        name="request-id-drawn-at-once",
        why="Every in-process answer's request id was drawn one character at a time, "
        "52 calls of Random.choice: about 3% of a small call.",
        upstream_bug="gen_amzn_requestid_long calls MotoRandom.get_random_string, which "
        "calls choice() once per character.",
        patches=[
            Attr(responses, "gen_amzn_requestid_long", _request_id),
            Attr(aws_headers, "gen_amzn_requestid_long", _request_id),
        ],
    ),
]
