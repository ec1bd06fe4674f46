"""JSONata: `{% ... %}` expressions are evaluated (with jsonata-python), as on AWS.

moto 5.2.5 ported LocalStack's JSONata support without its evaluator (LocalStack runs
dashjoin's jsonata-java in a JVM): `eval_jsonata_expression` calls a function pointer left
`None`, so every JSONata state, and every JSONPath reference to a workflow variable, fails
with States.Runtime `TypeError('NoneType' object is not callable)` (moto issue 10105).

moto's design writes every binding into the expression's text (`($states:={...};$v:=...;
expression)`) for the bridge to parse back. This fix keeps moto's components and gives the
expression its bindings as values instead: the text round trip re-parses the whole state
input at every expression and breaks on a variable holding a string with a `"` (moto writes
strings between quotes without escaping them).

The bindings are the ones Step Functions provides: `$states` (`input`, `context`, and
`result` / `errorOutput` where the state has them) and the workflow variables (Assign, outer
scopes included), plus the functions Step Functions adds to JSONata ($partition, $range,
$hash, $random with a seed, $uuid, $parse). As on AWS, an expression that throws, returns
nothing (undefined) or returns a function fails the state with States.QueryEvaluationError.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from typing import Any, Final

from jsonata import JException, Jsonata, Utils
from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
    StringJSONata,
    StringVariableSample,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.jsonata.jsonata import extract_jsonata_variable_references

from aigw.local.engine.patches import Attr, Fix

_UNDEFINED: Final = object()
_MAX_SAFE_INTEGER: Final = 2**53


class QueryError(Exception):
    """An expression's failure, as the `cause` AWS gives it (after the state's prefix)."""


# --- The functions Step Functions adds to JSONata -------------------------------------------
# https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
# ("JSONata functions provided by Step Functions"). Each replaces an intrinsic function of
# JSONPath states and fails as the intrinsic does.


def _function_error(name: str, message: str) -> QueryError:
    return QueryError(f"The function ${name} failed: {message}")


def _integer(name: str, value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _function_error(name, f"{what} must be an integer, got {_to_json_text(value)}")
    return int(value)


def _partition(array: Any = None, chunk_size: Any = None) -> Any:
    if not isinstance(array, list):
        raise _function_error("partition", "its first argument must be an array")
    size = _integer("partition", chunk_size, "the chunk size")
    if size <= 0:
        raise _function_error("partition", "the chunk size must be greater than 0")
    return [list(array[start : start + size]) for start in range(0, len(array), size)]


def _range(start: Any = None, end: Any = None, step: Any = None) -> Any:
    first = _integer("range", start, "the start")
    last = _integer("range", end, "the end")
    increment = _integer("range", step, "the step")
    if increment == 0:
        raise _function_error("range", "the step must not be 0")
    # Inclusive of the end, as States.ArrayRange: $range(0, 10, 2) is [0, 2, ..., 10].
    stop = last + (1 if increment > 0 else -1)
    values = list(range(first, stop, increment))
    if len(values) > 1000:  # States.ArrayRange's limit
        raise _function_error("range", "the result would have more than 1000 items")
    return values


_HASH_ALGORITHMS: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(value: Any = None, algorithm: Any = None) -> Any:
    if not isinstance(value, str):
        raise _function_error("hash", "its first argument must be a string")
    if algorithm not in _HASH_ALGORITHMS:
        raise _function_error("hash", f"the algorithm must be one of {', '.join(_HASH_ALGORITHMS)}")
    return hashlib.new(_HASH_ALGORITHMS[algorithm], value.encode()).hexdigest()


def _random(seed: Any = None) -> Any:
    # Standard JSONata's $random takes no argument; Step Functions' takes an optional
    # integer seed, and a seed always gives the same number.
    if seed is None:
        return random.random()
    return random.Random(_integer("random", seed, "the seed")).random()


def _uuid() -> Any:
    return str(uuid.uuid4())


def _parse(text: Any = None) -> Any:
    # $eval's replacement: a JSON string becomes its value.
    if not isinstance(text, str):
        raise _function_error("parse", "its argument must be a string")
    try:
        return _to_jsonata_value(json.loads(text))
    except json.JSONDecodeError as error:
        raise _function_error("parse", f"the string is not JSON ({error.msg})") from None


def _eval(*_args: Any) -> Any:
    raise QueryError("The function $eval is not supported by Step Functions; use $parse.")


_STEP_FUNCTIONS_FUNCTIONS: Final = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "random": _random,
    "uuid": _uuid,
    "parse": _parse,
    "eval": _eval,
}


# --- Values in and out ----------------------------------------------------------------------


def _to_jsonata_value(value: Any) -> Any:
    # A JSON null is jsonata-python's NULL_VALUE inside data, but a bare None binding is
    # undefined: a variable assigned null must stay null.
    return Utils.NULL_VALUE if value is None else value


def _to_json_text(value: Any) -> str:
    try:
        return json.dumps(_to_json(value))
    except QueryError:
        return "a function"


def _to_json(value: Any) -> Any:
    """jsonata-python's result as plain JSON values (a copy: results can share input data)."""
    if value is None or value is Utils.NULL_VALUE:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryError(f"Number out of range: {value}")
        # JSONata has one number type: 3.0 is 3, as AWS writes it.
        if value.is_integer() and abs(value) <= _MAX_SAFE_INTEGER:
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(key): _to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    raise QueryError("unsupported")


def evaluate(expression: str, bindings: dict[str, Any]) -> Any:
    """The value of a JSONata expression, `_UNDEFINED` for nothing; raises QueryError."""
    try:
        compiled = Jsonata(expression)
        for name, function in _STEP_FUNCTIONS_FUNCTIONS.items():
            compiled.register_lambda(name, function)
        compiled.set_output_convert_nulls(False)  # keep null and undefined apart
        result = compiled.evaluate(
            None, {name: _to_jsonata_value(value) for name, value in bindings.items()}
        )
    except QueryError:
        raise
    except JException as error:
        raise QueryError(f"{error.error}: {error}") from None
    except RecursionError:
        raise QueryError("U1001: Stack overflow error") from None
    except Exception as error:  # a jsonata-python bug or a Python error in an operator
        raise QueryError(f"{type(error).__name__}: {error}") from None
    if result is None:
        return _UNDEFINED
    return result


def _bindings(env: Environment, expression: str, with_states: bool) -> dict[str, Any]:
    store = env.variable_store
    bindings: dict[str, Any] = {**store._outer_scope, **store._inner_scope}
    if with_states:
        # moto checks the references ($ and $$ alone are refused) and so do we.
        extract_jsonata_variable_references(expression)
        # result and errorOutput exist only once the state has them.
        bindings["states"] = {
            key: value for key, value in env.states._states_data.items() if value is not None
        }
    return bindings


def _query_evaluation_error(env: Environment, cause: str) -> FailureEventException:
    error_name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    failure = FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=EventDetails(
                evaluationFailedEventDetails=EvaluationFailedEventDetails(
                    error=error_name.error_name, cause=cause
                )
            ),
        )
    )
    # AWS's history has an EvaluationFailed event before the state's failure (moto's
    # validate_jsonata_expression_output records it the same way).
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(
            evaluationFailedEventDetails=failure.get_evaluation_failed_event_details()
        ),
    )
    return failure


def _string_jsonata_eval_body(self: StringJSONata, env: Environment) -> None:
    expression = self.expression
    try:
        result = evaluate(expression, _bindings(env, expression, with_states=True))
        if result is _UNDEFINED:
            raise QueryError(f"The JSONata expression '{expression}' returned nothing (undefined).")
        try:
            value = _to_json(result)
        except QueryError as error:
            if str(error) != "unsupported":
                raise
            raise QueryError(
                f"The JSONata expression '{expression}' returned an unsupported result type."
            ) from None
    except QueryError as error:
        cause = str(error)
        if not cause.startswith("The JSONata expression"):
            cause = (
                f"The JSONata expression '{expression}' threw an error during evaluation. {cause}"
            )
        raise _query_evaluation_error(env, cause) from None
    env.stack.append(value)


def _string_variable_sample_eval_body(self: StringVariableSample, env: Environment) -> None:
    # A JSONPath field reading a variable ("name.$": "$customer.name"), or a JSONata one.
    expression = self.expression
    with_states = self.query_language_mode == QueryLanguageMode.JSONata
    try:
        result = evaluate(expression, _bindings(env, expression, with_states))
        value = None if result is _UNDEFINED else _to_json(result)
    except QueryError as error:
        if with_states:
            raise _query_evaluation_error(
                env,
                f"The JSONata expression '{expression}' threw an error during evaluation. {error}",
            ) from None
        raise RuntimeError(f"The variable reference '{expression}' failed: {error}") from None
    env.stack.append(value)


FIXES: Final[list[Fix]] = [
    Fix(
        name="jsonata-evaluated",
        why="QueryLanguage JSONata states and JSONPath references to workflow variables must "
        "be evaluated with $states and the variables bound, and an expression's failure must "
        "be States.QueryEvaluationError, as on AWS.",
        upstream_bug="moto has no JSONata evaluator (LocalStack's JVM bridge was left out): "
        "eval_jsonata_expression calls None, so every such state fails with States.Runtime "
        "TypeError('NoneType' object is not callable) (moto issue 10105).",
        patches=[
            Attr(StringJSONata, "_eval_body", _string_jsonata_eval_body),
            Attr(StringVariableSample, "_eval_body", _string_variable_sample_eval_body),
        ],
    ),
]
