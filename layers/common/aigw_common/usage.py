"""The Usage table: tenants' limits counters, daily usage aggregates and settlement records.
The only code that reads or writes it.

Items (partition ``tenant_id``, sort ``sk``):

- ``active``: ``active_jobs``, the tenant's jobs and runs holding a concurrency slot;
- ``month#YYYY-MM``: ``jobs`` admitted, ``reserved_usd`` (estimates of jobs still
  running), ``spent_usd`` (settled), ``committed_usd`` (reserved + spent: what the budget
  is checked against, one attribute so one condition can compare it);
- ``day#YYYY-MM-DD#<pipeline>``: ``jobs``, ``failed``, ``cache_hits``, ``cost_usd`` and,
  per billing unit, its quantity (``u#service#operation#unit``), per service its cost
  (``c#service``) and the jobs that called it (``j#service``): what ``GET /v1/usage``
  adds up (ADD only works on top-level attributes, hence the flat names);
- ``settled#<job id>``: written once, with the rest of a job's settlement, in one
  transaction whose condition is that it does not exist yet: a job is settled exactly
  once whoever tries (stream retries, any path that ends jobs).

Admission (``admission_items``) joins the job's own creation in one DynamoDB transaction:
the concurrency slot, the month's job count and the reservation of the job's estimated
cost are conditional updates, so N concurrent submissions against room for k admit exactly
k; nothing is read first and then acted on.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from aigw_common.errors import InvalidInput, QuotaExceeded
from aigw_common.metering import Usage
from aigw_common.tenant_settings import Limits

ACTIVE = "active"
MONTH_PREFIX = "month#"
DAY_PREFIX = "day#"
SETTLED_PREFIX = "settled#"
#: How long a settlement record is kept: longer than anything can retry a settlement (a
#: stream keeps records 24 hours).
SETTLED_RETENTION_SECONDS = 40 * 24 * 3600
#: A refused job whose limit frees when other jobs end is told to retry after this long.
SLOT_RETRY_SECONDS = 5
#: Transactions that lose a conflict with another one on the same item are tried again.
CONFLICT_ATTEMPTS = 6
#: The longest period GET /v1/usage adds up.
MAX_REPORT_DAYS = 366
GROUPS = ("day", "pipeline", "service")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _value(value: Any) -> dict[str, Any]:
    return _serializer.serialize(value)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def month_of(day: datetime.date) -> str:
    return day.strftime("%Y-%m")


def seconds_to_next_month(now: datetime.datetime) -> int:
    first = (now.replace(day=1) + datetime.timedelta(days=32)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    return max(1, int((first - now).total_seconds()) + 1)


@dataclass(frozen=True)
class Reservation:
    """What a job holds from admission until it is settled: a concurrency slot and its
    estimated cost in the budget of the month it was admitted in."""

    month: str
    estimate: Usage

    def record(self) -> dict[str, Any]:
        return {"month": self.month, "estimate": self.estimate.record()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Reservation:
        return cls(month=record["month"], estimate=Usage.from_record(record["estimate"]))


@dataclass(frozen=True)
class EndedJob:
    """A job (or synchronous run) that ended, as its settlement needs it."""

    tenant_id: str
    job_id: str
    pipeline: str
    status: str
    day: datetime.date
    usage: Usage
    reservation: Reservation | None
    #: Set when the job item still exists and has no usage yet: the usage settled (an
    #: estimate, or nothing) is written onto it in the same transaction.
    job_key: dict[str, Any] | None = None


class UsageLedger:
    def __init__(
        self,
        table_name: str,
        client: Any,
        *,
        jobs_table: str | None = None,
        clock: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.table_name = table_name
        self.client = client
        self.jobs_table = jobs_table
        self.clock = clock or (lambda: datetime.datetime.now(datetime.UTC))

    def _key(self, tenant_id: str, sk: str) -> dict[str, Any]:
        return {"tenant_id": _value(tenant_id), "sk": _value(sk)}

    # ------------------------------------------------------------------ admission
    def admission_items(
        self, tenant_id: str, limits: Limits, reservation: Reservation
    ) -> list[dict[str, Any]]:
        """The transaction items that take a slot, count the job and reserve its estimate:
        [slot, month]. Raises QuotaExceeded at once for a job whose estimate alone is over
        the budget."""
        estimate = reservation.estimate.ai_cost_usd
        # A limit of 0 admits nothing; a condition on a counter that does not exist yet
        # (the first job) could not say so.
        if limits.max_concurrent_jobs == 0:
            raise QuotaExceeded(
                "max_concurrent_jobs",
                "this tenant may run no jobs at once (its limit is 0)",
                retry_after=SLOT_RETRY_SECONDS,
            )
        if limits.monthly_jobs == 0:
            raise QuotaExceeded(
                "monthly_jobs",
                "this tenant may run no jobs this month (its limit is 0)",
                retry_after=seconds_to_next_month(self.clock()),
            )
        slot: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key(tenant_id, ACTIVE),
            "UpdateExpression": "ADD active_jobs :one",
            "ExpressionAttributeValues": {":one": _value(1)},
        }
        if limits.max_concurrent_jobs is not None:
            slot["ConditionExpression"] = "attribute_not_exists(active_jobs) OR active_jobs < :max"
            slot["ExpressionAttributeValues"][":max"] = _value(limits.max_concurrent_jobs)
        month: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key(tenant_id, MONTH_PREFIX + reservation.month),
            "UpdateExpression": "ADD jobs :one, reserved_usd :estimate, committed_usd :estimate",
            "ExpressionAttributeValues": {":one": _value(1), ":estimate": _value(estimate)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        conditions = []
        if limits.monthly_jobs is not None:
            conditions.append("(attribute_not_exists(jobs) OR jobs < :max_jobs)")
            month["ExpressionAttributeValues"][":max_jobs"] = _value(limits.monthly_jobs)
        if limits.monthly_budget_usd is not None:
            # No arithmetic in conditions: the room the estimate needs is worked out here.
            headroom = limits.monthly_budget_usd - estimate
            if headroom < 0:
                raise QuotaExceeded(
                    "monthly_budget_usd",
                    f"this job's estimated cost (${estimate}) is over the monthly budget "
                    f"(${limits.monthly_budget_usd})",
                    retry_after=seconds_to_next_month(self.clock()),
                )
            conditions.append("(attribute_not_exists(committed_usd) OR committed_usd <= :headroom)")
            month["ExpressionAttributeValues"][":headroom"] = _value(headroom)
        if conditions:
            month["ConditionExpression"] = " AND ".join(conditions)
        return [{"Update": slot}, {"Update": month}]

    def refusal(
        self, reasons: list[dict[str, Any]], limits: Limits, reservation: Reservation
    ) -> QuotaExceeded | None:
        """The limit a cancelled admission ran into ([slot, month] reasons), if any."""
        slot, month = reasons
        now = self.clock()
        if slot.get("Code") == "ConditionalCheckFailed":
            return QuotaExceeded(
                "max_concurrent_jobs",
                f"this tenant may run at most {limits.max_concurrent_jobs} jobs at once and "
                "has that many running; retry when one has ended",
                retry_after=SLOT_RETRY_SECONDS,
            )
        if month.get("Code") != "ConditionalCheckFailed":
            return None
        counters = _plain(month.get("Item") or {})
        if limits.monthly_jobs is not None and counters.get("jobs", 0) >= limits.monthly_jobs:
            return QuotaExceeded(
                "monthly_jobs",
                f"this tenant has run its {limits.monthly_jobs} jobs of {reservation.month}",
                retry_after=seconds_to_next_month(now),
            )
        spent = Decimal(str(counters.get("spent_usd", 0)))
        budget = limits.monthly_budget_usd or Decimal(0)
        # Spent money does not come back this month; reservations of running jobs do.
        frees_up = spent + reservation.estimate.ai_cost_usd <= budget
        return QuotaExceeded(
            "monthly_budget_usd",
            f"this job's estimated cost (${reservation.estimate.ai_cost_usd}) does not fit "
            f"in what is left of the monthly budget (${budget})"
            + ("; running jobs hold the rest until they end" if frees_up else ""),
            retry_after=SLOT_RETRY_SECONDS if frees_up else seconds_to_next_month(now),
        )

    # ------------------------------------------------------------------ settlement
    def settle(self, ended: EndedJob) -> bool:
        """Count an ended job once: release its slot and reservation, charge its cost, add
        it to the day's aggregates. False when it was settled before."""
        items = self._settlement_items(ended)
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=items)
                return True
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                codes = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return False  # settled already
                if ended.job_key is not None and codes and codes[-1] == "ConditionalCheckFailed":
                    # The job item went (TTL) or got its usage meanwhile: settle without it.
                    ended = EndedJob(**{**ended.__dict__, "job_key": None})
                    items = self._settlement_items(ended)
                    continue
                if "TransactionConflict" not in codes or attempt == CONFLICT_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")

    def _settlement_items(self, ended: EndedJob) -> list[dict[str, Any]]:
        cost = ended.usage.ai_cost_usd
        day = ended.day.isoformat()
        marker = {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    **self._key(ended.tenant_id, SETTLED_PREFIX + ended.job_id),
                    "pipeline": _value(ended.pipeline),
                    "status": _value(ended.status),
                    "day": _value(day),
                    "cost_usd": _value(cost),
                    "basis": _value(ended.usage.basis),
                    "expires_at": _value(int(time.time()) + SETTLED_RETENTION_SECONDS),
                },
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }
        items: list[dict[str, Any]] = [marker]
        reservation = ended.reservation
        if reservation is not None:
            estimate = reservation.estimate.ai_cost_usd
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": self._key(ended.tenant_id, ACTIVE),
                        "UpdateExpression": "ADD active_jobs :minus_one",
                        "ExpressionAttributeValues": {":minus_one": _value(-1)},
                    }
                }
            )
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": self._key(ended.tenant_id, MONTH_PREFIX + reservation.month),
                        "UpdateExpression": "ADD reserved_usd :release, spent_usd :cost, "
                        "committed_usd :change",
                        "ExpressionAttributeValues": {
                            ":release": _value(-estimate),
                            ":cost": _value(cost),
                            ":change": _value(cost - estimate),
                        },
                    }
                }
            )
        items.append(self._day_item(ended, cost))
        if ended.job_key is not None and self.jobs_table is not None:
            items.append(
                {
                    "Update": {
                        "TableName": self.jobs_table,
                        "Key": ended.job_key,
                        "UpdateExpression": "SET #usage = :usage",
                        "ConditionExpression": "attribute_exists(job_id) "
                        "AND attribute_not_exists(#usage)",
                        "ExpressionAttributeNames": {"#usage": "usage"},
                        "ExpressionAttributeValues": {":usage": _value(ended.usage.record())},
                    }
                }
            )
        return items

    def _day_item(self, ended: EndedJob, cost: Decimal) -> dict[str, Any]:
        adds = {
            "jobs": Decimal(1),
            "cost_usd": cost,
            "failed": Decimal(0 if ended.status == "SUCCEEDED" else 1),
            "cache_hits": Decimal(1 if ended.usage.cached else 0),
        }
        for item in ended.usage.items:
            unit = f"u#{item.service}#{item.operation}#{item.unit}"
            adds[unit] = adds.get(unit, Decimal(0)) + item.quantity
            service = f"c#{item.service}"
            adds[service] = adds.get(service, Decimal(0)) + item.cost_usd
            adds[f"j#{item.service}"] = Decimal(1)
        names = {f"#a{index}": name for index, name in enumerate(adds)}
        values = {f":v{index}": _value(value) for index, value in enumerate(adds.values())}
        expression = "ADD " + ", ".join(f"#a{index} :v{index}" for index in range(len(adds)))
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(
                    ended.tenant_id, f"{DAY_PREFIX}{ended.day.isoformat()}#{ended.pipeline}"
                ),
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    # ------------------------------------------------------------------ reading
    def counters(self, tenant_id: str, month: str) -> tuple[int, dict[str, Any]]:
        """(active jobs now, the month's counters)."""
        answer = self.client.batch_get_item(
            RequestItems={
                self.table_name: {
                    "Keys": [
                        self._key(tenant_id, ACTIVE),
                        self._key(tenant_id, MONTH_PREFIX + month),
                    ],
                    "ConsistentRead": True,
                }
            }
        )
        found = {
            item["sk"]: item
            for item in map(_plain, answer.get("Responses", {}).get(self.table_name, []))
        }
        active = int(found.get(ACTIVE, {}).get("active_jobs", 0))
        return active, found.get(MONTH_PREFIX + month, {})

    def days(self, tenant_id: str, start: datetime.date, end: datetime.date) -> list[dict]:
        """The day aggregates from ``start`` to ``end`` (inclusive), every pipeline."""
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "tenant_id = :tenant AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":tenant": _value(tenant_id),
                ":first": _value(f"{DAY_PREFIX}{start.isoformat()}#"),
                ":last": _value(f"{DAY_PREFIX}{end.isoformat()}#\uffff"),
            },
        }
        found: list[dict[str, Any]] = []
        while True:
            page = self.client.query(**query)
            found.extend(_plain(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# ---------------------------------------------------------------------------- the report


def parse_period(
    query: dict[str, str], today: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """``from`` and ``to`` (YYYY-MM-DD, inclusive); by default this month so far."""

    def day(name: str, default: datetime.date) -> datetime.date:
        value = query.get(name)
        if value is None:
            return default
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{name} must be a date, YYYY-MM-DD (got {value!r})") from None

    start = day("from", today.replace(day=1))
    end = day("to", today)
    if end < start:
        raise InvalidInput("to must not be before from")
    if (end - start).days >= MAX_REPORT_DAYS:
        raise InvalidInput(f"a report covers at most {MAX_REPORT_DAYS} days")
    return start, end


def _unit_label(attribute: str) -> tuple[str, str]:
    """(service, "service Operation (unit)") of a ``u#service#operation#unit`` attribute."""
    service, operation, unit = attribute[2:].split("#", 2)
    return service, f"{service} {operation} ({unit})"


def report(
    days: list[dict[str, Any]],
    start: datetime.date,
    end: datetime.date,
    group_by: str,
) -> dict[str, Any]:
    """``{from, to, currency, group_by, jobs, cache_hits, failed, cost_usd, groups}`` from
    day aggregates. Groups by day or pipeline: ``{key, jobs, cache_hits, failed, cost_usd,
    units}``; by service: ``{key, jobs, cost_usd, units}`` (jobs that called it)."""
    if group_by not in GROUPS:
        raise InvalidInput(f"group_by must be one of: {', '.join(GROUPS)}")
    counts = ("jobs", "cache_hits", "failed")
    totals: dict[str, Any] = {name: Decimal(0) for name in (*counts, "cost_usd")}
    groups: dict[str, dict[str, Any]] = {}

    def group(key: str) -> dict[str, Any]:
        fields = ("jobs",) if group_by == "service" else counts
        empty = {"key": key, **dict.fromkeys(fields, Decimal(0))}
        return groups.setdefault(key, {**empty, "cost_usd": Decimal(0), "units": {}})

    for item in days:
        _, day, pipeline = item["sk"].split("#", 2)
        for name in totals:
            totals[name] += item.get(name, 0)
        if group_by != "service":
            entry = group(day if group_by == "day" else pipeline)
            for name in (*counts, "cost_usd"):
                entry[name] += item.get(name, 0)
        for name, value in item.items():
            if group_by == "service" and name.startswith("c#"):
                group(name[2:])["cost_usd"] += value
            elif group_by == "service" and name.startswith("j#"):
                group(name[2:])["jobs"] += value
            elif name.startswith("u#"):
                service, label = _unit_label(name)
                units = group(service if group_by == "service" else entry["key"])["units"]
                units[label] = units.get(label, Decimal(0)) + value
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "currency": "USD",
        "group_by": group_by,
        **{name: _number(totals[name]) for name in counts},
        "cost_usd": float(totals["cost_usd"]),
        "groups": [_json(groups[key]) for key in sorted(groups)],
    }


def _number(value: Any) -> int | float:
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _json(entry: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, value in entry.items():
        if name == "key":
            shown[name] = value
        elif name == "cost_usd":
            shown[name] = float(value)
        elif name == "units":
            shown[name] = {label: _number(value[label]) for label in sorted(value)}
        else:
            shown[name] = _number(value)
    return shown
