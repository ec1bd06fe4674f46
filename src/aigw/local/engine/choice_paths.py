"""A Choice rule's ``*Path`` operand read from the context object.

A Choice rule compares its ``Variable`` with a value or, through an operator ending in
``Path`` (``NumericGreaterThanEqualsPath``, ``StringEqualsPath``, ``TimestampLessThanPath``,
…), with what a reference path points to. A path beginning with ``$$`` identifies content of
the context object (Amazon States Language, "Paths"), in the operand as in ``Variable``:
``"NumericGreaterThanEqualsPath": "$$.Execution.Input.quorum"`` compares with the
execution's input whatever the state's input is. The engine reads every operand from the
state's input, where ``$$.…`` is a JSONPath parse error: the execution failed with
States.Runtime.
"""

from __future__ import annotations

from typing import Any, Final

from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_func import (
    ComparisonFuncValue,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.factory import (
    OperatorFactory,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

from aigw.local.engine.patches import Fix, Wrap

_CONTEXT_PATH_PREFIX: Final = "$$"


def _compares_with_the_context_object(self: ComparisonFuncValue) -> bool:
    return (
        self.operator_type.name.endswith("Path")
        and isinstance(self.value, str)
        and self.value.startswith(_CONTEXT_PATH_PREFIX)
    )


def _eval_body(inner: Any, self: ComparisonFuncValue, env: Environment) -> None:
    if not _compares_with_the_context_object(self):
        return inner(self, env)
    # The operator pops the Variable's value and reads its operand's path in the value below
    # it (the state's input): give it the context object there, and the path without its
    # first "$" (as the spec reads "$$" paths), then take the context object out again.
    variable = env.stack.pop()
    env.stack.append(env.states.context_object.context_object_data)
    env.stack.append(variable)
    OperatorFactory.get(self.operator_type).eval(env=env, value=self.value[1:])
    outcome = env.stack.pop()
    env.stack.pop()
    env.stack.append(outcome)
    return None


FIXES: Final[list[Fix]] = [
    Fix(
        name="choice-path-operands-from-the-context-object",
        why="A Choice rule such as NumericGreaterThanEqualsPath: $$.Execution.Input.quorum "
        "must compare with the context object's value, as on AWS, not fail the execution.",
        upstream_bug="Every *Path operator reads its path from the state's input with "
        "extract_json, which cannot parse '$$': JsonPathParserError, States.Runtime.",
        patches=[Wrap(ComparisonFuncValue, "_eval_body", _eval_body)],
    ),
]
