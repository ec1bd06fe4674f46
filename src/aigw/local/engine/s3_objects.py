"""S3 objects held without moto's per-object overhead.

moto keeps each object (``FakeKey``) with its bytes in a ``SpooledTemporaryFile`` of its own
and about 35 attributes, most of them ``None`` (no encryption, no lock, no checksum): too
many for Python's compact instance layout, so each object carries a dictionary of 1.5 KiB.
A job's three insight objects (about 2 KB of JSON) took about 12 KiB (docs/benchmarks.md,
memory growth).

Now an object of up to ``SMALL_OBJECT`` bytes keeps them in an in-memory buffer (a larger one
keeps moto's spooled file, which moves to disk past moto's buffer size), and attributes
still at their default are read from the class. Nothing an object answers changes: its
body, ETag, metadata, ACL and tags read back the same, and setting any of them later sets
the object's own.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, Final

from moto.s3.models import FakeKey

from aigw.local.engine.patches import Attr, Fix, Wrap

#: Bodies up to this size are held in memory (the insight objects are about 700 bytes).
SMALL_OBJECT: Final = 64 * 1024

#: FakeKey's attributes whose value on most objects is the default; read from the class
#: while an object keeps it.
_DEFAULTS: Final[dict[str, Any]] = {
    **dict.fromkeys(
        (
            "_status",
            "_expiry",
            "_etag",
            "_version_id",
            "website_redirect_location",
            "checksum_algorithm",
            "multipart",
            "encryption",
            "kms_key_id",
            "bucket_key_enabled",
            "lock_mode",
            "lock_legal_status",
            "lock_until",
            "checksum_value",
            "checksum_type",
            "checksum_parts",
        )
    ),
    "_tick": 0,
    "_is_versioned": False,
    "disposed": False,
    "_storage_class": "STANDARD",
    "model_name": "s3::keyrestore",
    "partition": "aws",
}


def _compact(key: FakeKey) -> None:
    buffer = key._value_buffer
    if key.contentsize <= SMALL_OBJECT and not isinstance(buffer, io.BytesIO):
        buffer.seek(0)
        key._value_buffer = io.BytesIO(buffer.read())
        buffer.close()
    key.__dict__ = {
        name: value
        for name, value in vars(key).items()
        if name not in _DEFAULTS
        or type(value) is not type(_DEFAULTS[name])
        or value != _DEFAULTS[name]
    }


def _init(inner: Callable[..., None], self: FakeKey, *args: Any, **kwargs: Any) -> None:
    inner(self, *args, **kwargs)
    _compact(self)


def _setstate(inner: Callable[..., None], self: FakeKey, state: dict[str, Any]) -> None:
    inner(self, state)  # a copied object (CopyObject) or one read back from --state-dir
    _compact(self)


FIXES: Final[list[Fix]] = [
    Fix(
        name="s3-objects-held-compactly",
        why="A long-running runtime held each small S3 object (a job's insight JSON) as "
        "about 4 KiB of moto objects around its bytes.",
        upstream_bug="FakeKey keeps every body in a SpooledTemporaryFile of its own and some "
        "35 instance attributes, most of them None.",
        patches=[
            *(Attr(FakeKey, name, default) for name, default in _DEFAULTS.items()),
            Wrap(FakeKey, "__init__", _init),
            Wrap(FakeKey, "__setstate__", _setstate),
        ],
    ),
]
