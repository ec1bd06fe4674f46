"""The patch primitives every engine fix is made of: small, reversible, revertible."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol


class Patch(Protocol):
    def apply(self) -> None: ...

    def revert(self) -> None: ...


_MISSING: Final = object()


class Attr:
    """Set one attribute of a class or module; revert restores it, or removes it if new."""

    def __init__(self, owner: Any, name: str, new: Any) -> None:
        self.owner, self.name, self.new = owner, name, new
        self._saved: Any = _MISSING

    def apply(self) -> None:
        self._saved = vars(self.owner).get(self.name, _MISSING)
        setattr(self.owner, self.name, self.new)

    def revert(self) -> None:
        if self._saved is _MISSING:
            delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self._saved)


class Wrap:
    """Wrap a method (or staticmethod) with ``wrapper(inner, *args, **kwargs)``.

    Several fixes may wrap the same method, and a canary reverts one of them alone: so the
    wrapper is installed once, on first apply, and never removed; reverted, it passes the
    call straight to ``inner``. Wraps of one method therefore stack in the order the fixes
    are applied and come out in any order."""

    def __init__(self, owner: Any, name: str, wrapper: Any) -> None:
        self.owner, self.name, self.wrapper = owner, name, wrapper
        self.enabled = False
        self._installed = False

    def apply(self) -> None:
        if not self._installed:
            static = isinstance(vars(self.owner).get(self.name), staticmethod)
            inner = getattr(self.owner, self.name)

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                if self.enabled:
                    return self.wrapper(inner, *args, **kwargs)
                return inner(*args, **kwargs)

            setattr(self.owner, self.name, staticmethod(wrapped) if static else wrapped)
            self._installed = True
        self.enabled = True

    def revert(self) -> None:
        self.enabled = False


class Rebind:
    """Swap a value that engine modules imported by name (`from x import f`), everywhere."""

    def __init__(self, name: str, old: Any, new: Any) -> None:
        self.name, self.old, self.new = name, old, new

    @staticmethod
    def _swap(name: str, current: Any, replacement: Any) -> None:
        for module_name, module in list(sys.modules.items()):
            if module_name.startswith("moto.stepfunctions") and vars(module).get(name) is current:
                setattr(module, name, replacement)

    def apply(self) -> None:
        self._swap(self.name, self.old, self.new)

    def revert(self) -> None:
        self._swap(self.name, self.new, self.old)


class Append:
    """Add an item to a registry list (URL patterns)."""

    def __init__(self, items: list[Any], item: Any) -> None:
        self.items, self.item = items, item

    def apply(self) -> None:
        self.items.append(self.item)

    def revert(self) -> None:
        self.items.remove(self.item)


@dataclass(eq=False)
class Fix:
    """One workaround: what it is for, the moto bug it covers, and its patches."""

    name: str
    why: str
    upstream_bug: str
    patches: Sequence[Patch]
    applied: bool = False

    def apply(self) -> None:
        if not self.applied:
            for patch in self.patches:
                patch.apply()
            self.applied = True

    def revert(self) -> None:
        if self.applied:
            for patch in reversed(self.patches):
                patch.revert()
            self.applied = False
