"""The checks on the machine's real PostgreSQL and MariaDB, through the real adapter."""

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from conftest_checks import ENGINES, SLEEP, Scratch, scratch_database

from worker.checks import CheckContext, CheckOutcome, freshness_figures, run_checks
from worker.policy import FreshnessCheck, PluginCheck, RowCountCheck, SchemaCheck, SqlCheck, parse_policy


@pytest.fixture(params=ENGINES)
async def scratch(request) -> AsyncIterator[Scratch]:
    async with scratch_database(request.param) as database:
        yield database


def utc_naive(moment: datetime) -> datetime:
    """How the application stored it: a UTC wall-clock time in a column without time zone."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def context(now: datetime, recovery_point: datetime | None = None, **previous: int) -> CheckContext:
    return CheckContext(recovery_point_created_at=recovery_point, now=now, previous_row_counts=previous)


async def run(scratch: Scratch, checks, ctx: CheckContext, statement_timeout: float = 10):
    async with scratch.open(statement_timeout=statement_timeout) as db:
        return await run_checks(db, checks, ctx)


NEWEST = FreshnessCheck(name="fresh", query="SELECT max(created_at) FROM events", max_age=timedelta(minutes=80))


async def test_the_brief_policy_passes_on_a_healthy_database(scratch):
    now = datetime.now(UTC)
    await scratch.insert_events([(utc_naive(now - timedelta(minutes=10)), Decimal("9.99"))])
    policy = parse_policy(
        '[[selection]]\nname = "orders"\n'
        '[[selection.check]]\nkind = "freshness"\nquery = "SELECT max(created_at) FROM events"\nmax_age = "80m"\n'
        '[[selection.check]]\nkind = "row_count"\ntable = "events"\nmin = 1\n'
        '[[selection.check]]\nkind = "sql"\nquery = "SELECT count(*) FROM events WHERE amount < 0"\nexpect = 0\n'
        '[[selection.check]]\nkind = "schema"\ntables = { events = ["created_at", "amount"] }\n'
    )
    results = await run(scratch, policy.selections[0].checks, context(now))
    assert [(r.name, r.status) for r in results] == [
        ("freshness", "PASSED"),
        ("row_count:events", "PASSED"),
        ("sql", "PASSED"),
        ("schema", "PASSED"),
    ], [r.message for r in results]


async def test_freshness_fails_when_the_newest_row_is_older_than_max_age(scratch):
    now = datetime.now(UTC)
    await scratch.insert_events([(utc_naive(now - timedelta(hours=3)), 1), (utc_naive(now - timedelta(hours=2)), 1)])
    (result,) = await run(scratch, [NEWEST], context(now))
    assert result.status == "FAILED"
    assert result.message == "newest row is 2h old, more than 1h20m"


async def test_timestamps_without_time_zone_are_read_as_utc_and_give_the_data_gap(scratch):
    now = datetime.now(UTC).replace(microsecond=0)
    newest = now - timedelta(minutes=40)
    await scratch.insert_events([(utc_naive(newest), 1), (utc_naive(newest - timedelta(days=1)), 1)])
    recovery_point = now - timedelta(minutes=15)
    check = FreshnessCheck(name="fresh", query=NEWEST.query, max_age=timedelta(hours=1), max_gap=timedelta(minutes=30))
    (result,) = await run(scratch, [check], context(now, recovery_point))
    assert result.newest_row_at == newest
    assert result.status == "PASSED", result.message
    assert freshness_figures([result], recovery_point, now) == (40.0, 25.0)

    strict = check.model_copy(update={"max_gap": timedelta(minutes=20)})
    (result,) = await run(scratch, [strict], context(now, recovery_point))
    assert result.status == "FAILED" and "25m older than the recovery point" in result.message


async def test_the_session_runs_in_utc(scratch):
    # now() without time zone is UTC whatever the server's zone, so "naive means UTC" holds for queries too
    query = "SELECT now()::timestamp" if scratch.engine == "postgres" else "SELECT NOW(6)"
    check = FreshnessCheck(name="clock", query=query, max_age=timedelta(minutes=1))
    now = datetime.now(UTC)
    (result,) = await run(scratch, [check], context(now))
    assert result.passed and abs(result.newest_row_at - now) < timedelta(seconds=30)


async def test_freshness_of_an_empty_table_fails_clearly(scratch):
    (result,) = await run(scratch, [NEWEST], context(datetime.now(UTC)))
    assert result.status == "FAILED" and "returned NULL" in result.message


async def test_row_count_min_where_and_schema_qualified_names(scratch):
    await scratch.insert_events([(datetime(2024, 1, 1), amount) for amount in (5, 10, -1)])
    schema = "public" if scratch.engine == "postgres" else scratch.name
    checks = [
        RowCountCheck(name="all", table="events", min=3),
        RowCountCheck(name="too few", table=f"{schema}.events", min=4),
        RowCountCheck(name="positive", table="events", where="amount > 0", min=2),
    ]
    results = await run(scratch, checks, context(datetime.now(UTC)))
    assert [(r.status, r.row_count, r.observed) for r in results] == [
        ("PASSED", 3, 3),
        ("FAILED", 3, 3),
        ("PASSED", 2, 2),
    ]
    assert results[1].message == "3 rows, fewer than 4"


async def test_row_count_max_drop_against_the_previous_run(scratch):
    await scratch.insert_events([(datetime(2024, 1, 1), 1)] * 9)
    check = RowCountCheck(name="rows", table="events", max_drop=0.1)
    (kept,) = await run(scratch, [check], context(datetime.now(UTC), rows=10))
    (dropped,) = await run(scratch, [check], context(datetime.now(UTC), rows=11))
    assert kept.status == "PASSED" and dropped.status == "FAILED"
    assert "18.2% fewer than the previous run's 11" in dropped.message


async def test_sql_compares_decimals_numerically_and_reports_mismatches(scratch):
    await scratch.insert_events([(datetime(2024, 1, 1), Decimal("2.50")), (datetime(2024, 1, 2), Decimal("-1.25"))])
    checks = [
        SqlCheck(name="sum", query="SELECT sum(amount) FROM events", expect=1.25),
        SqlCheck(name="zero", query="SELECT sum(amount) - 1.25 FROM events", expect=0),
        SqlCheck(name="negatives", query="SELECT count(*) FROM events WHERE amount < 0", expect=0),
        SqlCheck(name="range", query="SELECT avg(amount) FROM events", expect_min=0.6, expect_max=0.7),
        SqlCheck(name="text", query="SELECT 'ok'", expect="ok"),
    ]
    results = await run(scratch, checks, context(datetime.now(UTC)))
    assert [r.status for r in results] == ["PASSED", "PASSED", "FAILED", "PASSED", "PASSED"]
    assert results[0].observed == 1.25 and results[1].observed == 0
    assert results[2].message == "got 1, expected 0"


async def test_schema_reports_missing_tables_and_columns(scratch):
    check = SchemaCheck(name="schema", tables={"events": ("id", "amount", "currency"), "refunds": ()})
    (result,) = await run(scratch, [check], context(datetime.now(UTC)))
    assert result.status == "FAILED"
    assert result.message == "missing: events.currency, table refunds"
    good = SchemaCheck(name="schema", tables={"events": ("id", "created_at", "amount", "note")})
    (result,) = await run(scratch, [good], context(datetime.now(UTC)))
    assert result.passed and result.observed == "all present"


async def test_a_broken_query_errors_and_the_other_checks_still_run(scratch):
    await scratch.insert_events([(utc_naive(datetime.now(UTC)), 1)])
    checks = [
        SqlCheck(name="typo", query="SELEC 1", expect=1),
        SqlCheck(name="missing table", query="SELECT count(*) FROM no_such_table", expect=0),
        RowCountCheck(name="rows", table="events", min=1),
    ]
    results = await run(scratch, checks, context(datetime.now(UTC)))
    assert [r.status for r in results] == ["ERROR", "ERROR", "PASSED"]
    for result in results[:2]:
        assert "127.0.0.1" not in result.message and scratch.server["user"] not in result.message
    assert "no_such_table" in results[1].message
    assert results[0].message.startswith(("PostgresSyntaxError (42601)", "ProgrammingError (1064)"))


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO events (created_at, amount) VALUES ('2024-01-01', 1)",
        "UPDATE events SET amount = 0",
        "DELETE FROM events",
        "DROP TABLE events",  # MySQL's START TRANSACTION READ ONLY alone would let DDL through (it commits)
        "CREATE TABLE intruder (id int)",
        "SELECT 1; DELETE FROM events",  # a second statement must not escape the transaction
    ],
)
async def test_checks_cannot_write(scratch, statement):
    await scratch.insert_events([(datetime(2024, 1, 1), Decimal("7.00"))])
    checks = [SqlCheck(name="write", query=statement, expect=1), RowCountCheck(name="rows", table="events", min=1)]
    write, rows = await run(scratch, checks, context(datetime.now(UTC)))
    assert write.status == "ERROR", write.message
    assert rows.status == "PASSED"
    assert await scratch.fetchval("SELECT count(*) FROM events") == 1
    assert await scratch.fetchval("SELECT sum(amount) FROM events") == Decimal("7.00")
    tables = (
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        if scratch.engine == "postgres"
        else f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{scratch.name}'"
    )
    assert await scratch.fetchval(tables) == 1


async def test_a_slow_query_is_cut_at_the_statement_timeout_and_the_next_check_runs(scratch):
    checks = [
        SqlCheck(name="slow", query=SLEEP[scratch.engine], expect=0),
        SqlCheck(name="next", query="SELECT 1", expect=1),
    ]
    started = time.monotonic()
    slow, following = await run(scratch, checks, context(datetime.now(UTC)), statement_timeout=1)
    assert slow.status == "ERROR" and slow.message == "statement timeout after 1s"
    # The query sleeps 30 s: anything well under that was cut by the server, with room for a loaded machine.
    assert 0.9 <= slow.duration_seconds < 10
    assert following.status == "PASSED"
    assert time.monotonic() - started < 15


async def plugin_ratio(db, ctx, params):
    """A plugin as users write them: queries through the port, compares with its params."""
    total = await db.row_count(params["table"])
    negative = await db.scalar(f"SELECT count(*) FROM {params['table']} WHERE amount < 0")
    ratio = negative / total if total else 0
    return CheckOutcome(passed=ratio <= params["max_ratio"], observed=ratio, message=f"{negative} of {total} negative")


async def test_a_plugin_check_queries_the_database(scratch):
    await scratch.insert_events([(datetime(2024, 1, 1), amount) for amount in (1, 2, 3, -4)])
    check = PluginCheck(name="ratio", function=f"{__name__}:plugin_ratio", params={"table": "events", "max_ratio": 0.2})
    (result,) = await run(scratch, [check], context(datetime.now(UTC)))
    assert (result.status, result.observed, result.message) == ("FAILED", 0.25, "1 of 4 negative")
    lenient = check.model_copy(update={"params": {"table": "events", "max_ratio": 0.25}})
    (result,) = await run(scratch, [lenient], context(datetime.now(UTC)))
    assert result.passed


async def test_after_a_lost_connection_the_checks_reconnect(scratch):
    own_connection = "SELECT pg_backend_pid()" if scratch.engine == "postgres" else "SELECT CONNECTION_ID()"
    kill = "SELECT pg_terminate_backend($1)" if scratch.engine == "postgres" else "KILL CONNECTION %s"
    async with scratch.open() as db:
        await scratch.execute(kill, await db.scalar(own_connection))
        results = await run_checks(
            db,
            [SqlCheck(name="first", query="SELECT 1", expect=1), SqlCheck(name="second", query="SELECT 1", expect=1)],
            context(datetime.now(UTC)),
        )
    # asyncpg notices the server's goodbye and reconnects at once; aiomysql learns it from the failed query
    first, second = results
    assert first.status == "PASSED" or (first.status == "ERROR" and "connection lost" in first.message)
    assert second.status == "PASSED"
