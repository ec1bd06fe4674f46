"""DynamoDB items read in (requests) and written out (responses, stream records) without
repeated work.

moto parses every request through botocore's model as well: each ``AttributeValue`` of an
item sent (a job's creation, its status writes, its settlement) has its ten members looked
up and dispatched on one by one. A value sent as the one ``{type: value}`` pair the API
takes is parsed here directly (blobs decoded as moto decodes them); anything else goes to
moto's parser.

moto serializes every response through botocore's model: for each ``AttributeValue`` in an
item it asks an attribute picker for each of the structure's ten members (S, N, B, SS, NS,
BS, M, L, NULL, BOOL), trying several aliases per member. A job item of about 100 attribute
values (its results inline) took some 4 ms to serialize on every GetItem, under the DynamoDB
lock, and reading jobs is what the gateway does most. moto's DynamoDB results hold each
attribute value as a one-key ``{type: value}`` dict already, so the wire form is that dict
with binary values in base64: this writes it so, and leaves anything else (a value of
another shape, a None) to the model-driven path, which gives the same JSON.

Before that, moto turns an item into that JSON (``Item.to_json``: for every response, and
twice per stream record) with ``DynamoType.to_regular_json``, which deep-copies a value's
whole subtree at each level of nesting and then converts the copies: a job's results, a
list of maps of lists, were copied once per level. Converting the tree once, copying only
the leaves' containers, gives the same independent JSON.

And before that, every DynamoDB result goes through ``dynamo_to_dict``, which asks each
plain dict, list and string of the item's JSON whether it is a datetime, a ``DynamoType``
or has a ``to_json``, one call per node: here plain JSON is walked as what it is, and
so are the ``DynamoType`` values of a read item (which comes as moto's ``LimitedSizeDict``,
a dict subclass); anything else goes to moto's function. An UpdateItem deep-copied the
whole stored item (every ``DynamoType`` in it) only to write the copy out as JSON for
``ReturnValues``: the JSON is written out at that moment instead, which is the same
independent snapshot.
"""

from __future__ import annotations

import base64
import copy
import decimal
from collections.abc import Callable
from typing import Any, Final

from botocore.model import Shape
from moto.core.parse import BaseJSONParser
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb import responses
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from aigw.local.engine.patches import Attr, Fix, Wrap

#: The services whose responses carry DynamoDB's ``AttributeValue`` shape.
_SERVICES: Final = frozenset({"dynamodb", "dynamodbstreams"})
_STRINGS: Final = frozenset({"S", "N"})
_STRING_SETS: Final = frozenset({"SS", "NS"})


class NotPlain(Exception):
    """A value the direct forms do not cover: the model-driven path writes or reads it."""


def _attribute_value(serializer: BaseJSONSerializer, value: Any) -> dict[str, Any]:
    if type(value) is not dict or len(value) != 1:
        raise NotPlain
    ((kind, inner),) = value.items()
    if kind in _STRINGS:
        if type(inner) is not str:
            raise NotPlain
        return {kind: inner}
    if kind == "M":
        if type(inner) is not dict:
            raise NotPlain
        return {"M": {key: _attribute_value(serializer, item) for key, item in inner.items()}}
    if kind == "L":
        if type(inner) is not list:
            raise NotPlain
        return {"L": [_attribute_value(serializer, item) for item in inner]}
    if kind in ("BOOL", "NULL"):
        if type(inner) is not bool:
            raise NotPlain
        return {kind: inner}
    if kind in _STRING_SETS:
        if type(inner) is not list or any(type(item) is not str for item in inner):
            raise NotPlain
        return {kind: list(inner)}
    if kind == "B":
        if not isinstance(inner, bytes | str):
            raise NotPlain
        return {"B": serializer._base64(inner)}
    if kind == "BS":
        if type(inner) is not list or not all(isinstance(item, bytes | str) for item in inner):
            raise NotPlain
        return {"BS": [serializer._base64(item) for item in inner]}
    raise NotPlain


def _serialize_structure(
    inner: Any,
    self: BaseJSONSerializer,
    serialized: Any,
    value: Any,
    shape: Shape,
    key: str,
) -> None:
    if key and shape.name == "AttributeValue" and self.service_model.service_name in _SERVICES:
        try:
            plain = _attribute_value(self, value)
        except NotPlain:
            pass
        else:
            self._default_serialize(serialized, plain, shape, key)
            return
    inner(self, serialized, value, shape, key)


def read_attribute_value(value: Any, blob: Callable[[Any], Any], map_type: type = dict) -> Any:
    """What moto's request parser and botocore's response parser both make of an
    AttributeValue that is one ``{type: value}`` pair: the pair, its blobs decoded by
    ``blob`` (which answers for a null in a binary set: moto's fails, botocore keeps it),
    its maps (``map_type``) and lists read the same way (a null in a list stays null),
    strings and booleans as they are. Anything else (several members, a null value, an
    unknown type) raises NotPlain, for the parser to read its own way."""
    if type(value) is not dict or len(value) != 1:
        raise NotPlain
    ((kind, inner),) = value.items()
    if inner is None:
        raise NotPlain
    parsed = map_type()
    if kind in _STRINGS or kind in ("BOOL", "NULL"):
        parsed[kind] = inner
    elif kind == "M":
        if type(inner) is not dict:
            raise NotPlain
        members = map_type()
        for key, item in inner.items():
            members[key] = read_attribute_value(item, blob, map_type)
        parsed["M"] = members
    elif kind == "L":
        if type(inner) is not list:
            raise NotPlain
        parsed["L"] = [
            None if item is None else read_attribute_value(item, blob, map_type) for item in inner
        ]
    elif kind in _STRING_SETS:
        if type(inner) is not list:
            raise NotPlain
        parsed[kind] = list(inner)
    elif kind == "B":
        parsed["B"] = blob(inner)
    elif kind == "BS":
        if type(inner) is not list:
            raise NotPlain
        parsed["BS"] = [blob(item) for item in inner]
    else:
        raise NotPlain
    return parsed


def _parse_structure(inner: Any, self: BaseJSONParser, shape: Shape, value: Any) -> Any:
    if (
        shape.name == "AttributeValue"
        and self.operation_model.service_model.service_name == "dynamodb"
    ):
        try:
            return read_attribute_value(value, self._blob_parser, self.MAP_TYPE)
        except NotPlain:
            pass
    return inner(self, shape, value)


def _to_regular_json(self: DynamoType) -> dict[str, Any]:
    value = self.value
    if isinstance(value, dict):
        value = {
            key: item.to_regular_json() if isinstance(item, DynamoType) else copy.deepcopy(item)
            for key, item in value.items()
        }
    elif isinstance(value, list):
        value = [
            item.to_regular_json() if isinstance(item, DynamoType) else copy.deepcopy(item)
            for item in value
        ]
    if self.is_binary() and isinstance(value, str):
        value = base64.b64decode(value)
    return {self.type: value}


_ORIGINAL_DYNAMO_TO_DICT: Final = responses.dynamo_to_dict
#: Types that moto's ``dynamo_to_dict`` returns as they are (none has a ``to_json``).
_AS_THEY_ARE: Final = frozenset({str, int, float, bool, type(None), decimal.Decimal})


def _dynamo_to_dict(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _dynamo_to_dict(item) for key, item in value.items()}
    if kind is list:
        return [_dynamo_to_dict(item) for item in value]
    if kind in _AS_THEY_ARE:
        return value
    # A read item comes as moto's LimitedSizeDict of DynamoType values: moto's function
    # would walk all of it its own way (it recurses into itself). Its branches, in its order:
    if kind is DynamoType:
        held = value.value
        if value.type == "B":
            return {"B": held if isinstance(held, bytes) else base64.b64decode(held)}
        if value.type == "BS":
            return {"BS": [v if isinstance(v, bytes) else base64.b64decode(v) for v in held]}
        return {value.type: _dynamo_to_dict(held)}
    if isinstance(value, (dict, list)) and not hasattr(value, "to_json"):
        if isinstance(value, dict):
            return {key: _dynamo_to_dict(item) for key, item in value.items()}
        return [_dynamo_to_dict(item) for item in value]
    return _ORIGINAL_DYNAMO_TO_DICT(value)


class _ItemAsWritten:
    """An item's JSON taken at one moment: what ``update_item`` reads from its copy."""

    def __init__(self, item: Item) -> None:
        self._json = item.to_json()

    def to_json(self) -> dict[str, Any]:
        return self._json


class _CopyItemsAsJson:
    """``copy`` for moto's DynamoDB handler, whose one deep copy is of the item an
    UpdateItem is about to change, read only as ``to_json()``."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        if isinstance(value, Item):
            return _ItemAsWritten(value)
        return copy.deepcopy(value)


class _ItemSnapshot:
    """An item as a stream record reads its old image: its keys (an update never changes
    them) and its JSON taken at one moment."""

    def __init__(self, item: Item) -> None:
        self.hash_key = item.hash_key
        self.range_key = item.range_key
        self._json = item.to_json()

    def to_json(self) -> dict[str, Any]:
        return self._json


class _CopyItemsAsSnapshots:
    """``copy`` for moto's DynamoDB backend, whose one deep copy of an item is the old image
    an UpdateItem keeps for its stream record (read only as keys and ``to_json()``); its
    other deep copies (of tables, for moto's own transactions) are made as before."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        if isinstance(value, Item):
            return _ItemSnapshot(value)
        return copy.deepcopy(value)


FIXES: Final[list[Fix]] = [
    Fix(
        name="dynamodb-attribute-values-parsed-directly",
        why="Parsing a request's items walked each AttributeValue's ten members through the "
        "model: most of moto's parsing of a job's creation, its status writes and its "
        "settlement.",
        upstream_bug="moto's JSON request parser looks up each of AttributeValue's ten "
        "members, and dispatches on each member's shape, for every value of every item.",
        patches=[Wrap(BaseJSONParser, "_parse_structure", _parse_structure)],
    ),
    Fix(
        name="dynamodb-attribute-values-serialized-directly",
        why="Serializing a job item attribute by attribute through the model cost about "
        "4 ms per read, most of a GetItem, under the DynamoDB lock.",
        upstream_bug="moto's ResponseSerializer picks each of AttributeValue's ten members "
        "through its alias providers for every value of every item.",
        patches=[Wrap(BaseJSONSerializer, "_serialize_type_structure", _serialize_structure)],
    ),
    Fix(
        name="dynamodb-json-copied-once",
        why="Writing a nested item out copied each subtree once per level of nesting, on "
        "every read and twice per stream record.",
        upstream_bug="DynamoType.to_regular_json deep-copies its whole value before "
        "converting it, and converts the nested values the same way.",
        patches=[Attr(DynamoType, "to_regular_json", _to_regular_json)],
    ),
    Fix(
        name="dynamodb-results-walked-as-json",
        why="Turning a result into plain types asked every node of an item's JSON what it "
        "was, on every GetItem, Query and UpdateItem, under the DynamoDB lock.",
        upstream_bug="dynamo_to_dict tests each plain dict, list and string for datetime, "
        "DynamoType and to_json before recursing.",
        patches=[Attr(responses, "dynamo_to_dict", _dynamo_to_dict)],
    ),
    Fix(
        name="dynamodb-update-old-item-not-copied",
        why="An UpdateItem deep-copied the whole stored item (a job's, results included) "
        "only to write the copy out as JSON.",
        upstream_bug="DynamoHandler.update_item deep-copies the existing item for its "
        "ReturnValues and reads the copy only through to_json().",
        patches=[Attr(responses, "copy", _CopyItemsAsJson)],
    ),
    Fix(
        name="dynamodb-stream-old-image-not-copied",
        why="Every UpdateItem deep-copied the stored item (a job's, results included), "
        "under the table's lock, only for its stream record to write the copy out as JSON.",
        upstream_bug="DynamoDBBackend.update_item deep-copies the item before updating it, "
        "even on a table without a stream or when the condition fails, and the stream "
        "record reads the copy only through its keys and to_json().",
        patches=[Attr(dynamodb_models, "copy", _CopyItemsAsSnapshots)],
    ),
]
