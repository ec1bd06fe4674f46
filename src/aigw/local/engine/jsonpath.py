"""JSONPath: definite paths give the value, indefinite ones a (possibly empty) list."""

from __future__ import annotations

import functools
from typing import Any, Final

from jsonpath_ng.ext import parse as parse_json_path
from jsonpath_ng.jsonpath import Child, Fields, Index, JSONPath, Root, This
from moto.stepfunctions.parser.asl.utils import json_path

from aigw.local.engine.patches import Fix, Rebind

_ORIGINAL_EXTRACT_JSON: Final = json_path.extract_json


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
]
