"""Checking the payload a workflow state hands a function, without pydantic.

The workflow helpers (SplitTranslation, StartTextract, AssemblePages, the Textract callback,
predict processing) read a few strings and numbers from their event, and predict processing
its model catalogue (``aigw_common.predict_models``) at every cold start. Importing pydantic
and building a model's schema would cost their cold start more than half a ``boto3`` import
(docs/benchmarks.md, "Cold start"), so they check these with :class:`Fields`.

A bad payload raises :class:`ValidationError`, a ``ValueError`` whose class name is what
Lambda reports as the error type, what Step Functions' Retry and Catch see and what
``aigw_common.failures`` classifies as ``InvalidInput`` (the name pydantic's error had). Its
message lists every problem the way pydantic's does, without quoting the values:
``2 validation errors for StartTextractEvent``, then per problem the field's path and what
is wrong (``Field required``, ``String should have at least 1 character``...).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

_MISSING: Any = object()


class ValidationError(ValueError):
    """A state's payload does not have the shape its function reads."""


class Fields:
    """Reads the fields of one payload object, collecting every problem; :meth:`check`
    raises them together.

    ``extra`` says what a key the function does not read means: ``"forbid"`` (a problem:
    the workflow and the function disagree about the payload) or ``"ignore"``.
    """

    def __init__(
        self,
        title: str,
        data: Any,
        *,
        extra: str = "forbid",
        path: str = "",
        problems: list[tuple[str, str]] | None = None,
    ) -> None:
        self.title = title
        self.path = path
        self.problems: list[tuple[str, str]] = [] if problems is None else problems
        self._read: set[str] = set()
        self._extra = extra
        self._objects: list[Fields] = []
        self.data: dict[str, Any] = {}
        if isinstance(data, dict):
            self.data = data
        else:
            self._problem(path, f"Input should be a valid dictionary or instance of {title}")

    def _problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def problem(self, message: str) -> None:
        """Note a problem of this object as a whole (fields that disagree)."""
        self._problem(self.path, message)

    @property
    def ok(self) -> bool:
        """No problem found so far in this object or within it."""
        inside = self.path + "."
        return not any(
            not self.path or path == self.path or path.startswith(inside)
            for path, _ in self.problems
        )

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _value(self, key: str, default: Any) -> Any:
        self._read.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            self._problem(self._where(key), "Field required")
        return default

    def value(self, key: str, *, default: Any = _MISSING) -> Any:
        """The value at ``key``, whatever it is (the caller checks it)."""
        return self._value(key, default)

    def string(
        self,
        key: str,
        *,
        min_length: int = 0,
        max_length: int | None = None,
        pattern: re.Pattern[str] | None = None,
        default: Any = _MISSING,
    ) -> Any:
        """The string at ``key`` (``default`` when absent; null too when that is None)."""
        value = self._value(key, default)
        if key not in self.data or (value is None and default is None):
            return value
        if not isinstance(value, str):
            self._problem(self._where(key), "Input should be a valid string")
        elif len(value) < min_length:
            plural = "" if min_length == 1 else "s"
            self._problem(
                self._where(key), f"String should have at least {min_length} character{plural}"
            )
        elif max_length is not None and len(value) > max_length:
            self._problem(self._where(key), f"String should have at most {max_length} characters")
        elif pattern is not None and not pattern.search(value):
            self._problem(self._where(key), f"String should match pattern '{pattern.pattern}'")
        return value

    def strings(self, key: str, *, min_length: int = 0) -> list[Any]:
        """The list of strings at ``key``."""
        value = self._value(key, _MISSING)
        if key not in self.data:
            return []
        if not isinstance(value, list):
            self._problem(self._where(key), "Input should be a valid list")
            return []
        self._length(key, value, min_length)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self._problem(f"{self._where(key)}.{index}", "Input should be a valid string")
        return value

    def number(
        self,
        key: str,
        *,
        default: Any = _MISSING,
        above: float | None = None,
        below: float | None = None,
    ) -> Any:
        """The number at ``key`` as a float (``default`` when absent; null too when that is
        None); ``above`` and ``below`` are exclusive bounds."""
        value = self._value(key, default)
        if key not in self.data or (value is None and default is None):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._problem(self._where(key), "Input should be a valid number")
            return value
        value = float(value)
        if above is not None and not value > above:
            self._problem(self._where(key), f"Input should be greater than {above:g}")
        elif below is not None and not value < below:
            self._problem(self._where(key), f"Input should be less than {below:g}")
        return value

    def boolean(self, key: str, *, default: Any = _MISSING) -> Any:
        """The boolean at ``key`` (``default`` when absent; null too when that is None)."""
        value = self._value(key, default)
        if key not in self.data or (value is None and default is None):
            return value
        if not isinstance(value, bool):
            self._problem(self._where(key), "Input should be a valid boolean")
        return value

    def tag(self, key: str, tags: Collection[str]) -> Any:
        """The value at ``key`` that says which kind of object this is; None (and nothing
        else of the object reported) when it is missing or not one of ``tags``."""
        value = self.data.get(key)
        if value in tags:
            self._read.add(key)
            return value
        self._read.update(self.data)
        if key not in self.data:
            self._problem(self.path, f"Unable to extract tag using discriminator '{key}'")
        else:
            expected = ", ".join(repr(tag) for tag in tags)
            self._problem(
                self.path,
                f"Input tag {value!r} found using '{key}' does not match any of the "
                f"expected tags: {expected}",
            )
        return None

    def integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> Any:
        """The integer at ``key`` (a whole float such as ``2.0`` counts; ``true`` does not)."""
        value = self._value(key, _MISSING)
        if key not in self.data:
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self._problem(self._where(key), "Input should be a valid integer")
        elif minimum is not None and value < minimum:
            self._problem(self._where(key), f"Input should be greater than or equal to {minimum}")
        elif maximum is not None and value > maximum:
            self._problem(self._where(key), f"Input should be less than or equal to {maximum}")
        return value

    def choice(self, key: str, choices: Collection[str], *, default: Any = _MISSING) -> Any:
        """One of ``choices`` at ``key``."""
        value = self._value(key, default)
        if key not in self.data and value is default:
            return value
        if value not in choices:
            self._problem(self._where(key), f"Input should be {_alternatives(choices)}")
        return value

    def choices(self, key: str, choices: Collection[str]) -> list[Any]:
        """A list of ``choices`` at ``key`` (empty when absent)."""
        value = self._value(key, [])
        if not isinstance(value, list):
            self._problem(self._where(key), "Input should be a valid list")
            return []
        for index, item in enumerate(value):
            if item not in choices:
                self._problem(
                    f"{self._where(key)}.{index}", f"Input should be {_alternatives(choices)}"
                )
        return value

    def object(
        self, key: str, title: str, *, extra: str = "forbid", required: bool = True
    ) -> Fields:
        """The object at ``key``, to read its own fields (an empty one when absent and not
        ``required``)."""
        value = self._value(key, _MISSING if required else {})
        if key not in self.data and required:
            # Reported missing already: its own fields are read into a list nobody reports.
            return Fields(title, {}, extra=extra, path=self._where(key), problems=[])
        fields = Fields(title, value, extra=extra, path=self._where(key), problems=self.problems)
        self._objects.append(fields)
        return fields

    def objects(
        self, key: str, title: str, *, extra: str = "forbid", min_length: int = 0
    ) -> list[Fields]:
        """The list of objects at ``key``, each to read its own fields."""
        value = self._value(key, _MISSING)
        if key not in self.data:
            return []
        if not isinstance(value, list):
            self._problem(self._where(key), "Input should be a valid list")
            return []
        self._length(key, value, min_length)
        items = [
            Fields(
                title,
                item,
                extra=extra,
                path=f"{self._where(key)}.{index}",
                problems=self.problems,
            )
            for index, item in enumerate(value)
        ]
        self._objects += items
        return items

    def _length(self, key: str, value: list[Any], min_length: int) -> None:
        if len(value) < min_length:
            plural = "" if min_length == 1 else "s"
            self._problem(
                self._where(key),
                f"List should have at least {min_length} item{plural} after validation, "
                f"not {len(value)}",
            )

    def check(self) -> None:
        """Raise every problem found so far (this object's unread keys included, when
        ``extra`` forbids them)."""
        self._unread()
        if self.problems:
            count = len(self.problems)
            lines = [f"{count} validation error{'' if count == 1 else 's'} for {self.title}"]
            for path, message in self.problems:
                lines += [path, f"  {message}"] if path else [f"  {message}"]
            raise ValidationError("\n".join(lines))

    def _unread(self) -> None:
        for fields in self._objects:
            fields._unread()
        if self._extra == "forbid":
            for key in self.data:
                if key not in self._read:
                    self._problem(self._where(key), "Extra inputs are not permitted")


def _alternatives(choices: Collection[str]) -> str:
    quoted = [repr(choice) for choice in choices]
    if len(quoted) == 1:
        return quoted[0]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"
