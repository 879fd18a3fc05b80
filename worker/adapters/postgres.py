"""PostgreSQL (RDS, Aurora PostgreSQL) for the checks, over asyncpg."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from worker.adapters.sql_common import CLIENT_GRACE_SECONDS, connection_failure, count_query, hide, quote_table
from worker.errors import QueryError, QueryTimeout

_T = TypeVar("_T")
Connector = Callable[[], Awaitable[asyncpg.Connection]]

_COLUMNS = """
SELECT to_regclass($1) IS NOT NULL,
       ARRAY(SELECT attname::text FROM pg_catalog.pg_attribute
             WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped)
"""


async def connect(
    host: str,
    port: int,
    user: str,
    password: str,
    database: str,
    *,
    tls: ssl.SSLContext | None,
    statement_timeout: float,
    connect_timeout: float,
) -> PostgresDatabase:
    settings = {
        "application_name": "backup-validator",
        "TimeZone": "UTC",  # so that timestamps without time zone, and now()::timestamp, are UTC
        "default_transaction_read_only": "on",
        "statement_timeout": str(int(statement_timeout * 1000)),
    }

    async def connector() -> asyncpg.Connection:
        try:
            async with asyncio.timeout(connect_timeout):
                return await asyncpg.connect(
                    host=host, port=port, user=user, password=password, database=database,
                    ssl=tls or False, timeout=connect_timeout, server_settings=settings,
                    # every call without its own timeout (transaction control, rollback) gets this one
                    command_timeout=statement_timeout + CLIENT_GRACE_SECONDS,
                )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - whatever the cause, the database is unavailable
            raise connection_failure("postgres", host, port, exc, [password]) from None

    return PostgresDatabase(await connector(), connector, statement_timeout, password)


class PostgresDatabase:
    """`worker.ports.Database` for PostgreSQL: each call is one read-only transaction."""

    def __init__(
        self, connection: asyncpg.Connection, connector: Connector, statement_timeout: float, password: str
    ) -> None:
        self.engine = "postgres"
        self._connection = connection
        self._connector = connector  # reconnects after the connection was lost
        self._timeout = statement_timeout
        self._secrets = (password,)

    async def scalar(self, sql: str) -> Any:
        return await self._read_only(lambda c: c.fetchval(sql, timeout=self._timeout + CLIENT_GRACE_SECONDS))

    async def row_count(self, table: str, where: str | None = None) -> int:
        sql = count_query(quote_table(table, '"'), where)
        return int(await self.scalar(sql))

    async def columns(self, tables: Sequence[str]) -> dict[str, set[str]]:
        async def read(connection: asyncpg.Connection) -> dict[str, set[str]]:
            found = {}
            for table in tables:
                exists, names = await connection.fetchrow(_COLUMNS, quote_table(table, '"'))
                if exists:
                    found[table] = set(names)
            return found

        return await self._read_only(read)

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
            raise QueryTimeout(f"statement timeout after {self._timeout:g}s") from None
        except TimeoutError:
            connection.terminate()  # the server did not answer in time: this connection is given up
            raise QueryTimeout(f"statement timeout after {self._timeout:g}s (the server stopped answering)") from None
        except asyncpg.PostgresError as exc:
            message = hide(f"{type(exc).__name__} ({exc.sqlstate}): {exc.args[0]}", self._secrets)
            raise QueryError(message) from None
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
