"""DynamoDB items checked, written out and read back by botocore without a model walk per
value.

The other side of an in-process call: before a DynamoDB request reaches moto, botocore
checks its parameters against the model and writes them out as JSON, walking each
``AttributeValue`` of each item through the model member by member (a lookup, a dispatch
and a type check per member and per value). For a job item with its results that was about
a quarter of a PutItem's time, and every write of a job, its settlement and its status
carries one.

An ``AttributeValue`` here is checked and written out directly when it is made of the plain
types botocore accepts without a report (strings, booleans, bytes, and dicts, lists and
tuples of them): the same values pass, and they are written out the same. Anything else
(a value botocore would report, a file object, a subclass of dict) goes to botocore's own
walk, which reports it as it always does. This applies only while the model's
``AttributeValue`` is the one this was written against (ten members, no union trait, no
constraints but a name's maximum length, which botocore does not check): a model that
differs is walked by botocore.

The answer comes back the same way: botocore's parser walks each AttributeValue of each
item read (about 0.3 ms for a job item, read several times per job). A value that comes as
one ``{type: value}`` pair is read here directly, by the reader moto's side uses
(``dynamodb_serialization.read_attribute_value``; nulls in lists kept, as botocore keeps
them); anything else goes to botocore's parser.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from botocore.model import Shape
from botocore.parsers import BaseJSONParser
from botocore.serialize import JSONSerializer
from botocore.validate import ParamValidator

from aigw.local.engine.dynamodb_serialization import NotPlain, read_attribute_value
from aigw.local.engine.patches import Fix, Wrap

#: AttributeValue's members and their types, as botocore's DynamoDB model has them.
_MEMBERS: Final = {
    "S": "string",
    "N": "string",
    "B": "blob",
    "SS": "list",
    "NS": "list",
    "BS": "list",
    "M": "map",
    "L": "list",
    "NULL": "boolean",
    "BOOL": "boolean",
}
_BLOBS: Final = (bytes, bytearray, str)
_SEQUENCES: Final = (list, tuple)
#: Shape attribute: whether this AttributeValue shape is the one described above.
_KNOWN: Final = "_aigw_known_attribute_value"


def _is_known(shape: Shape) -> bool:
    known = getattr(shape, _KNOWN, None)
    if known is None:
        members = shape.members
        known = (
            shape.name == "AttributeValue"
            and not shape.metadata
            and {name: member.type_name for name, member in members.items()} == _MEMBERS
            and all(not member.metadata for member in members.values())
            and all(not members[name].member.metadata for name in ("SS", "NS", "BS"))
            and members["L"].member.name == "AttributeValue"
            and members["M"].value.name == "AttributeValue"
            and set(members["M"].key.metadata) <= {"max"}
            and not any(member.serialization for member in members.values())
        )
        setattr(shape, _KNOWN, known)
    return known


def _passes(value: Any) -> bool:
    """True if botocore's walk of this AttributeValue would report nothing."""
    if type(value) is not dict:
        return False
    for kind, inner in value.items():
        if kind == "S" or kind == "N":
            if not isinstance(inner, str):
                return False
        elif kind == "M":
            if type(inner) is not dict or not all(
                isinstance(name, str) and _passes(item) for name, item in inner.items()
            ):
                return False
        elif kind == "L":
            if not isinstance(inner, _SEQUENCES) or not all(_passes(item) for item in inner):
                return False
        elif kind == "BOOL" or kind == "NULL":
            if not isinstance(inner, bool):
                return False
        elif kind == "SS" or kind == "NS":
            if not isinstance(inner, _SEQUENCES) or not all(isinstance(s, str) for s in inner):
                return False
        elif kind == "B":
            if not isinstance(inner, _BLOBS):
                return False
        elif kind == "BS":
            if not isinstance(inner, _SEQUENCES) or not all(isinstance(b, _BLOBS) for b in inner):
                return False
        else:
            return False  # an unknown member: botocore reports it
    return True


def _validate_structure(
    inner: Any, self: ParamValidator, params: Any, shape: Shape, errors: Any, name: str
) -> None:
    if shape.name == "AttributeValue" and _is_known(shape) and _passes(params):
        return
    inner(self, params, shape, errors, name)


def _written(serializer: JSONSerializer, value: dict[str, Any]) -> dict[str, Any]:
    # What JSONSerializer makes of a value _passes() accepted, in the value's key order.
    out = serializer.MAP_TYPE()
    for kind, inner in value.items():
        if kind == "M":
            members = serializer.MAP_TYPE()
            for name, item in inner.items():
                members[name] = _written(serializer, item)
            out["M"] = members
        elif kind == "L":
            out["L"] = [_written(serializer, item) for item in inner]
        elif kind == "B":
            out["B"] = serializer._get_base64(inner)
        elif kind == "BS":
            out["BS"] = [serializer._get_base64(item) for item in inner]
        elif kind == "SS" or kind == "NS":
            out[kind] = list(inner)
        else:
            out[kind] = inner
    return out


def _serialize_structure(
    inner: Any, self: JSONSerializer, serialized: Any, value: Any, shape: Shape, key: Any
) -> None:
    if key is not None and shape.name == "AttributeValue" and _is_known(shape) and _passes(value):
        serialized[key] = _written(self, value)
        return
    inner(self, serialized, value, shape, key)


def _blob_or_null(blob: Any, value: Any) -> Any:
    # botocore's list reading keeps a null member as it is, a binary set's among them.
    return None if value is None else blob(value)


def _handle_structure(inner: Any, self: BaseJSONParser, shape: Shape, value: Any) -> Any:
    if shape.name == "AttributeValue" and _is_known(shape):
        try:
            return read_attribute_value(value, partial(_blob_or_null, self._blob_parser))
        except NotPlain:
            pass
    return inner(self, shape, value)


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-attribute-values-checked-and-written-directly",
        why="botocore checked and wrote out each AttributeValue of a request member by "
        "member through the model: about a quarter of a job item's PutItem.",
        upstream_bug="botocore's ParamValidator and JSONSerializer walk AttributeValue's "
        "members through the model for every value of every item.",
        patches=[
            Wrap(ParamValidator, "_validate_structure", _validate_structure),
            Wrap(JSONSerializer, "_serialize_type_structure", _serialize_structure),
        ],
    ),
    Fix(
        name="dynamodb-attribute-values-read-directly",
        why="botocore read each AttributeValue of an answer member by member through the "
        "model: about 0.3 ms per job item read, and a job's item is read several times.",
        upstream_bug="botocore's JSON parser looks up each of AttributeValue's ten members, "
        "and dispatches on each member's shape, for every value of every item.",
        patches=[Wrap(BaseJSONParser, "_handle_structure", _handle_structure)],
    ),
]
