"""What the emulator keeps, and for how long: no longer than AWS, and bounded.

moto keeps everything for the life of the process. A long-running ``aigw local`` grew by
hundreds of KiB per job (docs/benchmarks.md, memory growth), mostly for two reasons:

- every instance of a moto model class (``BaseModel``: each DynamoDB item and each copy of
  one made by an update or a transaction, each stream record, each S3 object version, …) is
  appended to its class's ``instances_tracked`` list, for moto server's dashboard, and never
  removed: everything ever created stays alive. The dashboard needs only the live ones.
- every message published to an SNS topic is appended to the topic's
  ``sent_notifications`` (for tests that inspect moto) and never removed. SNS delivers a
  message to the topic's subscriptions and keeps nothing (a standard topic has no archive):
  locally it is delivered and not kept.
- a table with a sort key keeps its items in a ``defaultdict`` of partitions: a GetItem
  of a missing item creates an empty partition for its partition key, and deleting a
  partition's last item leaves the empty partition behind, so every WebSocket connection
  and subscription that came and went stayed as an empty partition. An empty partition is
  dropped.
- every execution is kept with its full event history, Express executions included. AWS
  keeps no Express execution: DescribeExecution, GetExecutionHistory and ListExecutions do
  not support them (the Step Functions API reference; their history goes only to
  CloudWatch Logs when logging is on). Locally a finished Express execution is dropped: a
  DescribeExecution of it answers ``ExecutionDoesNotExist``, the modeled error. Only one
  reader legitimately waits for one: a parent's ``startExecution.sync`` task, which AWS
  lets poll its Express child; such a child is kept until that task has read its end.

`on_express_finished` registers a callback that gets each finished Express execution's
DescribeExecution answer, and its history's events on demand (what CloudWatch Logs would
get with execution data), just before it is dropped: the bench's cost meter reads durations
and state transitions there, tests the payloads of its states, and ``LocalRuntime`` keeps
the latest answers for ``wait_for_execution``.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Final

from moto.core.common_models import BaseModel
from moto.dynamodb.models.table import Table
from moto.sns.models import Topic
from moto.stepfunctions.models import StateMachineInstance
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.backend.execution import (
    BaseExecutionWorkerCommunication,
    Execution,
    SyncExecution,
)
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from aigw.local.engine.patches import Attr, Fix, Wrap

LOG = logging.getLogger(__name__)

# --------------------------------------------------------------------------- model instances


class _LiveInstances:
    """A model class's ``instances_tracked``: its instances, held weakly, in creation order."""

    def __init__(self, existing: Any = ()) -> None:
        self._refs: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._next = itertools.count()
        for instance in existing:
            self.append(instance)

    def append(self, instance: Any) -> None:
        self._refs[next(self._next)] = instance

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._refs.values()))

    def __len__(self) -> int:
        return len(self._refs)


def _new_model(cls: type, *args: Any, **kwargs: Any) -> Any:
    instance = super(BaseModel, cls).__new__(cls)
    tracked = cls.instances_tracked  # type: ignore[attr-defined]
    if not isinstance(tracked, _LiveInstances):
        # Set per class by moto's metaclass, and reset to [] by moto's reset.
        tracked = cls.instances_tracked = _LiveInstances(tracked)  # type: ignore[attr-defined]
    tracked.append(instance)
    return instance


# --------------------------------------------------------------------------- DynamoDB partitions


def _no_empty_partition(
    inner: Callable[..., Any], self: Table, hash_key: Any, *args: Any, **kwargs: Any
) -> Any:
    try:
        return inner(self, hash_key, *args, **kwargs)
    finally:
        # Under the DynamoDB lock (dynamodb_transactions), like every item access.
        if self.has_range_key and self.items.get(hash_key) == {}:
            del self.items[hash_key]


# --------------------------------------------------------------------------- SNS messages


def _init_topic(inner: Callable[..., None], self: Topic, *args: Any, **kwargs: Any) -> None:
    inner(self, *args, **kwargs)
    self.sent_notifications = collections.deque(maxlen=0)  # type: ignore[assignment]


# --------------------------------------------------------------------------- Express executions


class _Executions(list[Execution]):
    """A state machine's executions. moto looks one up by iterating the list while other
    threads append and (now) remove: iterating a snapshot never skips an execution."""

    def __iter__(self) -> Iterator[Execution]:
        return list.__iter__(self.copy())


def _init_state_machine(inner: Callable[..., None], self: Any, *args: Any, **kwargs: Any) -> None:
    inner(self, *args, **kwargs)
    self.executions = _Executions()


#: ``listener(described, history)``: DescribeExecution's answer, and a function that
#: returns the history's events (built only for a listener that asks).
ExpressListener = Callable[[dict[str, Any], Callable[[], list[dict[str, Any]]]], None]
_listeners: list[ExpressListener] = []
_awaiting = threading.local()
_AWAITED: Final = "_aigw_awaited"


def on_express_finished(listener: ExpressListener) -> Callable[[], None]:
    """Call ``listener(described, history)`` when an Express execution has finished, just
    before it is dropped; returns a function that removes the listener."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def _is_express(execution: Execution) -> bool:
    return (
        not isinstance(execution, SyncExecution)  # never stored
        and getattr(execution.state_machine, "type", "STANDARD") == "EXPRESS"
    )


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)  # moto's str enums, as boto3 gives them


def _drop(execution: Execution) -> None:
    listeners = list(_listeners)
    if listeners:
        described = dict(execution.to_describe_output())
        described["status"] = _plain(described["status"])

    def history() -> list[dict[str, Any]]:
        return [
            {**event, "type": _plain(event["type"])}
            for event in execution.to_history_output()["events"]
        ]

    for listener in listeners:
        try:
            listener(described, history)
        except Exception:  # a listener's bug must not keep the execution or stop the engine
            LOG.exception("on_express_finished listener failed")
    backend = stepfunctions_parser_backends[execution.account_id][execution.region_name]
    for machine in backend.state_machines:
        if machine.arn == execution.state_machine.arn:
            with contextlib.suppress(ValueError):  # already dropped
                machine.executions.remove(execution)
            return


def _start(inner: Callable[..., None], self: Execution) -> None:
    # Marked before the execution's thread starts, so it cannot end unmarked.
    if getattr(_awaiting, "sync", False):
        setattr(self, _AWAITED, True)
    inner(self)


def _eval_service_task(
    inner: Callable[..., Any], self: StateTaskServiceSfn, *args: Any, **kwargs: Any
) -> Any:
    # A .sync / .sync:2 startExecution polls its child with DescribeExecution.
    _awaiting.sync = self.resource.api_action.lower() == "startexecution" and (
        self.resource.condition in (ResourceCondition.Sync, ResourceCondition.Sync2)
    )
    try:
        return inner(self, *args, **kwargs)
    finally:
        _awaiting.sync = False


def _sync_resolver(
    inner: Callable[..., Any], self: StateTaskServiceSfn, *args: Any, **kwargs: Any
) -> Callable[[], Any]:
    env = kwargs["env"] if "env" in kwargs else args[0]
    execution_arn = env.stack[-1]["ExecutionArn"]  # what startExecution answered
    resolve = inner(self, *args, **kwargs)

    def resolve_then_release() -> Any:
        try:
            answer = resolve()
        except Exception:  # the child failed: the task has read its end
            _release(execution_arn)
            raise
        if answer is not None:  # the child succeeded: the task has read it
            _release(execution_arn)
        return answer

    return resolve_then_release


def _release(execution_arn: str) -> None:
    region, account = execution_arn.split(":")[3:5]
    backend = stepfunctions_parser_backends[account][region]
    for machine in backend.state_machines:
        for execution in machine.executions:
            if execution.exec_arn == execution_arn:
                if _is_express(execution):
                    _drop(execution)
                return


def _terminated(inner: Callable[..., None], self: BaseExecutionWorkerCommunication) -> None:
    inner(self)
    execution = self.execution
    if _is_express(execution) and not getattr(execution, _AWAITED, False):
        _drop(execution)


FIXES: Final[list[Fix]] = [
    Fix(
        name="model-instances-weak",
        why="A long-running runtime must not keep every item, item copy and stream record "
        "it ever made.",
        upstream_bug="BaseModel.__new__ appends every instance to its class's "
        "instances_tracked (for the server dashboard) and never removes it.",
        patches=[Attr(BaseModel, "__new__", staticmethod(_new_model))],
    ),
    Fix(
        name="dynamodb-empty-partitions-dropped",
        why="Reading a missing item or deleting the last of a partition must not leave an "
        "empty partition behind for the life of the process.",
        upstream_bug="Table.items is a defaultdict: get_item on a missing key creates a "
        "partition and delete_item leaves an emptied one.",
        patches=[
            Wrap(Table, "get_item", _no_empty_partition),
            Wrap(Table, "delete_item", _no_empty_partition),
        ],
    ),
    Fix(
        name="sns-messages-not-kept",
        why="SNS keeps no published message; locally every one stayed in memory.",
        upstream_bug="Topic.publish appends every message to sent_notifications, for ever.",
        patches=[Wrap(Topic, "__init__", _init_topic)],
    ),
    Fix(
        name="express-executions-not-kept",
        why="AWS keeps no Express execution (DescribeExecution, GetExecutionHistory and "
        "ListExecutions do not support them); locally each kept its whole history.",
        upstream_bug="Every execution, Express included, is kept with its history for the "
        "life of the process.",
        patches=[
            Wrap(StateMachineInstance, "__init__", _init_state_machine),
            Wrap(Execution, "start", _start),
            Wrap(StateTaskServiceSfn, "_eval_service_task", _eval_service_task),
            Wrap(StateTaskServiceSfn, "_build_sync_resolver", _sync_resolver),
            Wrap(StateTaskServiceSfn, "_build_sync2_resolver", _sync_resolver),
            Wrap(BaseExecutionWorkerCommunication, "terminated", _terminated),
        ],
    ),
]
