"""Time-sortable identifiers (ULID): 48 bits of milliseconds, 80 random bits, base32."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U


def new_job_id(now_ms: int | None = None) -> str:
    """A 26-character id whose lexical order is its creation order (to the millisecond)."""
    milliseconds = int(time.time() * 1000) if now_ms is None else now_ms
    value = (milliseconds << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_job_id(text: str) -> bool:
    return len(text) == 26 and all(char in _ALPHABET for char in text)
