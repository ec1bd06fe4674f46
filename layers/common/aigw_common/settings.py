"""Environment variables, read once at cold start and checked against a dataclass.

A plain dataclass rather than a pydantic model: validating one model builds pydantic's
schema machinery, which would cost a handler's cold start more than half a ``boto3`` import
for a few strings and integers.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, TypeVar

Settings = TypeVar("Settings")

#: The field types a setting may have, by their annotation (``from __future__`` keeps
#: annotations as strings).
_CONVERTERS: dict[str, Any] = {"str": str, "int": int}


def load_settings(model: type[Settings]) -> Settings:
    """Fill the dataclass ``model`` from the environment (field ``jobs_table`` ←
    ``JOBS_TABLE``; ``str`` or ``int`` fields, defaults allowed).

    A missing or malformed variable stops the cold start with every problem named, rather
    than failing later inside a request.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in dataclasses.fields(model):  # type: ignore[arg-type]
        variable = field.name.upper()
        convert = _CONVERTERS[str(field.type)]
        raw = os.environ.get(variable)
        if raw is None:
            required = (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            )
            if required:
                problems.append(f"{variable}: missing")
            continue
        try:
            values[field.name] = convert(raw)
        except ValueError:
            problems.append(f"{variable}: {raw[:40]!r} is not a valid {convert.__name__}")
    if problems:
        raise RuntimeError(f"invalid function configuration: {'; '.join(problems)}")
    return model(**values)
