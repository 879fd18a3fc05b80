"""Checks that end: every check ends within its timeout, and the phase within its budget, even when the
database server stops answering after the connection opened, or a plugin never returns.

A small TCP proxy on 127.0.0.1 sits between the adapter and the machine's real PostgreSQL / MariaDB; `freeze`
makes it stop forwarding in both directions while keeping both sockets open, which is what a hung server (or
a black-holed network path) looks like to a client."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from conftest_checks import ENGINES, SERVERS, scratch_database

from worker.adapters.database import open_database
from worker.checks import CheckContext, CheckOutcome, run_checks
from worker.checks.budget import CANCEL_GRACE_SECONDS
from worker.policy import PluginCheck, RowCountCheck, SchemaCheck, SqlCheck

STATEMENT_TIMEOUT = 1.0
CHECK_TIMEOUT = 4.0
# What the adapters add on top of a statement timeout before giving a connection up (client grace, rollback).
ADAPTER_SLACK = 15.0


class FreezingProxy:
    """Forwards bytes to `upstream` until `freeze()`; then holds every connection open and silent."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.frozen = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> FreezingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()

    def freeze(self) -> None:
        self.frozen.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers += [writer, up_writer]
        with contextlib.suppress(asyncio.CancelledError):  # the proxy closing: nothing to report
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if self.frozen.is_set():
                    await asyncio.Event().wait()  # swallowed: the peer waits for an answer that never comes
                writer.write(data)
                await writer.drain()


async def never_returns(db, ctx, params):
    await asyncio.Event().wait()


STUBBORN = {"released": False}


async def ignores_cancellation(db, ctx, params):
    """Swallows every cancellation until the test releases it (so the event loop can still close)."""
    while not STUBBORN["released"]:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.1)


async def queries_then_hangs(db, ctx, params):
    await db.scalar("SELECT 1")
    await asyncio.Event().wait()
    return CheckOutcome(True, None)


def plugin(function: str) -> PluginCheck:
    return PluginCheck(name=function, function=f"{__name__}:{function}")


CHECKS = (
    SqlCheck(name="sql", query="SELECT count(*) FROM events", expect_min=0),
    RowCountCheck(name="rows", table="events", min=0),
    SchemaCheck(name="schema", tables={"events": ("id",)}),
    plugin("queries_then_hangs"),
)


def context() -> CheckContext:
    from datetime import UTC, datetime

    return CheckContext(recovery_point_created_at=None, now=datetime.now(UTC))


@contextlib.asynccontextmanager
async def through_proxy(engine: str) -> AsyncIterator[tuple[FreezingProxy, object]]:
    async with scratch_database(engine) as scratch, FreezingProxy(SERVERS[engine]["port"]) as proxy:
        server = {**SERVERS[engine], "port": proxy.port}
        async with open_database(
            engine, **server, database=scratch.name, tls=False, statement_timeout=STATEMENT_TIMEOUT,
            connect_timeout=3,
        ) as db:  # fmt: skip
            yield proxy, db


@pytest.mark.parametrize("engine", ENGINES)
async def test_every_check_ends_when_the_server_stops_answering_after_connecting(engine):
    started = time.monotonic()
    async with through_proxy(engine) as (proxy, db):
        healthy = await run_checks(db, CHECKS[:1], context(), check_timeout=CHECK_TIMEOUT)
        assert healthy[0].status == "PASSED", healthy[0]
        proxy.freeze()
        frozen_at = time.monotonic()
        results = await run_checks(db, CHECKS, context(), check_timeout=CHECK_TIMEOUT, budget=60)
        phase = time.monotonic() - frozen_at
    closed = time.monotonic() - started
    assert [result.status for result in results] == ["ERROR"] * len(CHECKS), results
    for result in results:
        assert result.duration_seconds <= CHECK_TIMEOUT + CANCEL_GRACE_SECONDS + 1, result
        assert "timed out" in result.message or "timeout" in result.message or "connect" in result.message, result
    assert phase <= len(CHECKS) * (CHECK_TIMEOUT + CANCEL_GRACE_SECONDS + 1)
    # closing a connection to a silent server is bounded too
    assert closed - phase <= 30


@pytest.mark.parametrize("engine", ENGINES)
async def test_adapter_alone_gives_up_on_a_silent_server_without_an_outer_timeout(engine):
    """The driver-level bounds hold by themselves (a plugin calling db.scalar gets them too)."""
    async with through_proxy(engine) as (proxy, db):
        proxy.freeze()
        started = time.monotonic()
        results = await run_checks(db, CHECKS[:1], context())  # no check timeout, no budget
        took = time.monotonic() - started
    assert results[0].status == "ERROR", results[0]
    assert took <= STATEMENT_TIMEOUT + ADAPTER_SLACK, took


@pytest.mark.parametrize("engine", ENGINES)
async def test_plugins_that_never_return_are_timed_out_and_the_next_check_still_runs(engine):
    checks = (plugin("never_returns"), plugin("ignores_cancellation"), CHECKS[0])
    STUBBORN["released"] = False
    try:
        async with scratch_database(engine) as scratch, scratch.open(statement_timeout=STATEMENT_TIMEOUT) as db:
            started = time.monotonic()
            results = await run_checks(db, checks, context(), check_timeout=1.5)
            took = time.monotonic() - started
    finally:
        STUBBORN["released"] = True
    assert [result.status for result in results] == ["ERROR", "ERROR", "PASSED"], results
    assert results[0].message == "check timed out after 1.5s"
    assert "did not stop when cancelled" in results[1].message
    assert took <= 2 * (1.5 + CANCEL_GRACE_SECONDS) + 3


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_check_budget_bounds_the_whole_phase(engine):
    slow = "SELECT count(*) FROM pg_sleep(0.8)" if engine == "postgres" else "SELECT SLEEP(0.8)"
    checks = tuple(SqlCheck(name=f"slow-{n}", query=slow, expect_min=0) for n in range(6))
    async with scratch_database(engine) as scratch, scratch.open(statement_timeout=5) as db:
        started = time.monotonic()
        results = await run_checks(db, checks, context(), check_timeout=3, budget=2.0)
        took = time.monotonic() - started
    statuses = [result.status for result in results]
    assert statuses[:2] == ["PASSED", "PASSED"], results
    assert "budget" in results[-1].message and statuses[-1] == "ERROR", results
    cut = next(result for result in results if result.message.startswith("check timed out"))
    assert "of the 2s budget" in cut.message
    assert took <= 2.0 + CANCEL_GRACE_SECONDS + 1
