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

The Powertools event handler and Logger keep per-request state the same way, and sharing it
is worse than a lost metric: the resolver puts the request it is serving on a class
attribute (``BaseRouter.current_event``, ``lambda_context``) and its path parameters in the
app's ``context`` dict, and the Logger's formatter keeps the request id among its keys. Two
concurrent API requests could read each other's event (its authorizer's tenant) and path
parameters: a job submitted by one tenant was recorded under another, when our API was
routed by the event handler. Those attributes are made per invocation with
:class:`InvocationLocalAttribute`, for the functions of any template that use them (our API
now routes with ``functions/api/rest_routing.py``, which hands the request to the handler).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Final

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


_MISSING: Final = object()


class InvocationLocalAttribute:
    """A class attribute (a data descriptor) whose value is per invocation, like
    :class:`InvocationLocalDict`: set outside an invocation it is shared; set inside one it
    is that invocation's; a shared ``dict`` is copied on first use inside an invocation, so
    changes to it stay the invocation's. Per instance, or one value for the whole process
    (``per_instance=False``, for state a library keeps on a class)."""

    def __init__(self, name: str, *, per_instance: bool = True) -> None:
        self.name = name
        self.per_instance = per_instance
        self._slot = f"_aigw_shared_{name}"
        self._process_value: Any = _MISSING

    def _key(self, holder: object | None) -> tuple[int, str]:
        return (id(holder) if holder is not None else id(self), self.name)

    def _shared(self, holder: object | None) -> Any:
        if holder is None:
            return self._process_value
        return holder.__dict__.get(self._slot, _MISSING)

    def _store(self, holder: object | None, value: Any) -> None:
        if holder is None:
            self._process_value = value
        else:
            holder.__dict__[self._slot] = value

    def _holder(self, obj: object | None) -> object | None:
        return obj if self.per_instance else None

    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None and self.per_instance:
            return self
        holder = self._holder(obj)
        scope = _SCOPE.get()
        key = self._key(holder)
        if scope is not None and key in scope:
            return scope[key]
        value = self._shared(holder)
        if value is _MISSING:
            raise AttributeError(self.name)
        if scope is not None and isinstance(value, dict):
            value = scope[key] = dict(value)
        return value

    def __set__(self, obj: object | None, value: Any) -> None:
        self.assign(self._holder(obj), value)

    def assign(self, holder: object | None, value: Any) -> None:
        scope = _SCOPE.get()
        if scope is None or self._shared(holder) is _MISSING:
            self._store(holder, value)  # what an object made inside an invocation keeps
        if scope is not None:
            scope[self._key(holder)] = value


def _class_assignments_per_invocation(owner: type) -> None:
    """Route ``owner.attribute = value`` to the attribute's :class:`InvocationLocalAttribute`
    (a class's own attributes are set through its metaclass, not a descriptor)."""
    base = type(owner)
    if getattr(base, "_aigw_invocation_local", False):
        return

    def __setattr__(cls: type, name: str, value: Any) -> None:
        attribute = owner.__dict__.get(name)
        if cls is owner and isinstance(attribute, InvocationLocalAttribute):
            attribute.assign(None, value)
        else:
            base.__setattr__(cls, name, value)

    meta = base(
        f"InvocationLocal{base.__name__}",
        (base,),
        {"__setattr__": __setattr__, "_aigw_invocation_local": True},
    )
    owner.__class__ = meta


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
    """Make Powertools Metrics' shared sets, the event handler's request and the Logger's
    keys per invocation (idempotent). Call before the handlers are imported: ``Metrics()``
    takes references to the sets when created."""
    from aws_lambda_powertools.metrics import metrics as powertools_metrics

    owner = powertools_metrics.Metrics
    for name in _POWERTOOLS_METRICS_SETS:
        current = getattr(owner, name)
        if not isinstance(current, InvocationLocalDict):
            setattr(owner, name, InvocationLocalDict(current))
    _install_event_handler()
    _install_logger()


def _install_event_handler() -> None:
    from aws_lambda_powertools.event_handler import api_gateway

    router = api_gateway.BaseRouter
    for name in ("current_event", "lambda_context"):
        if not isinstance(router.__dict__.get(name), InvocationLocalAttribute):
            type.__setattr__(router, name, InvocationLocalAttribute(name, per_instance=False))
    _class_assignments_per_invocation(router)
    resolver = api_gateway.ApiGatewayResolver
    if not isinstance(resolver.__dict__.get("context"), InvocationLocalAttribute):
        resolver.context = InvocationLocalAttribute("context")  # type: ignore[assignment]


def _install_logger() -> None:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    if not isinstance(
        LambdaPowertoolsFormatter.__dict__.get("log_format"), InvocationLocalAttribute
    ):
        LambdaPowertoolsFormatter.log_format = InvocationLocalAttribute("log_format")  # type: ignore[attr-defined]
