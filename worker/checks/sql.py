"""Run the checks a selection declares against the restored database.

Pure logic over the `Database` port (worker.adapters.database implements it for PostgreSQL and MySQL/MariaDB).
Every check runs and gets a result even when an earlier one failed or broke: an auditor wants the whole
picture, and one bad query must not hide a stale table. The bounds are in `checks.budget`, the verdicts
shared with the DynamoDB table checks in `checks.verdict`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from worker.checks.budget import bounded, run_in_budget
from worker.checks.results import CheckContext, CheckResult, Status
from worker.checks.values import CheckError, as_utc_timestamp, to_jsonable
from worker.checks.verdict import (
    Verdict,
    as_number,
    call_plugin,
    equal,
    freshness_expectation,
    judge_count,
    judge_newest,
)
from worker.policy import CheckSpec, FreshnessCheck, PluginCheck, RowCountCheck, SchemaCheck, SqlCheck
from worker.policy_table_checks import ItemCountCheck
from worker.ports import Database


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


async def _run_one(db: Database, check: CheckSpec, ctx: CheckContext, limit: float | None) -> CheckResult:
    started = time.monotonic()
    status, verdict = await bounded(_evaluate(db, check, ctx), limit)
    return _result(check, ctx, status, verdict, time.monotonic() - started)


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


async def _row_count(db: Database, check: RowCountCheck, ctx: CheckContext) -> Verdict:
    count = await db.row_count(check.table, check.where)
    verdict = judge_count(count, check, ctx.previous_row_counts.get(check.name))
    return dataclasses.replace(verdict, table=check.table)


def _compare(value: Any, check: SqlCheck) -> Verdict:
    if check.expect is not None:
        passed = equal(value, check.expect)
    else:
        number = as_number(value)
        passed = number is not None and all(
            compare(number, Decimal(str(bound)))
            for bound, compare in ((check.expect_min, Decimal.__ge__), (check.expect_max, Decimal.__le__))
            if bound is not None
        )
    shown = "NULL" if value is None else repr(to_jsonable(value))
    return Verdict(passed, value, f"got {shown}" + ("" if passed else f", expected {_sql_expectation(check)}"))


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


def _expectation(check: CheckSpec, previous_row_counts: Mapping[str, int]) -> str:
    match check:
        case FreshnessCheck():
            return freshness_expectation(check, "row")
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
