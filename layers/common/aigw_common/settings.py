"""Environment variables, read once at cold start and validated by a model."""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ValidationError

Settings = TypeVar("Settings", bound=BaseModel)


def load_settings(model: type[Settings]) -> Settings:
    """Fill ``model`` from the environment (field ``jobs_table`` ← ``JOBS_TABLE``).

    A missing or malformed variable stops the cold start with every problem named, rather
    than failing later inside a request.
    """
    values = {
        name: os.environ[name.upper()] for name in model.model_fields if name.upper() in os.environ
    }
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()
        )
        raise RuntimeError(f"invalid function configuration: {problems}") from None
