"""CreateSchedule in a schedule group that does not exist is ResourceNotFoundException."""

from __future__ import annotations

from typing import Any, Final

from moto.scheduler.models import EventBridgeSchedulerBackend

from aigw.local.engine.patches import Attr, Fix

_ORIGINAL_CREATE_SCHEDULE: Final = EventBridgeSchedulerBackend.create_schedule


def _create_schedule(self: EventBridgeSchedulerBackend, *args: Any, **kwargs: Any) -> Any:
    # moto's own look-up, which raises the modeled error (404 ResourceNotFoundException,
    # "Schedule group <name> does not exist.") instead of a KeyError.
    self.get_schedule_group(kwargs.get("group_name"))
    return _ORIGINAL_CREATE_SCHEDULE(self, *args, **kwargs)


FIXES: Final[list[Fix]] = [
    Fix(
        name="scheduler-missing-group",
        why="CreateSchedule in a group that does not exist must answer "
        "ResourceNotFoundException (404), one of the operation's modeled errors.",
        upstream_bug="EventBridgeSchedulerBackend.create_schedule indexes its groups "
        "directly: a KeyError, a 500 to the caller and States.Runtime in a task.",
        patches=[Attr(EventBridgeSchedulerBackend, "create_schedule", _create_schedule)],
    ),
]
