"""Run the checks a selection declares against the restored database.

Pure logic over the `Database` port (worker.adapters.database implements it for PostgreSQL and MySQL/MariaDB).
Every check runs and gets a result even when an earlier one failed or broke: an auditor wants the whole
picture, and one bad query must not hide a stale table.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from worker.checks.results import CheckContext, CheckOutcome, CheckResult, Status
from worker.checks.values import CheckError, as_utc_timestamp, to_jsonable
from worker.durations import format_duration
from worker.errors import QueryError
from worker.model import as_utc
from worker.policy import CheckSpec, FreshnessCheck, PluginCheck, RowCountCheck, SchemaCheck, SqlCheck
from worker.policy_table_checks import ItemCountCheck
from worker.ports import Database
from worker.redact import safe_message


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


# How long a check that ignores cancellation gets to stop before it is abandoned (and reported as timed out).
CANCEL_GRACE_SECONDS = 2.0


async def run_checks(
    db: Database,
    checks: Sequence[CheckSpec],
    ctx: CheckContext,
    *,
    check_timeout: float | None = None,
    budget: float | None = None,
) -> list[CheckResult]:
    """Run every check in order, one at a time (they share the connection), within `budget`."""

    async def run(check: CheckSpec, limit: float | None) -> CheckResult:
        return await _run_one(db, check, ctx, limit)

    return await run_in_budget(checks, run, lambda check, why: errored(check, why, ctx), check_timeout, budget)


RunOne = Callable[[CheckSpec, float | None], Awaitable[CheckResult]]


async def run_in_budget(
    checks: Sequence[CheckSpec],
    run: RunOne,
    not_run: Callable[[CheckSpec, str], CheckResult],
    check_timeout: float | None,
    budget: float | None,
) -> list[CheckResult]:
    """`check_timeout` bounds each check as a whole (plugins may run several queries or wait on anything else);
    `budget` bounds the phase: a check gets at most what is left of it, and once it is spent the remaining
    checks are ERRORs that say so (`not_run`). Either way this returns within `budget` (+ CANCEL_GRACE_SECONDS)."""
    loop = asyncio.get_running_loop()
    ends = None if budget is None else loop.time() + budget
    results = []
    for check in checks:
        left = None if ends is None else ends - loop.time()
        if left is not None and left <= 0:
            results.append(not_run(check, f"not run: the check budget ({budget:g}s) was used up"))
            continue
        by_budget = left is not None and (check_timeout is None or left < check_timeout)
        limit = left if by_budget else check_timeout
        result = await run(check, limit)
        if by_budget and result.message.startswith("check timed out"):
            result = dataclasses.replace(result, message=result.message + f" (what was left of the {budget:g}s budget)")
        results.append(result)
    return results


async def _run_one(db: Database, check: CheckSpec, ctx: CheckContext, limit: float | None) -> CheckResult:
    started = time.monotonic()
    status, verdict = await bounded(_evaluate(db, check, ctx), limit)
    return _result(check, ctx, status, verdict, time.monotonic() - started)


async def bounded(evaluation: Coroutine[Any, Any, Verdict], limit: float | None) -> tuple[Status, Verdict]:
    """A check's status and verdict within `limit` seconds (+ CANCEL_GRACE_SECONDS for one that ignores its
    cancellation, then abandoned); whatever breaks it is an ERROR saying why."""
    task = asyncio.ensure_future(evaluation)
    try:
        done, _ = await asyncio.wait({task}, timeout=limit)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        return "ERROR", Verdict(False, None, await _stop(task, limit))
    if task.cancelled():  # the check cancelled itself: its outcome, not the validation's
        return "ERROR", Verdict(False, None, "the check was cancelled")
    try:
        verdict = task.result()
    except TimeoutError as exc:  # one a plugin or driver let escape
        return "ERROR", Verdict(False, None, safe_message(exc))
    except (QueryError, CheckError) as exc:
        return "ERROR", Verdict(False, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - a broken check (or plugin) is reported, the others still run
        return "ERROR", Verdict(False, None, safe_message(exc))
    return ("PASSED" if verdict.passed else "FAILED"), verdict


async def _stop(task: asyncio.Future[Verdict], limit: float | None) -> str:
    """Cancel a check past its time; one that will not stop (it swallows the cancellation) is abandoned, so
    the validation still ends. The message says which happened."""
    task.cancel()
    await asyncio.wait({task}, timeout=CANCEL_GRACE_SECONDS)
    message = f"check timed out after {limit:g}s"
    if not task.done():
        _ABANDONED.add(task)  # held, so it is not garbage-collected mid-run; it may end later, unheard
        task.add_done_callback(_consume)
        return message + " and did not stop when cancelled (abandoned)"
    _consume(task)
    return message


_ABANDONED: set[asyncio.Future[Verdict]] = set()


def _consume(task: asyncio.Future[Verdict]) -> None:
    _ABANDONED.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "exception was never retrieved"


def errored(
    check: CheckSpec, message: str, ctx: CheckContext | None = None, duration_seconds: float = 0.0
) -> CheckResult:
    """The ERROR result of a check that could not run (e.g. the database was unreachable)."""
    return _result(check, ctx, "ERROR", Verdict(False, None, message), duration_seconds)


def _result(
    check: CheckSpec, ctx: CheckContext | None, status: Status, verdict: Verdict, duration: float
) -> CheckResult:
    return verdict.result(check, status, _expectation(check, ctx.previous_row_counts if ctx else {}), duration)


def compares_with_previous(checks: Sequence[CheckSpec]) -> bool:
    """Whether any check judges against the previous run's counts (else the ledger need not be read)."""
    return any(isinstance(check, RowCountCheck | ItemCountCheck) and check.max_drop is not None for check in checks)


async def _evaluate(db: Database, check: CheckSpec, ctx: CheckContext) -> Verdict:
    match check:
        case FreshnessCheck():
            return await _freshness(db, check, ctx)
        case RowCountCheck():
            return await _row_count(db, check, ctx)
        case SqlCheck():
            return _compare(await db.scalar(check.query), check)
        case SchemaCheck():
            return await _schema(db, check)
        case PluginCheck():
            return await call_plugin(db, check, ctx)
        case _:
            raise CheckError(f"{check.kind} checks run on DynamoDB tables, not on SQL databases")


async def _freshness(db: Database, check: FreshnessCheck, ctx: CheckContext) -> Verdict:
    value = await db.scalar(check.query or "")
    if value is None:
        return Verdict(False, None, "the query returned NULL: no rows to date (is the table empty?)")
    return judge_newest(as_utc_timestamp(value), check, ctx)


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


async def _row_count(db: Database, check: RowCountCheck, ctx: CheckContext) -> Verdict:
    count = await db.row_count(check.table, check.where)
    verdict = judge_count(count, check, ctx.previous_row_counts.get(check.name))
    return dataclasses.replace(verdict, table=check.table)


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


def _compare(value: Any, check: SqlCheck) -> Verdict:
    if check.expect is not None:
        passed = equal(value, check.expect)
    else:
        number = _number(value)
        passed = number is not None and all(
            compare(number, Decimal(str(bound)))
            for bound, compare in ((check.expect_min, Decimal.__ge__), (check.expect_max, Decimal.__le__))
            if bound is not None
        )
    shown = "NULL" if value is None else repr(to_jsonable(value))
    return Verdict(passed, value, f"got {shown}" + ("" if passed else f", expected {_sql_expectation(check)}"))


def equal(value: Any, expected: bool | int | float | str) -> bool:
    observed_number, expected_number = _number(value), _number(expected)
    if observed_number is not None and expected_number is not None:
        return observed_number == expected_number  # Decimal("0") == 0, 1.0 == 1, MySQL's 1 == true
    if isinstance(expected, str):
        return value is not None and str(to_jsonable(value)) == expected
    return bool(value == expected)


def _number(value: Any) -> Decimal | None:
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


async def _schema(db: Database, check: SchemaCheck) -> Verdict:
    existing = await db.columns(list(check.tables))
    fold = str.lower if db.engine == "mysql" else str  # MySQL column names are case-insensitive
    missing = []
    for table, columns in check.tables.items():
        if table not in existing:
            missing.append(f"table {table}")
            continue
        present = {fold(column) for column in existing[table]}
        missing += [f"{table}.{column}" for column in columns if fold(column) not in present]
    observed = "missing: " + ", ".join(missing) if missing else "all present"
    return Verdict(not missing, observed, observed)


async def call_plugin(data: Any, check: PluginCheck, ctx: CheckContext) -> Verdict:
    """A plugin check on `data`: the restored database, or a read-only DynamoDB table."""
    result = check.callable(data, ctx, MappingProxyType(check.params))
    if not inspect.isawaitable(result):
        raise CheckError(f"plugin {check.function} is not an async function")
    outcome = await result
    if not isinstance(outcome, CheckOutcome):
        raise CheckError(f"plugin {check.function} returned {type(outcome).__name__}, not a CheckOutcome")
    return Verdict(bool(outcome.passed), outcome.observed, outcome.message)


def _expectation(check: CheckSpec, previous_row_counts: Mapping[str, int]) -> str:
    match check:
        case FreshnessCheck():
            text = f"newest row within {format_duration(check.max_age)} of now"
            if check.max_gap is not None:
                text += f" and within {format_duration(check.max_gap)} before the recovery point"
            return text
        case RowCountCheck():
            return _row_count_expectation(check, previous_row_counts.get(check.name))
        case SqlCheck():
            return f"query returns {_sql_expectation(check)}"
        case SchemaCheck():
            listed = (f"{table}({', '.join(cols)})" if cols else table for table, cols in check.tables.items())
            return "exist: " + ", ".join(listed)
        case PluginCheck():
            return f"plugin {check.function} passes"
        case _:
            return ""


def _row_count_expectation(check: RowCountCheck, previous: int | None) -> str:
    parts = []
    if check.min is not None:
        parts.append(f"at least {check.min} row{'' if check.min == 1 else 's'}")
    if check.max_drop is not None:
        baseline = f"the previous run's {previous}" if previous is not None else "the previous run (none yet)"
        parts.append(f"at most {check.max_drop:.0%} fewer rows than {baseline}")
    text = " and ".join(parts) or "row count recorded"
    return f"{text} in {check.table}" + (f" where {check.where}" if check.where else "")


def _sql_expectation(check: SqlCheck) -> str:
    if check.expect is not None:
        return repr(check.expect)
    if check.expect_min is not None and check.expect_max is not None:
        return f"between {check.expect_min} and {check.expect_max}"
    return f">= {check.expect_min}" if check.expect_min is not None else f"<= {check.expect_max}"
