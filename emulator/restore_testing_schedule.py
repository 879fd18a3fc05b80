"""Restore testing plans run on their own schedule, as AWS Backup runs them.

AWS source: the API reference's RestoreTestingPlanForCreate: `ScheduleExpression` is "a CRON expression in
specified timezone" (six fields: minutes, hours, day-of-month, month, day-of-week, year; one of the two day
fields is `?`), `ScheduleExpressionTimezone` defaults to UTC, `StartWindowHours` (default 24, at most 168) is
how long after the scheduled time a job may still start. The emulator starts a run's jobs at the scheduled
minute itself (well inside any start window). Supported field syntax: `*`, `?`, numbers, `JAN`-`DEC`,
`SUN`-`SAT` (1 = Sunday), ranges, lists and `/` steps; the `L`, `W` and `#` forms are refused as unsupported.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emulator.core import Emulator
from emulator.wire import ApiError

log = logging.getLogger("emulator.restore_testing")

_CRON = re.compile(r"^cron\(([^)]*)\)$")
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (low, high, names that stand for low, low + 1, ...)
_FIELDS: list[tuple[int, int, list[str]]] = [(0, 59, []), (0, 23, []), (1, 31, []), (1, 12, _MONTHS), (1, 7, _DAYS)]
_TICK_SECONDS = 1.0


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: `?`
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday; None: `?`
    years: frozenset[int] | None  # None: every year

    def matches(self, moment: datetime) -> bool:
        weekday = moment.isoweekday() % 7 + 1  # Python's Monday=1..Sunday=7 -> AWS's Sunday=1..Saturday=7
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.month in self.months
            and (self.days is None or moment.day in self.days)
            and (self.weekdays is None or weekday in self.weekdays)
            and (self.years is None or moment.year in self.years)
        )


def _value(text: str, low: int, names: list[str]) -> int:
    upper = text.upper()
    if upper in names:
        return low + names.index(upper)
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a value (the L, W and # forms are not supported by the emulator)")
    return int(text)


def _field(text: str, low: int, high: int, names: list[str]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else (1 if not step_text else 0)
        if step == 0:
            raise ValueError(f"bad step in {part!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, low, names), _value(last, low, names)
        else:
            start = _value(base, low, names)
            end = high if step_text else start
        if not low <= start <= end <= high:
            raise ValueError(f"{part!r} is out of {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(expression: str) -> Cron:
    """ValueError when AWS would refuse the expression (or it uses a form the emulator does not evaluate)."""
    found = _CRON.match(expression.strip())
    if found is None:
        raise ValueError("a restore testing schedule is a cron(...) expression")
    parts = found.group(1).split()
    if len(parts) != 6:
        raise ValueError("a cron expression has six fields")
    if (parts[2] == "?") == (parts[4] == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week must be '?'")
    fields = [None if part == "?" else _field(part, *spec) for part, spec in zip(parts[:5], _FIELDS, strict=True)]
    years = None if parts[5] == "*" else _field(parts[5], 1970, 2199, [])
    minutes, hours, days, months, weekdays = fields
    assert minutes is not None and hours is not None and months is not None
    return Cron(minutes, hours, days, months, weekdays, years)


def check_schedule(spec: dict[str, object]) -> None:
    """AWS's validation of a plan's schedule, at create and update."""
    try:
        parse_cron(str(spec.get("ScheduleExpression") or ""))
    except ValueError as exc:
        raise ApiError("InvalidParameterValueException", f"Invalid ScheduleExpression: {exc}.") from exc
    zone = spec.get("ScheduleExpressionTimezone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long for a file
            raise ApiError("InvalidParameterValueException", f"Invalid ScheduleExpressionTimezone: {zone}.") from exc


def due(expression: str, zone: str | None, after: datetime, until: datetime) -> bool:
    """Whether the schedule names a minute in (after, until], read in the plan's timezone."""
    cron = parse_cron(expression)
    tz = ZoneInfo(zone or "UTC")
    minute = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute <= until:
        if cron.matches(minute.astimezone(tz)):
            return True
        minute += timedelta(minutes=1)
    return False


async def run_schedules(emu: Emulator) -> None:
    """Every second, run each plan whose schedule named a minute since the last look (knob
    `restore_testing_schedules`; the control endpoint's run-now works either way)."""
    from emulator.restore_testing_run import run_plan  # the run builds on restores; imported when first needed

    last = datetime.now(UTC)
    while True:
        await asyncio.sleep(_TICK_SECONDS)
        now = datetime.now(UTC)
        if now.replace(second=0, microsecond=0) == last.replace(second=0, microsecond=0):
            continue
        if emu.knobs.restore_testing_schedules:
            for plan in list(emu.store.testing_plans.values()):
                since = max(last, plan.created)
                if due(plan.spec["ScheduleExpression"], plan.spec.get("ScheduleExpressionTimezone"), since, now):
                    try:
                        jobs = run_plan(emu, plan.name)
                    except ApiError as err:
                        log.warning("scheduled run of %s refused: %s", plan.name, err.message)
                        continue
                    log.info("scheduled run of %s started %d restore job(s)", plan.name, len(jobs))
        last = now
