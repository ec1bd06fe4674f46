"""DescribeExecution's ``output`` is the execution's output as JSON text, whatever its type."""

from __future__ import annotations

from typing import Any, Final

from moto.core.responses import ActionResult
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.responses import StepFunctionResponse

from aigw.local.engine.patches import Fix, Wrap


def _describe_execution(inner: Any, self: StepFunctionResponse) -> Any:
    answer = inner(self)
    described = answer.result if isinstance(answer, ActionResult) else None
    if isinstance(described, dict) and described.get("status") == "SUCCEEDED":
        execution = self.stepfunction_backend.describe_execution(described["executionArn"])
        if isinstance(execution, Execution):
            # The engine keeps the output as a value: a string is the JSON string "lit",
            # not the text lit, and a null output is "null", not no output at all.
            described["output"] = to_json_str(execution.output, separators=(",", ":"))
    return answer


FIXES: Final[list[Fix]] = [
    Fix(
        name="execution-output-json-text",
        why="DescribeExecution must answer the output as JSON text: an execution whose "
        'output is the string "lit" answers "\\"lit\\"", one whose output is null "null".',
        upstream_bug="StepFunctionResponse.describe_execution passes a str output through as "
        "if it were JSON text already and leaves a None output out, but the parser engine "
        "keeps the output as a value: a string came back unquoted (lit), null not at all.",
        patches=[Wrap(StepFunctionResponse, "describe_execution", _describe_execution)],
    ),
]
