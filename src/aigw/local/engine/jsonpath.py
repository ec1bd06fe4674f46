"""JSONPath: definite paths give the value, indefinite ones a (possibly empty) list; a
ResultPath is parsed once, not at every state that applies it."""

from __future__ import annotations

import functools
from typing import Any, Final

from jsonpath_ng.ext import parse as parse_json_path
from jsonpath_ng.jsonpath import Child, Fields, Index, JSONPath, Root, This
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.utils import json_path

from aigw.local.engine.patches import Attr, Fix, Rebind

_ORIGINAL_EXTRACT_JSON: Final = json_path.extract_json
_ORIGINAL_RESULT_PATH_PARSE: Final = result_path.parse


@functools.lru_cache(maxsize=2048)
def _parsed_result_path(path: str) -> JSONPath:
    # jsonpath_ng builds a new parser (its grammar tables included) for every parse: a few
    # milliseconds of CPU per Task or Pass state with a ResultPath. A parsed path is never
    # changed by the lookups and updates made with it, so one is shared. An invalid path
    # raises every time (exceptions are not cached).
    return _ORIGINAL_RESULT_PATH_PARSE(path)


@functools.lru_cache(maxsize=2048)
def _parsed_json_path(path: str) -> JSONPath:
    return parse_json_path(path)


def _is_definite(expr: JSONPath) -> bool:
    # Jayway's (and so AWS's) rule: only single names and single indexes are definite;
    # filters, wildcards, slices, unions and `..` make a path indefinite.
    if isinstance(expr, Root | This):
        return True
    if isinstance(expr, Child):
        return _is_definite(expr.left) and _is_definite(expr.right)
    if isinstance(expr, Fields):
        return len(expr.fields) == 1 and expr.fields[0] != "*"
    if isinstance(expr, Index):
        return len(expr.indices) == 1
    return False


def _extract_json(path: str, data: Any) -> Any:
    expr = _parsed_json_path(path)
    matches = expr.find(data)
    if not _is_definite(expr):
        return [match.value for match in matches]
    if not matches:
        raise json_path.NoSuchJsonPathError(json_path=path, data=data)
    return matches[0].value


FIXES: Final[list[Fix]] = [
    Fix(
        name="jsonpath-definite-and-empty",
        why="ResultSelector/OutputPath such as `$[0].v` after a Parallel state, and filters "
        "that match nothing, must behave as on AWS.",
        upstream_bug="extract_json wraps definite paths with an index in a list and raises "
        "instead of returning [] when a filter matches nothing.",
        patches=[Rebind("extract_json", _ORIGINAL_EXTRACT_JSON, _extract_json)],
    ),
    Fix(
        name="result-path-parsed-once",
        why="Parsing a state's ResultPath again at every state that applies it cost a few "
        "milliseconds of CPU per state (jsonpath_ng builds its parser each time).",
        upstream_bug="ResultPath._eval_body calls jsonpath_ng.parse on every evaluation.",
        patches=[Attr(result_path, "parse", _parsed_result_path)],
    ),
]
