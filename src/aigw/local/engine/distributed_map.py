"""Distributed Map options moto's ASL grammar refuses: ``ItemBatcher`` and EXPRESS children.

moto 5.2.5's grammar knows neither ``ItemBatcher`` nor ``"ExecutionType": "EXPRESS"`` in a
``ProcessorConfig``: CreateStateMachine fails with a parse error. Both are common in public
samples (batching S3 data sets into child workflows, cheap Express children).

- ``ItemBatcher``: the parser gets the definition without it, and the Map state's iteration
  gets the batcher back once parsed (found by a marker in the state's ``Comment``, which is
  then restored). When the Map runs, items are selected one by one (``ItemSelector`` with
  ``$$.Map.Item``), then grouped: each child workflow gets ``{"BatchInput": ..., "Items":
  [...]}`` (``BatchInput`` only when the state has one), at most ``MaxItemsPerBatch`` items
  and ``MaxInputBytesPerBatch`` bytes (of that JSON input; 256 KiB, Step Functions' payload
  quota, when not given), as the Step Functions guide's ItemBatcher page describes. A
  failed child fails every item of its batch: the Map Run counts items, so
  ``ToleratedFailurePercentage`` and ``-Count`` apply to items, as on AWS.
- ``"ExecutionType": "EXPRESS"`` in DISTRIBUTED mode: the parser gets ``STANDARD``. The
  engine runs every child in-process the same way, so nothing else changes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from moto.stepfunctions.parser.asl.component.common.comment import Comment
from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as distributed,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker as item_processor_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.iterator import (
    distributed_iterator_worker as iterator_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData
from moto.stepfunctions.parser.asl.parse.asl_parser import (
    AmazonStateLanguageParser,
    ASLParserException,
)

from aigw.local.engine.patches import Fix, Wrap

#: Step Functions' quota for a state's input, which a child workflow's input is.
MAX_PAYLOAD_BYTES: Final = 256 * 1024
_LIMITS: Final = ("MaxItemsPerBatch", "MaxInputBytesPerBatch")
#: A batcher without BatchInput: its children's input has no such key.
NO_BATCH_INPUT: Final = object()
_FIELDS: Final = {"BatchInput", *_LIMITS, *(f"{limit}Path" for limit in _LIMITS)}


@dataclass
class ItemBatcher:
    """A Map state's ``ItemBatcher``: static limits, or the parsed Parameters that evaluate
    ``BatchInput`` and the ``...Path`` limits against the Map state's input."""

    max_items: int | None
    max_bytes: int | None
    dynamic: Any = None  # a Parameters component, when BatchInput or a Path is given
    has_batch_input: bool = False
    paths: dict[str, str] = field(default_factory=dict)


def batches(
    items: list[Any], max_items: int | None, max_bytes: int, batch_input: Any = NO_BATCH_INPUT
) -> list[dict[str, Any]]:
    """The child inputs: items in order, each batch within ``max_items`` and ``max_bytes``
    (its input's compact UTF-8 JSON). An item too big for a batch of its own still gets one
    (it cannot be split; on AWS that child's input would exceed the payload quota)."""
    envelope: dict[str, Any] = {} if batch_input is NO_BATCH_INPUT else {"BatchInput": batch_input}
    base = _size({**envelope, "Items": []})
    result: list[dict[str, Any]] = []
    current: list[Any] = []
    size = base
    for item in items:
        added = _size(item) + (1 if current else 0)  # the comma before it
        full = max_items is not None and len(current) >= max_items
        if current and (full or size + added > max_bytes):
            result.append({**envelope, "Items": current})
            current, size, added = [], base, _size(item)
        current.append(item)
        size += added
    if current:
        result.append({**envelope, "Items": current})
    return result


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


# ---------------------------------------------------------------------- definitions
def _invalid(where: str, message: str) -> ASLParserException:
    return ASLParserException(errors=[f"{where}: {message}"])


def _map_states(states: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every Map state of a ``States`` object, nested ones (in Map and Parallel) included."""
    found: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(states, dict):
        return found
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Map":
            found.append((name, state))
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            found += _map_states(processor.get("States") if isinstance(processor, dict) else None)
        elif state.get("Type") == "Parallel":
            for branch in state.get("Branches") or []:
                found += _map_states(branch.get("States") if isinstance(branch, dict) else None)
    return found


def _is_distributed(state: dict[str, Any]) -> bool:
    processor = state.get("ItemProcessor") or state.get("Iterator") or {}
    config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
    return isinstance(config, dict) and config.get("Mode") == "DISTRIBUTED"


def _positive(where: str, name: str, value: Any, ceiling: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(where, f"{name} must be a positive integer, not {value!r}")
    if ceiling is not None and value > ceiling:
        raise _invalid(where, f"{name} must be at most {ceiling} (256 KiB), not {value}")
    return value


def _take_batcher(name: str, state: dict[str, Any], parse: Callable[[str], Any]) -> ItemBatcher:
    """Remove ``ItemBatcher`` from the state and return it checked, as AWS checks it."""
    where = f"Map state {name!r}: ItemBatcher"
    config = state.pop("ItemBatcher")
    if not _is_distributed(state):
        raise _invalid(where, "is only allowed in a Map whose ProcessorConfig Mode is DISTRIBUTED")
    if not isinstance(config, dict):
        raise _invalid(where, "must be an object")
    if unknown := sorted(set(config) - _FIELDS):
        raise _invalid(where, f"unknown fields {unknown}")
    if not any(key in config for limit in _LIMITS for key in (limit, f"{limit}Path")):
        raise _invalid(where, f"needs one of {', '.join(sorted(_FIELDS - {'BatchInput'}))}")
    for limit in _LIMITS:
        if limit in config and f"{limit}Path" in config:
            raise _invalid(where, f"has both {limit} and {limit}Path")
    batcher = ItemBatcher(
        max_items=(
            _positive(where, "MaxItemsPerBatch", config["MaxItemsPerBatch"])
            if "MaxItemsPerBatch" in config
            else None
        ),
        max_bytes=(
            _positive(
                where, "MaxInputBytesPerBatch", config["MaxInputBytesPerBatch"], MAX_PAYLOAD_BYTES
            )
            if "MaxInputBytesPerBatch" in config
            else None
        ),
        has_batch_input="BatchInput" in config,
        paths={limit: config[f"{limit}Path"] for limit in _LIMITS if f"{limit}Path" in config},
    )
    if batcher.has_batch_input or batcher.paths:
        # BatchInput is a payload template and the Paths reference paths: what a Pass
        # state's Parameters evaluate, so the engine's own evaluator does it.
        parameters: dict[str, Any] = {f"{limit}.$": path for limit, path in batcher.paths.items()}
        if batcher.has_batch_input:
            parameters["BatchInput"] = config["BatchInput"]
        holder = {
            "StartAt": "Batch",
            "States": {"Batch": {"Type": "Pass", "Parameters": parameters, "End": True}},
        }
        try:
            program, _ = parse(json.dumps(holder))
        except ASLParserException as error:
            raise _invalid(where, f"BatchInput or a Path is not valid: {error}") from None
        batcher.dynamic = program.states.states["Batch"].parameters
    return batcher


def _marked(state: dict[str, Any], tag: str, index: int) -> tuple[str, Any]:
    """Mark the state through its Comment (what the parsed state keeps as it is); returns
    the marker and the original comment to put back."""
    marker = f"aigw:{tag}:{index}"
    original = state.get("Comment")
    state["Comment"] = marker
    return marker, original


def _components(root: Any) -> list[Any]:
    seen: set[int] = set()
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, StateMap):
            found.append(node)
        if isinstance(node, list | tuple):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, Component):
            stack.extend(vars(node).values())
    return found


def _parse_with_batchers(inner: Callable[[str], Any], definition: str) -> Any:
    try:
        document = json.loads(definition)
    except ValueError:
        return inner(definition)
    if not isinstance(document, dict):
        return inner(definition)
    tag = uuid.uuid4().hex
    marked: dict[str, tuple[ItemBatcher, Any]] = {}
    for index, (name, state) in enumerate(_map_states(document.get("States"))):
        if "ItemBatcher" in state:
            batcher = _take_batcher(name, state, inner)
            marker, original = _marked(state, tag, index)
            marked[marker] = (batcher, original)
    if not marked:
        return inner(definition)
    program, tree = inner(json.dumps(document))
    for state_map in _components(program):
        comment = state_map.comment.comment if state_map.comment is not None else None
        if comment in marked:
            batcher, original = marked[comment]
            state_map.iteration_component.aigw_item_batcher = batcher
            state_map.comment = Comment(original) if original is not None else None
    return program, tree


def _parse_with_express_children(inner: Callable[[str], Any], definition: str) -> Any:
    try:
        document = json.loads(definition)
    except ValueError:
        return inner(definition)
    changed = False
    for _, state in _map_states(document.get("States") if isinstance(document, dict) else None):
        processor = state.get("ItemProcessor") or state.get("Iterator")
        config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
        if _is_distributed(state) and config.get("ExecutionType") == "EXPRESS":
            config["ExecutionType"] = "STANDARD"
            changed = True
    return inner(json.dumps(document) if changed else definition)


# ---------------------------------------------------------------------- running
def _evaluated(env: Any, batcher: ItemBatcher, state_input: Any) -> dict[str, Any]:
    """``BatchInput`` and the Path limits, evaluated against the Map state's input."""
    if batcher.dynamic is None:
        return {}
    frame = env.open_inner_frame()
    try:
        context = env.states.context_object.context_object_data
        if "State" in context:
            frame.states.context_object.context_object_data["State"] = context["State"]
        frame.states.reset(input_value=state_input)
        frame.stack.append(state_input)  # what the paths are read against
        batcher.dynamic.eval(frame)
        return frame.stack.pop()
    finally:
        env.delete_frame(frame)


def _selected(env: Any, eval_input: Any, items: list[Any], state_input: Any) -> list[Any]:
    """Each item through ``ItemSelector`` (or ``Parameters``), as a child would get it alone."""
    selector = eval_input.item_selector or eval_input.parameters
    if selector is None:
        return items
    selected = []
    for index, item in enumerate(items):
        frame = env.open_inner_frame()
        try:
            frame.states.context_object.context_object_data["Map"] = MapData(
                Item=ItemData(Index=index, Value=item)
            )
            frame.states.reset(input_value=state_input)
            frame.stack.append(state_input)
            selector.eval(frame)
            selected.append(frame.stack.pop())
        finally:
            env.delete_frame(frame)
    return selected


def _limit(where: str, name: str, value: Any, ceiling: int | None = None) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # a variable or input may hold the number as a string
    try:
        return _positive(where, name, value, ceiling)
    except ASLParserException as error:
        raise ValueError(error.errors[0]) from None


def _map_run(inner: Callable[..., None], self: Any, env: Any, eval_input: Any) -> None:
    batcher: ItemBatcher | None = getattr(self, "aigw_item_batcher", None)
    if batcher is None:
        return inner(self, env, eval_input)
    items: list[Any] = env.stack.pop()
    state_input = env.stack[-1] if env.stack else None
    where = f"Map state {eval_input.state_name!r}: ItemBatcher"
    values = _evaluated(env, batcher, state_input)
    max_items = batcher.max_items
    if "MaxItemsPerBatch" in batcher.paths:
        max_items = _limit(where, "MaxItemsPerBatchPath", values["MaxItemsPerBatch"])
    max_bytes = batcher.max_bytes or MAX_PAYLOAD_BYTES
    if "MaxInputBytesPerBatch" in batcher.paths:
        max_bytes = _limit(
            where, "MaxInputBytesPerBatchPath", values["MaxInputBytesPerBatch"], MAX_PAYLOAD_BYTES
        )
    selected = _selected(env, eval_input, items, state_input)
    grouped = batches(
        selected,
        max_items,
        max_bytes,
        values["BatchInput"] if batcher.has_batch_input else NO_BATCH_INPUT,
    )
    # The children get their batch as it is: selection already happened, item by item.
    eval_input.item_selector = eval_input.parameters = None
    eval_input.map_run_record.aigw_batch_sizes = [len(batch["Items"]) for batch in grouped]
    env.stack.append(grouped)
    return inner(self, env, eval_input)


class _ItemsCounted:
    """A Map Run record seen by one batch's child: its item counts move by the batch's size."""

    def __init__(self, record: Any, size: int) -> None:
        self._record, self._size = record, size
        self.item_counter = _ScaledCounters(record.item_counter, size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)


class _ScaledCounters:
    def __init__(self, counters: Any, size: int) -> None:
        self._counters, self._size = counters, size

    def __getattr__(self, name: str) -> Any:
        return _ScaledCounter(getattr(self._counters, name), self._size)


class _ScaledCounter:
    def __init__(self, counter: Any, size: int) -> None:
        self._counter, self._size = counter, size

    def count(self, increment: int = 1) -> None:
        self._counter.count(increment * self._size)

    def offset(self, offset: int) -> None:
        self._counter.offset(offset * self._size)

    def get(self) -> int:
        return self._counter.get()


def _eval_job(inner: Callable[..., None], self: Any, env: Any, job: Any) -> None:
    sizes = getattr(self._map_run_record, "aigw_batch_sizes", None)
    if sizes is None:
        return inner(self, env, job)
    # One worker runs its jobs one after the other, so the swap is this job's alone.
    record = self._map_run_record
    self._map_run_record = _ItemsCounted(record, sizes[job.job_index])
    try:
        return inner(self, env, job)
    finally:
        self._map_run_record = record


FIXES: Final[list[Fix]] = [
    Fix(
        name="distributed-map-item-batcher",
        why="Distributed Maps batch items (ItemBatcher): each child workflow gets "
        '{"BatchInput": ..., "Items": [...]}.',
        upstream_bug="The ASL grammar has no ItemBatcher: a parse error at CreateStateMachine.",
        patches=[
            Wrap(AmazonStateLanguageParser, "parse", _parse_with_batchers),
            Wrap(distributed.DistributedIterationComponent, "_map_run", _map_run),
            Wrap(item_processor_worker.DistributedItemProcessorWorker, "_eval_job", _eval_job),
            Wrap(iterator_worker.DistributedIteratorWorker, "_eval_job", _eval_job),
        ],
    ),
    Fix(
        name="distributed-map-express-children",
        why='Distributed Maps run EXPRESS child workflows ("ExecutionType": "EXPRESS").',
        upstream_bug="The ASL grammar knows only STANDARD as a ProcessorConfig ExecutionType: "
        "a parse error at CreateStateMachine.",
        patches=[Wrap(AmazonStateLanguageParser, "parse", _parse_with_express_children)],
    ),
]
