"""The check logic over a fake database; tests/integration/test_checks_databases.py runs it on real servers."""

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from worker.checks import (
    CheckContext,
    CheckOutcome,
    QueryError,
    QueryTimeout,
    compares_with_previous,
    errored,
    freshness_figures,
    row_counts,
    run_checks,
    safe_message,
    scrub_secrets,
    to_jsonable,
)
from worker.policy import FreshnessCheck, PluginCheck, RowCountCheck, SchemaCheck, SqlCheck

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CTX = CheckContext(recovery_point_created_at=NOW - timedelta(minutes=30), now=NOW)


class FakeDatabase:
    """Answers by query text; a value that is an exception is raised instead."""

    def __init__(self, answers: Mapping[str, Any], engine: str = "postgres") -> None:
        self.engine = engine
        self.answers = dict(answers)
        self.asked: list[str] = []

    async def scalar(self, sql: str) -> Any:
        self.asked.append(sql)
        answer = self.answers[sql]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return await answer()
        return answer

    async def row_count(self, table: str, where: str | None = None) -> int:
        return int(await self.scalar(f"count {table} {where}"))

    async def columns(self, tables: Sequence[str]) -> dict[str, set[str]]:
        existing = self.answers["columns"]
        return {table: set(existing[table]) for table in tables if table in existing}


async def run_one(check: Any, answers: Mapping[str, Any], ctx: CheckContext = CTX, engine: str = "postgres"):
    (result,) = await run_checks(FakeDatabase(answers, engine), [check], ctx)
    return result


def freshness(**overrides: Any) -> FreshnessCheck:
    return FreshnessCheck(name="fresh", query="newest", max_age=timedelta(minutes=80), **overrides)


def sql(**expectation: Any) -> SqlCheck:
    return SqlCheck(name="sql", query="q", **expectation)


# ---- freshness ---------------------------------------------------------------------------------------------


async def test_freshness_passes_for_a_recent_row_and_records_it():
    newest = NOW - timedelta(minutes=79)
    result = await run_one(freshness(), {"newest": newest})
    assert result.status == "PASSED" and result.passed
    assert result.newest_row_at == newest
    assert result.observed == "2024-05-01T10:41:00Z"
    assert result.expectation == "newest row within 1h20m of now"
    assert result.message == "newest row is 1h19m old"


async def test_freshness_fails_for_an_old_row():
    result = await run_one(freshness(), {"newest": NOW - timedelta(minutes=81)})
    assert result.status == "FAILED"
    assert result.message == "newest row is 1h21m old, more than 1h20m"


async def test_a_timestamp_without_time_zone_is_read_as_utc():
    result = await run_one(freshness(), {"newest": datetime(2024, 5, 1, 11, 0)})
    assert result.newest_row_at == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    assert result.passed


async def test_an_aware_timestamp_in_another_zone_is_converted():
    from datetime import timezone

    newest = datetime(2024, 5, 1, 13, 30, tzinfo=timezone(timedelta(hours=2)))
    result = await run_one(freshness(), {"newest": newest})
    assert result.newest_row_at == datetime(2024, 5, 1, 11, 30, tzinfo=UTC)
    assert result.observed == "2024-05-01T11:30:00Z"


async def test_freshness_of_an_empty_table_fails_clearly():
    result = await run_one(freshness(), {"newest": None})
    assert result.status == "FAILED" and "NULL" in result.message and "empty" in result.message


async def test_freshness_of_something_that_is_not_a_timestamp_is_an_error():
    result = await run_one(freshness(), {"newest": 42})
    assert result.status == "ERROR" and "must return a timestamp, got int" in result.message


async def test_freshness_accepts_dates_and_iso_text():
    assert (await run_one(freshness(), {"newest": date(2024, 5, 1)})).newest_row_at == datetime(2024, 5, 1, tzinfo=UTC)
    result = await run_one(freshness(), {"newest": "2024-05-01T11:00:00+00:00"})
    assert result.newest_row_at == datetime(2024, 5, 1, 11, tzinfo=UTC)


async def test_max_gap_is_measured_against_the_recovery_point():
    newest = NOW - timedelta(minutes=50)  # 20 minutes before the recovery point
    assert (await run_one(freshness(max_gap=timedelta(minutes=20)), {"newest": newest})).passed
    failed = await run_one(freshness(max_gap=timedelta(minutes=19)), {"newest": newest})
    assert failed.status == "FAILED"
    assert failed.message == "newest row is 20m older than the recovery point, over 19m"
    assert failed.expectation == "newest row within 1h20m of now and within 19m before the recovery point"


async def test_max_gap_without_a_recovery_point_time_is_an_error():
    ctx = CheckContext(recovery_point_created_at=None, now=NOW)
    result = await run_one(freshness(max_gap=timedelta(minutes=5)), {"newest": NOW}, ctx)
    assert result.status == "ERROR" and "creation time" in result.message


async def test_freshness_figures_come_from_the_first_freshness_check():
    results = await run_checks(
        FakeDatabase({"newest": NOW - timedelta(minutes=90, seconds=30), "other": NOW}),
        [freshness(), FreshnessCheck(name="second", query="other", max_age=timedelta(hours=1))],
        CTX,
    )
    assert freshness_figures(results, CTX.recovery_point_created_at, NOW) == (90.5, 60.5)
    assert freshness_figures(results, None, NOW) == (90.5, None)
    assert freshness_figures(results[1:], NOW, NOW) == (0.0, 0.0)


async def test_freshness_figures_are_empty_without_a_newest_row():
    results = await run_checks(FakeDatabase({"newest": None}), [freshness()], CTX)
    assert freshness_figures(results, NOW, NOW) == (None, None)
    assert freshness_figures([], NOW, NOW) == (None, None)


def test_freshness_figures_round_to_three_decimals():
    newest = NOW - timedelta(seconds=100)
    result = replace(errored(freshness(), "x"), newest_row_at=newest)
    figures = freshness_figures([result], NOW, NOW)
    assert figures == (1.667, 1.667)


# ---- row_count --------------------------------------------------------------------------------------------


def counting(**options: Any) -> RowCountCheck:
    return RowCountCheck(name="rows", table="events", **options)


async def test_row_count_min():
    assert (await run_one(counting(min=3), {"count events None": 3})).passed
    result = await run_one(counting(min=3), {"count events None": 2})
    assert result.status == "FAILED" and result.message == "2 rows, fewer than 3"
    assert (result.row_count, result.table, result.observed) == (2, "events", 2)


async def test_row_count_where_is_passed_on():
    result = await run_one(counting(where="amount > 0"), {"count events amount > 0": 7})
    assert result.row_count == 7 and result.expectation == "row count recorded in events where amount > 0"


async def test_row_count_max_drop_against_the_previous_run():
    ctx = CheckContext(NOW, NOW, previous_row_counts={"rows": 1000})
    assert (await run_one(counting(max_drop=0.1), {"count events None": 900}, ctx)).passed  # exactly 10%
    result = await run_one(counting(max_drop=0.1), {"count events None": 899}, ctx)
    assert result.status == "FAILED" and "10.1% fewer than the previous run's 1000" in result.message
    assert result.expectation == "at most 10% fewer rows than the previous run's 1000 in events"
    assert (await run_one(counting(max_drop=0.1), {"count events None": 5000}, ctx)).passed  # growth is fine


async def test_max_drop_without_a_previous_count_passes():
    result = await run_one(counting(max_drop=0.0), {"count events None": 1})
    assert result.passed and "(none yet)" in result.expectation


def test_row_counts_for_the_next_run_are_keyed_by_check_name():
    unknown = errored(counting(), "x")
    results = [unknown, replace(unknown, name="rows:paid", status="PASSED", row_count=5, table="events")]
    assert row_counts(results) == {"rows:paid": 5}


def test_only_max_drop_needs_the_previous_run_read_from_the_ledger():
    assert compares_with_previous([freshness(), counting(min=1), counting(max_drop=0.2)])
    assert not compares_with_previous([freshness(), counting(min=1), sql(expect=1)])
    assert compares_with_previous([counting(max_drop=0.0)])  # zero is a limit, not "unset"


# ---- sql --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expect", "passed"),
    [
        (0, 0, True),
        (Decimal("0"), 0, True),
        (Decimal("0.00"), 0, True),
        (Decimal("1.50"), 1.5, True),
        (1.0, 1, True),
        (1, True, True),  # MySQL has no boolean type: true comes back as 1
        (True, True, True),
        (False, True, False),
        ("0", 0, True),  # numeric text
        (1, 0, False),
        (None, 0, False),
        ("ok", "ok", True),
        ("OK", "ok", False),
        (5, "5", True),
        (date(2024, 5, 1), "2024-05-01", True),
    ],
)
async def test_sql_expect(value, expect, passed):
    result = await run_one(sql(expect=expect), {"q": value})
    assert result.passed is passed
    assert result.status == ("PASSED" if passed else "FAILED")


async def test_sql_mismatch_message_shows_both_sides():
    result = await run_one(sql(expect=0), {"q": Decimal("3")})
    assert result.message == "got 3, expected 0"
    assert result.observed == 3 and result.expectation == "query returns 0"
    assert (await run_one(sql(expect=0), {"q": None})).message == "got NULL, expected 0"


@pytest.mark.parametrize(
    ("value", "bounds", "passed"),
    [
        (5, {"expect_min": 1}, True),
        (0, {"expect_min": 1}, False),
        (Decimal("2.5"), {"expect_min": 1, "expect_max": 2.5}, True),
        (2.6, {"expect_min": 1, "expect_max": 2.5}, False),
        (None, {"expect_max": 3}, False),
        ("abc", {"expect_max": 3}, False),
    ],
)
async def test_sql_range(value, bounds, passed):
    assert (await run_one(sql(**bounds), {"q": value})).passed is passed


async def test_sql_range_expectation_text():
    assert (await run_one(sql(expect_min=1, expect_max=2), {"q": 1})).expectation == "query returns between 1 and 2"
    assert (await run_one(sql(expect_max=2), {"q": 1})).expectation == "query returns <= 2"


# ---- schema -----------------------------------------------------------------------------------------------


async def test_schema_reports_what_is_missing():
    check = SchemaCheck(name="schema", tables={"events": ("id", "amount", "note"), "orders": (), "gone": ()})
    result = await run_one(check, {"columns": {"events": {"id", "amount"}, "orders": {"id"}}})
    assert result.status == "FAILED"
    assert result.observed == result.message == "missing: events.note, table gone"
    assert result.expectation == "exist: events(id, amount, note), orders, gone"


async def test_schema_passes_when_all_exist_and_mysql_columns_are_case_insensitive():
    check = SchemaCheck(name="schema", tables={"events": ("ID", "Amount")})
    answers = {"columns": {"events": {"id", "amount"}}}
    assert (await run_one(check, answers, engine="mysql")).observed == "all present"
    assert not (await run_one(check, answers, engine="postgres")).passed


# ---- plugins ----------------------------------------------------------------------------------------------


async def plugin_counts_rows(db, ctx, params):
    count = await db.scalar(params["query"])
    return CheckOutcome(passed=count >= params["at_least"], observed=Decimal(count), message=f"{count} rows")


async def plugin_returns_nonsense(db, ctx, params):
    return {"passed": True}


def plugin_not_async(db, ctx, params):
    return CheckOutcome(True, 1)


async def plugin_sees_context(db, ctx, params):
    return CheckOutcome(ctx.now == NOW and dict(params) == {"x": 1}, None)


async def plugin_leaks(db, ctx, params):
    raise RuntimeError("could not reach postgresql://validator:hunter2@db.internal:5432/app password=hunter2")


async def plugin_cancels_itself(db, ctx, params):
    raise asyncio.CancelledError


def plugin(function: str, **params: Any) -> PluginCheck:
    return PluginCheck(name="plugin", function=f"{__name__}:{function}", params=params)


async def test_a_plugin_check_runs_with_the_database_context_and_params():
    result = await run_one(plugin("plugin_counts_rows", query="n", at_least=3), {"n": 4})
    assert (result.status, result.observed, result.message) == ("PASSED", 4, "4 rows")
    assert result.expectation == f"plugin {__name__}:plugin_counts_rows passes"
    assert not (await run_one(plugin("plugin_counts_rows", query="n", at_least=5), {"n": 4})).passed
    assert (await run_one(plugin("plugin_sees_context", x=1), {})).passed


@pytest.mark.parametrize(
    ("function", "message"),
    [("plugin_returns_nonsense", "returned dict, not a CheckOutcome"), ("plugin_not_async", "not an async")],
)
async def test_a_misbehaving_plugin_is_an_error(function, message):
    result = await run_one(plugin(function), {})
    assert result.status == "ERROR" and message in result.message


async def test_a_plugin_that_cancels_itself_is_an_error_not_the_validations_cancellation():
    result = await run_one(plugin("plugin_cancels_itself"), {})
    assert (result.status, result.message) == ("ERROR", "the check was cancelled")


async def test_exception_texts_lose_their_credentials():
    result = await run_one(plugin("plugin_leaks"), {})
    assert result.status == "ERROR" and "hunter2" not in result.message
    assert result.message.startswith("RuntimeError: could not reach postgresql://***@db.internal:5432/app")


# ---- running them all -------------------------------------------------------------------------------------


async def test_every_check_runs_even_after_errors_and_failures():
    checks = [sql(expect=1), freshness(), counting(min=1), SqlCheck(name="last", query="fine", expect=1)]
    answers = {
        "q": QueryError("ProgrammingError (1064): syntax error"),
        "newest": QueryTimeout("statement timeout after 1s"),
        "count events None": 0,
        "fine": 1,
    }
    results = await run_checks(FakeDatabase(answers), checks, CTX)
    assert [r.status for r in results] == ["ERROR", "ERROR", "FAILED", "PASSED"]
    assert results[0].message == "ProgrammingError (1064): syntax error"
    assert results[1].message == "statement timeout after 1s"
    assert [r.name for r in results] == ["sql", "fresh", "rows", "last"]


async def test_check_timeout_bounds_each_check():
    async def forever():
        await asyncio.sleep(60)

    checks = [sql(expect=1), SqlCheck(name="next", query="fine", expect=1)]
    results = await run_checks(FakeDatabase({"q": forever, "fine": 1}), checks, CTX, check_timeout=0.05)
    assert [r.status for r in results] == ["ERROR", "PASSED"]
    assert results[0].message == "check timed out after 0.05s"
    assert 0.05 <= results[0].duration_seconds < 1


def test_errored_results_carry_the_expectation():
    result = errored(counting(min=2), "database unreachable: ...")
    assert result.to_record() == {
        "name": "rows",
        "kind": "row_count",
        "status": "ERROR",
        "passed": False,
        "observed": None,
        "expectation": "at least 2 rows in events",
        "message": "database unreachable: ...",
        "duration_seconds": 0.0,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (3, 3),
        (Decimal("3.000"), 3),
        (Decimal("3.25"), 3.25),
        (Decimal("NaN"), "NaN"),
        (float("inf"), "inf"),
        (datetime(2024, 5, 1, 12, 0), "2024-05-01T12:00:00Z"),
        (date(2024, 5, 1), "2024-05-01"),
        (timedelta(minutes=2), 120.0),
        (b"\x01\xff", "01ff"),
        (["a"], "['a']"),
    ],
)
def test_observed_values_become_json(value, expected):
    assert to_jsonable(value) == expected


def test_safe_message_shortens_and_scrubs():
    message = safe_message(ValueError("mysql://root:pw@h/db " + "x" * 1000))
    assert len(message) == 500 and "pw" not in message and message.endswith("...")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://bv:s3cret@db:5432/app failed", "postgresql://***@db:5432/app failed"),
        ("password='a b' host=x", "password=*** host=x"),
        ('PASSWORD="x y", next', "PASSWORD=***, next"),
        ("pwd=abc;host=x", "pwd=***;host=x"),
        ("Access denied (using password: YES)", "Access denied (using password: ***)"),
        ('password authentication failed for user "bv"', 'password authentication failed for user "bv"'),
    ],
)
def test_scrub_secrets(text, expected):
    assert scrub_secrets(text) == expected


async def plugin_times_out_itself(db, ctx, params):
    await asyncio.wait_for(asyncio.sleep(1), timeout=0.01)


async def test_a_timeout_inside_a_plugin_is_not_mistaken_for_the_check_timeout():
    assert (await run_one(plugin("plugin_times_out_itself"), {})).message == "TimeoutError"
    (result,) = await run_checks(FakeDatabase({}), [plugin("plugin_times_out_itself")], CTX, check_timeout=5)
    assert result.status == "ERROR" and result.message == "TimeoutError"
