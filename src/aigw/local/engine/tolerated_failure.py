"""A Distributed Map's tolerated failures, as AWS applies them.

- An integer ``ToleratedFailurePercentage`` (``50``), which the ASL allows and AWS accepts,
  is refused by moto's grammar (it takes only ``50.0``): the parser gets the definition
  with that one field written as a decimal.
- moto ignores the thresholds: failed child items never fail the Map. On AWS the Map fails
  with ``States.ExceedToleratedFailureThreshold`` when failures exceed the tolerated count
  or percentage (both 0 when not given, so one failure fails it). Here the Map fails when
  the failures exceed both the count and the percentage, which is AWS's rule whenever at
  most one of the two is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
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
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as distributed,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from aigw.local.engine.patches import Fix, Wrap


def _as_decimals(node: Any) -> bool:
    """Rewrite integer ToleratedFailurePercentage values in place; whether any was."""
    changed = False
    if isinstance(node, dict):
        value = node.get("ToleratedFailurePercentage")
        if isinstance(value, int) and not isinstance(value, bool):
            node["ToleratedFailurePercentage"] = float(value)
            changed = True
        for item in node.values():
            changed = _as_decimals(item) or changed
    elif isinstance(node, list):
        for item in node:
            changed = _as_decimals(item) or changed
    return changed


def _parse(inner: Callable[[str], Any], definition: str) -> Any:
    try:
        document = json.loads(definition)
    except ValueError:
        return inner(definition)
    if _as_decimals(document):
        definition = json.dumps(document)
    return inner(definition)


def _map_run(inner: Callable[..., None], self: Any, env: Any, eval_input: Any) -> None:
    # The items as the Map read them, before any batching: the thresholds count items.
    items = env.stack[-1]
    total = len(items) if isinstance(items, list) else 0
    inner(self, env, eval_input)
    failed = eval_input.map_run_record.item_counter.failed.get()
    percent = failed * 100 / total if total else 0.0
    if (
        failed > eval_input.tolerated_failure_count
        and percent > eval_input.tolerated_failure_percentage
    ):
        env.stack.pop()  # the outputs: the Map fails instead
        error = StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name()
        cause = "The specified tolerated failure threshold was exceeded"
        raise FailureEventException(
            FailureEvent(
                env=env,
                error_name=StatesErrorName(
                    typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold
                ),
                event_type=HistoryEventType.ExecutionFailed,
                event_details=EventDetails(
                    executionFailedEventDetails=ExecutionFailedEventDetails(
                        error=error, cause=cause
                    )
                ),
            )
        )


FIXES: Final[list[Fix]] = [
    Fix(
        name="tolerated-failure-integer",
        why="Distributed Maps written for AWS say ToleratedFailurePercentage: 50.",
        upstream_bug="The ASL grammar accepts ToleratedFailurePercentage only as a decimal: "
        "an integer is a parse error at CreateStateMachine.",
        patches=[Wrap(AmazonStateLanguageParser, "parse", _parse)],
    ),
    Fix(
        name="tolerated-failure-threshold",
        why="A Distributed Map whose failed items exceed what it tolerates must fail with "
        "States.ExceedToleratedFailureThreshold, which Retry/Catch handle.",
        upstream_bug="The thresholds are parsed but never applied: failed items leave null "
        "outputs and the Map succeeds.",
        patches=[Wrap(distributed.DistributedIterationComponent, "_map_run", _map_run)],
    ),
]
