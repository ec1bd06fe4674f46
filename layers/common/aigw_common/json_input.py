"""Reading JSON that clients send, so that no input can become a 500.

Python's ``json`` accepts what the services behind the gateway refuse or choke on: ``NaN``
and ``Infinity`` literals, numbers that overflow to ``inf`` (``1e999999``), integers too
big for DynamoDB or any JSON client, lone UTF-16 surrogates (``"\\ud800"``, which no UTF-8
encoder accepts), NUL characters, and nesting deep enough to exhaust the interpreter's
stack. :func:`parse_json` turns each into an :class:`InvalidInput` that names where the
problem is, and error messages quote at most a short :func:`excerpt` of what was sent.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from aigw_common.errors import InvalidInput

#: Deeper than any request of the API needs (its deepest documented body nests 4 levels).
MAX_DEPTH = 32
#: Integers are stored in DynamoDB and read by JSON clients; 64-bit is the most both keep.
MAX_INTEGER = 2**63 - 1
#: How much of a client's value an error message may quote.
EXCERPT_CHARACTERS = 40

_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_QUOTED = re.compile(r"(['\"])([^'\"]{" + str(EXCERPT_CHARACTERS + 1) + r",})\1")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,39}")


def excerpt(value: Any, limit: int = EXCERPT_CHARACTERS) -> str:
    """A short quotation of ``value`` for an error message: never more than ``limit``
    characters of it, with its full length when it was cut."""
    text = value if isinstance(value, str) else repr(value)
    text = _SURROGATE.sub("\ufffd", text)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    shown = text[:limit]
    return f"{shown!r}… ({len(text)} characters)" if isinstance(value, str) else f"{shown}…"


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Rejected(f"the number {excerpt(text)} is out of range")
    return value


def _bounded_int(text: str) -> int:
    # Checked on the digits before int(): Python refuses over 4,300 digits with its own error.
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > MAX_INTEGER:
        raise _Rejected(f"the integer {excerpt(text)} is out of range (at most 64 bits)")
    return value


def _constant(text: str) -> Any:
    raise _Rejected(f"{text} is not a JSON value")


class _Rejected(ValueError):
    """A value json.loads read but the gateway refuses (raised from the parse hooks)."""


def parse_json(text: str | bytes | None, what: str = "the request body") -> Any:
    """The JSON value in ``text``, or :class:`InvalidInput` saying what is wrong with it."""
    if text is None or (isinstance(text, str | bytes) and not text.strip()):
        raise InvalidInput(f"{what} is empty: send a JSON object")
    try:
        value = json.loads(
            text,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            parse_constant=_constant,
        )
    except _Rejected as error:
        raise InvalidInput(f"{what}: {error}") from None
    except RecursionError:
        raise InvalidInput(f"{what} is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as error:
        # json's messages name a position, never the text; other ValueErrors (a body that
        # is not UTF-8) are described without quoting it.
        detail = str(error) if isinstance(error, json.JSONDecodeError) else "not UTF-8 text"
        raise InvalidInput(f"{what} is not valid JSON: {detail}") from None
    check_strings_and_depth(value, what)
    return value


def check_strings_and_depth(value: Any, what: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH`, lone surrogates and NUL characters
    anywhere in ``value`` (keys included), naming the first place found."""
    pending: list[tuple[Any, str, int]] = [(value, "$", 1)]
    while pending:
        item, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(f"{what} is nested too deeply (at most {MAX_DEPTH} levels)")
        if isinstance(item, str):
            _check_text(item, path, what)
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = _child_path(path, key)
                _check_text(key, child_path, what, key=True)
                pending.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            pending.extend(
                (child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item)
            )


def _child_path(path: str, key: str) -> str:
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{excerpt(key, 20)}]"


def _check_text(text: str, path: str, what: str, *, key: bool = False) -> None:
    kind = "a key" if key else "a string"
    if _SURROGATE.search(text):
        raise InvalidInput(
            f"{what}: {kind} at {path} contains a lone UTF-16 surrogate, which is not text"
        )
    if "\x00" in text:
        raise InvalidInput(f"{what}: {kind} at {path} contains a NUL character (U+0000)")


def schema_error_message(error: Any, limit: int = 200) -> str:
    """A jsonschema ``ValidationError``'s message quoting at most an excerpt of the value
    (its messages start with the whole value's repr: a 25,000-character text, say)."""
    shown, message = repr(error.instance), str(error.message)
    if message.startswith(shown):
        message = excerpt(error.instance) + message[len(shown) :]
    # Values quoted inside the message too (an unexpected property's name, say).
    message = _LONG_QUOTED.sub(lambda m: f"{m[1]}{m[2][:EXCERPT_CHARACTERS]}…{m[1]}", message)
    return message if len(message) <= limit else message[:limit] + "…"
