"""The patterns of an event source mapping's ``FilterCriteria``, checked as Lambda checks them.

Lambda matches each record against the patterns before batching and drops the records no
pattern matches (:func:`aigw.local.events.queues.matches_filters` does it locally, with
moto's EventBridge matcher). The syntax is EventBridge's restricted to the operators Lambda
documents ("Control which events Lambda sends to your function"): a pattern with another
operator is refused when the mapping is deployed, rather than matched loosely (moto's
matcher lets an unknown operator match anything).
"""

from __future__ import annotations

import json
from typing import Any

#: The named filter operators Lambda's filter syntax has (exact values, `null` and `""`
#: need none; `$or` combines patterns).
LAMBDA_OPERATORS = {"exists", "prefix", "suffix", "equals-ignore-case", "numeric", "anything-but"}


class FilterError(ValueError):
    """A filter pattern Lambda would refuse."""


def _check(node: Any, path: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$or":
                if not isinstance(value, list) or not value:
                    raise FilterError(f"{path}: $or takes a list of patterns")
                for alternative in value:
                    _check(alternative, path)
            elif isinstance(value, dict):
                _check(value, f"{path}.{key}" if path else key)
            elif isinstance(value, list):
                if not value:
                    raise FilterError(f"{path}.{key}: empty arrays are not allowed")
                for rule in value:
                    if isinstance(rule, dict):
                        unknown = set(rule) - LAMBDA_OPERATORS
                        if unknown:
                            raise FilterError(
                                f"{path}.{key}: {sorted(unknown)} is not a Lambda filter "
                                f"operator ({', '.join(sorted(LAMBDA_OPERATORS))})"
                            )
            else:
                raise FilterError(f"{path}.{key}: must be an object or an array")
    else:
        raise FilterError(f"{path or 'pattern'}: must be a JSON object")


def filter_patterns(criteria: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A mapping's ``FilterCriteria`` as patterns for :func:`matches_filters`, each checked
    to use only what Lambda's filter syntax has."""
    patterns = []
    for index, entry in enumerate((criteria or {}).get("Filters") or []):
        raw = entry.get("Pattern") if isinstance(entry, dict) else None
        try:
            pattern = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as error:
            raise FilterError(f"Filters[{index}].Pattern is not JSON: {error}") from None
        _check(pattern, "")
        patterns.append(pattern)
    return patterns
