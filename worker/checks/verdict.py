"""Verdicts on what a check observed, shared by the SQL and the DynamoDB table checks: freshness, counts,
equality of values, plugins."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from worker.checks.results import CheckContext, CheckOutcome, CheckResult, Status
from worker.checks.values import CheckError, to_jsonable
from worker.durations import format_duration
from worker.model import as_utc
from worker.policy import CheckSpec, FreshnessCheck, PluginCheck, RowCountCheck
from worker.policy_table_checks import ItemCountCheck


@dataclass(frozen=True)
class Verdict:
    passed: bool
    observed: Any
    message: str
    newest_row_at: datetime | None = None
    row_count: int | None = None
    table: str | None = None

    def result(self, check: CheckSpec, status: Status, expectation: str, duration: float, **extra: Any) -> CheckResult:
        """The check's result with this verdict; `extra`: CheckResult fields of one kind of check only."""
        return CheckResult(
            name=check.name,
            kind=check.kind,
            status=status,
            observed=to_jsonable(self.observed),
            expectation=expectation,
            message=self.message,
            duration_seconds=duration,
            newest_row_at=self.newest_row_at,
            row_count=self.row_count,
            table=self.table,
            **extra,
        )


def judge_newest(newest: datetime, check: FreshnessCheck, ctx: CheckContext, what: str = "row") -> Verdict:
    """The freshness verdict on the newest row's (or item's) time: its age now, its gap to the recovery point."""
    age = as_utc(ctx.now) - newest
    problems = []
    if age > check.max_age:
        problems.append(f"newest {what} is {format_duration(age)} old, more than {format_duration(check.max_age)}")
    if check.max_gap is not None:
        if ctx.recovery_point_created_at is None:
            raise CheckError("max_gap needs the recovery point's creation time, which is unknown")
        gap = as_utc(ctx.recovery_point_created_at) - newest
        if gap > check.max_gap:
            limit = format_duration(check.max_gap)
            problems.append(f"newest {what} is {format_duration(gap)} older than the recovery point, over {limit}")
    message = "; ".join(problems) or f"newest {what} is {format_duration(age)} old"
    return Verdict(not problems, newest, message, newest_row_at=newest)


def freshness_expectation(check: FreshnessCheck, what: str) -> str:
    """What a freshness check expects of the newest row (or item attribute), in words."""
    text = f"newest {what} within {format_duration(check.max_age)} of now"
    if check.max_gap is not None:
        text += f" and within {format_duration(check.max_gap)} before the recovery point"
    return text


def judge_count(count: int, check: RowCountCheck | ItemCountCheck, previous: int | None, what: str = "rows") -> Verdict:
    """At least `min`, and at most `max_drop` (a fraction) fewer than the previous run's count."""
    problems = []
    if check.min is not None and count < check.min:
        problems.append(f"{count} {what}, fewer than {check.min}")
    # Decimal so that a 10% drop from 1000 is exactly 100 rows, not 100.00000000000001
    if check.max_drop is not None and previous and previous - count > Decimal(str(check.max_drop)) * previous:
        drop = (previous - count) / previous
        problems.append(f"{count} {what}, {drop:.1%} fewer than the previous run's {previous}")
    message = "; ".join(problems) or f"{count} {what}" + (f" (previous run: {previous})" if previous else "")
    return Verdict(not problems, count, message, row_count=count)


def equal(value: Any, expected: bool | int | float | str) -> bool:
    observed_number, expected_number = as_number(value), as_number(expected)
    if observed_number is not None and expected_number is not None:
        return observed_number == expected_number  # Decimal("0") == 0, 1.0 == 1, MySQL's 1 == true
    if isinstance(expected, str):
        return value is not None and str(to_jsonable(value)) == expected
    return bool(value == expected)


def as_number(value: Any) -> Decimal | None:
    """The value as an exact number, if it is one (drivers return Decimal, int, float, even numeric text)."""
    if isinstance(value, bool | int):
        return Decimal(int(value))
    if isinstance(value, float | Decimal | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


async def call_plugin(data: Any, check: PluginCheck, ctx: CheckContext) -> Verdict:
    """A plugin check on `data`: the restored database, or a read-only DynamoDB table."""
    result = check.callable(data, ctx, MappingProxyType(check.params))
    if not inspect.isawaitable(result):
        raise CheckError(f"plugin {check.function} is not an async function")
    outcome = await result
    if not isinstance(outcome, CheckOutcome):
        raise CheckError(f"plugin {check.function} returned {type(outcome).__name__}, not a CheckOutcome")
    return Verdict(bool(outcome.passed), outcome.observed, outcome.message)
