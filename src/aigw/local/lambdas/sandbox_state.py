"""Module state that Lambda keeps per sandbox, kept per invocation in the local runtime.

On AWS one sandbox runs one invocation at a time, so a library may keep per-invocation
state at module level and be right. Locally every function runs in one process, with
concurrent invocations on threads, and such state is shared between them. Powertools
``Metrics`` is the case our functions meet: its metric, dimension and metadata sets are
class attributes shared by every ``Metrics()`` of the process, so one invocation's flush
could empty the set another was about to publish (``SchemaValidationError: Must contain
at least one metric``, seen failing finalize under load).

:class:`InvocationLocalDict` replaces such a dict: written outside an invocation (a
module's import, ``set_default_dimensions`` at import) it is shared, as a sandbox's init
is; inside an invocation (:func:`invocation_scope`, entered by the Lambda bridge around the
handler call) each invocation sees its own copy of that shared part and its changes stay
its own.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

_SCOPE: contextvars.ContextVar[dict[int, dict[Any, Any]] | None] = contextvars.ContextVar(
    "aigw_invocation_state", default=None
)


class InvocationLocalDict(MutableMapping[Any, Any]):
    """A dict whose contents are per invocation (see the module docstring)."""

    def __init__(self, shared: dict[Any, Any] | None = None) -> None:
        self.shared: dict[Any, Any] = dict(shared or {})

    def _data(self) -> dict[Any, Any]:
        scope = _SCOPE.get()
        if scope is None:
            return self.shared
        data = scope.get(id(self))
        if data is None:
            data = scope[id(self)] = dict(self.shared)
        return data

    def __getitem__(self, key: Any) -> Any:
        return self._data()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._data()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._data()[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __repr__(self) -> str:
        return f"InvocationLocalDict({self._data()!r})"


@contextmanager
def invocation_scope() -> Iterator[None]:
    """Per-invocation state for the block (one handler call)."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


_POWERTOOLS_METRICS_SETS = ("_metrics", "_dimensions", "_metadata", "_default_dimensions")


def install() -> None:
    """Make Powertools Metrics' shared sets per invocation (idempotent). Call before the
    handlers are imported: ``Metrics()`` takes references to the sets when created."""
    from aws_lambda_powertools.metrics import metrics as powertools_metrics

    owner = powertools_metrics.Metrics
    for name in _POWERTOOLS_METRICS_SETS:
        current = getattr(owner, name)
        if not isinstance(current, InvocationLocalDict):
            setattr(owner, name, InvocationLocalDict(current))
