"""PostgreSQL (RDS, Aurora PostgreSQL) for the checks, over asyncpg."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from worker.adapters.sql_common import CLIENT_GRACE_SECONDS, ReadOnlyDatabase, connect_within, quote_table
from worker.errors import QueryError
from worker.ports import Connection

_T = TypeVar("_T")
Connector = Callable[[], Awaitable[asyncpg.Connection]]

_COLUMNS = """
SELECT to_regclass($1) IS NOT NULL,
       ARRAY(SELECT attname::text FROM pg_catalog.pg_attribute
             WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped)
"""


async def connect(
    where: Connection, *, tls: ssl.SSLContext | None, statement_timeout: float, connect_timeout: float
) -> PostgresDatabase:
    settings = {
        "application_name": "backup-validator",
        "TimeZone": "UTC",  # so that timestamps without time zone, and now()::timestamp, are UTC
        "default_transaction_read_only": "on",
        "statement_timeout": str(int(statement_timeout * 1000)),
    }

    async def connector() -> asyncpg.Connection:
        opening = asyncpg.connect(
            host=where.host, port=where.port, user=where.user, password=where.password, database=where.database,
            ssl=tls or False, timeout=connect_timeout, server_settings=settings,
            # every call without its own timeout (transaction control, rollback) gets this one
            command_timeout=statement_timeout + CLIENT_GRACE_SECONDS,
        )  # fmt: skip
        return await connect_within("postgres", where, opening, connect_timeout)

    return PostgresDatabase(await connector(), connector, statement_timeout, where.password)


class PostgresDatabase(ReadOnlyDatabase[asyncpg.Connection]):
    """`worker.ports.Database` for PostgreSQL: each call is one read-only transaction."""

    engine = "postgres"
    quote = '"'

    def __init__(
        self, connection: asyncpg.Connection, connector: Connector, statement_timeout: float, password: str
    ) -> None:
        super().__init__(statement_timeout, password)
        self._connection = connection
        self._connector = connector  # reconnects after the connection was lost

    async def scalar(self, sql: str) -> Any:
        return await self._read_only(lambda c: c.fetchval(sql, timeout=self._timeout + CLIENT_GRACE_SECONDS))

    async def _table_columns(self, handle: asyncpg.Connection, table: str) -> set[str] | None:
        exists, names = await handle.fetchrow(_COLUMNS, quote_table(table, self.quote))
        return set(names) if exists else None

    async def close(self) -> None:
        if not self._connection.is_closed():
            await self._connection.close(timeout=5)

    async def _read_only(self, work: Callable[[asyncpg.Connection], Awaitable[_T]]) -> _T:
        if self._connection.is_closed():
            self._connection = await self._connector()
        connection = self._connection
        try:
            # The server stops the query itself; this bounds the rest too (a server that stops answering
            # mid-transaction), with a little room for the server's own cancellation to arrive first.
            async with asyncio.timeout(self._timeout + 2 * CLIENT_GRACE_SECONDS):
                transaction = connection.transaction(readonly=True)
                await transaction.start()
                try:
                    await connection.execute(f"SET LOCAL statement_timeout = {int(self._timeout * 1000)}")
                    return await work(connection)
                finally:
                    await self._roll_back(transaction)
        except asyncpg.QueryCanceledError:
            raise self._timed_out() from None
        except TimeoutError:
            connection.terminate()  # the server did not answer in time: this connection is given up
            raise self._timed_out(" (the server stopped answering)") from None
        except asyncpg.PostgresError as exc:
            raise self._refused(type(exc).__name__, exc.sqlstate, exc.args[0]) from None
        except (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as exc:
            connection.terminate()  # in an unknown state: the next check starts on a new connection
            raise QueryError(f"connection lost: {type(exc).__name__}") from None

    async def _roll_back(self, transaction: Any) -> None:
        try:
            async with asyncio.timeout(CLIENT_GRACE_SECONDS):
                await transaction.rollback()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError):
            # A connection that cannot even roll back is discarded; the next check reconnects.
            self._connection.terminate()
