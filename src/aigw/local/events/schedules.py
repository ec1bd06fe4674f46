"""Scheduled rules and EventBridge Scheduler schedules, fired while the runtime runs.

moto stores a rule's ``ScheduleExpression`` but never fires it. :class:`Schedules` does: an
enabled ``rate(...)`` fires every period (multiplied by the runtime's ``time_scale``, so a
test sees an hourly schedule fire in milliseconds), a ``cron(...)`` at the real minutes it
names, an ``at(...)`` once. A rule's state is read at every firing, so ``DisableRule`` and
``EnableRule`` take effect as on AWS; a disabled schedule never fires.

The event of a scheduled rule is AWS's "Scheduled Event" (``source: aws.events``,
``resources: [rule ARN]``, ``detail: {}``), delivered to the rule's targets with their
``Input``/``InputPath``/``InputTransformer``. A Scheduler schedule sends its target's
``Input`` (the text as given), or ``{}`` when it has none.
"""

from __future__ import annotations

import calendar
import datetime
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger("aigw.local.events")

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}


class ScheduleError(ValueError):
    """A schedule expression the runtime cannot fire; the message says which and why."""


@dataclass
class Cron:
    """AWS's six-field cron (minutes hours day-of-month month day-of-week year), in UTC."""

    fields: list[set[int] | None]  # None: any ("*" or "?")

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != 6:
            raise ScheduleError(f"cron({text}): AWS cron has six fields")
        ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199)]
        names = [{}, {}, {}, _MONTHS, _DAYS, {}]
        return cls(
            [_cron_field(p, r, n, text) for p, r, n in zip(parts, ranges, names, strict=True)]
        )

    def matches(self, moment: datetime.datetime) -> bool:
        weekday = moment.isoweekday() % 7 + 1  # AWS: 1 is Sunday
        values = [moment.minute, moment.hour, moment.day, moment.month, weekday, moment.year]
        return all(
            allowed is None or value in allowed
            for allowed, value in zip(self.fields, values, strict=True)
        )


def _cron_field(
    part: str, bounds: tuple[int, int], names: dict[str, int], text: str
) -> set[int] | None:
    if part in ("*", "?"):
        return None
    if any(special in part for special in ("L", "W", "#")) and not part.isalpha():
        raise ScheduleError(f"cron({text}): '{part}' (L, W, #) is not fired locally")
    low, high = bounds
    allowed: set[int] = set()
    for item in part.split(","):
        base, _, step = item.partition("/")
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            start, _, stop = base.partition("-")
            first, last = _cron_value(start, names, text), _cron_value(stop, names, text)
        else:
            first = _cron_value(base, names, text)
            last = high if step else first
        allowed.update(range(first, last + 1, int(step) if step else 1))
    return allowed


def _cron_value(value: str, names: dict[str, int], text: str) -> int:
    if value.upper() in names:
        return names[value.upper()]
    if not value.isdigit():
        raise ScheduleError(f"cron({text}): '{value}' is not a value")
    return int(value)


@dataclass
class _Schedule:
    name: str
    expression: str
    fire: Callable[[], None]
    enabled: Callable[[], bool]
    period: float | None = None
    cron: Cron | None = None
    at: float | None = None
    next_at: float = 0.0
    fired: int = field(default=0)


class Schedules:
    """The runtime's schedules, fired from one thread between :meth:`start` and :meth:`stop`."""

    def __init__(self, time_scale: Callable[[], float]) -> None:
        self._time_scale = time_scale
        self._schedules: list[_Schedule] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def check(expression: str) -> None:
        """Raise ScheduleError unless ``expression`` can be fired locally."""
        _parse(expression)

    def add(
        self,
        name: str,
        expression: str,
        fire: Callable[[], None],
        enabled: Callable[[], bool],
    ) -> None:
        period, cron, at = _parse(expression)
        schedule = _Schedule(name, expression, fire, enabled, period, cron, at)
        now = time.time()
        if period is not None:
            # AWS starts a rate's clock when the rule is created: the first firing is one
            # period later.
            schedule.next_at = now + period * self._time_scale()
        elif at is not None:
            schedule.next_at = at
        else:
            schedule.next_at = _next_minute(now)
        with self._lock:
            self._schedules.append(schedule)
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="aigw-schedules", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            with self._lock:
                due = [s for s in self._schedules if s.next_at <= now]
                for schedule in due:
                    schedule.next_at = self._following(schedule, now)
                upcoming = min((s.next_at for s in self._schedules), default=now + 60)
            for schedule in due:
                if schedule.cron is not None and not schedule.cron.matches(
                    datetime.datetime.fromtimestamp(now, datetime.UTC)
                ):
                    continue
                self._fire(schedule)
            self._wake.wait(max(0.0, min(upcoming - time.time(), 60)))
            self._wake.clear()

    def _following(self, schedule: _Schedule, now: float) -> float:
        if schedule.period is not None:
            return now + schedule.period * self._time_scale()
        if schedule.cron is not None:
            return _next_minute(now)
        return float("inf")  # at(): once

    def _fire(self, schedule: _Schedule) -> None:
        try:
            if not schedule.enabled():
                return
            schedule.fired += 1
            schedule.fire()
        except Exception:
            LOG.exception("schedule %s (%s) failed to fire", schedule.name, schedule.expression)


def _parse(expression: str) -> tuple[float | None, Cron | None, float | None]:
    expression = expression.strip()
    if rate := _RATE.match(expression):
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value <= 0:
            raise ScheduleError(f"{expression}: the rate must be positive")
        return value * _UNIT_SECONDS[unit], None, None
    if cron := _CRON.match(expression):
        return None, Cron.parse(cron.group(1)), None
    if at := _AT.match(expression):
        moment = datetime.datetime.fromisoformat(at.group(1)).replace(tzinfo=datetime.UTC)
        return None, None, moment.timestamp()
    raise ScheduleError(f"{expression!r} is not a rate(), cron() or at() expression")


def _next_minute(now: float) -> float:
    return (int(now) // 60 + 1) * 60


def scheduled_event(rule_arn: str, account: str, region: str) -> dict[str, Any]:
    """The event EventBridge sends a scheduled rule's targets."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
