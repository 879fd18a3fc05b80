"""MySQL and MariaDB (RDS, Aurora MySQL) for the checks, over aiomysql."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiomysql
import pymysql
from pymysql.constants import CLIENT

from worker.adapters.sql_common import CLIENT_GRACE_SECONDS, ReadOnlyDatabase, connect_within
from worker.errors import QueryError
from worker.ports import Connection

_T = TypeVar("_T")

_TIMEOUT_CODES = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time
_LOST_CONNECTION_CODES = {2006, 2013, 2014, 2055}

_COLUMNS = """
SELECT COLUMN_NAME FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s
"""


Session = tuple[Any, str]  # an aiomysql connection, and the statement that sets its statement timeout
Connector = Callable[[], Awaitable[Session]]


async def connect(
    where: Connection, *, tls: ssl.SSLContext | None, statement_timeout: float, connect_timeout: float
) -> MySqlDatabase:
    async def connector() -> Session:
        connection = aiomysql.Connection(
            host=where.host, port=where.port, user=where.user, password=where.password, db=where.database, ssl=tls,
            charset="utf8mb4", connect_timeout=connect_timeout, autocommit=False,
        )  # fmt: skip
        # aiomysql always asks for multi-statement support; without it "SELECT 1; COMMIT; DROP ..." cannot
        # step out of the read-only transaction. (aiomysql.connect() is this, minus the flag.)
        connection.client_flag &= ~CLIENT.MULTI_STATEMENTS

        async def opening() -> Session:
            await connection._connect()
            return connection, await _prepare_session(connection, statement_timeout, tls is not None)

        return await connect_within("mysql", where, opening(), connect_timeout, connection.close)

    return MySqlDatabase(await connector(), connector, statement_timeout, where.password)


async def _prepare_session(connection: Any, statement_timeout: float, require_tls: bool) -> str:
    """Check TLS, set the session up; returns the statement that sets the statement timeout."""
    cursor = await connection.cursor()
    if require_tls:
        # aiomysql quietly stays unencrypted when the server does not offer TLS
        await cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        row = await cursor.fetchone()
        if not row or not row[1]:
            raise ConnectionError("the server did not negotiate TLS")
    # TIMESTAMP columns are returned in the session time zone; UTC makes "naive means UTC" true
    await cursor.execute("SET SESSION time_zone = '+00:00'")
    await cursor.execute("SELECT VERSION()")
    (version,) = await cursor.fetchone()
    if "mariadb" in str(version).lower():
        return f"SET SESSION max_statement_time = {statement_timeout:.3f}"
    return f"SET SESSION max_execution_time = {int(statement_timeout * 1000)}"


class MySqlDatabase(ReadOnlyDatabase[Any]):
    """`worker.ports.Database` for MySQL/MariaDB: each call is one read-only transaction (over an aiomysql
    cursor)."""

    engine = "mysql"
    quote = "`"

    def __init__(self, session: Session, connector: Connector, statement_timeout: float, password: str) -> None:
        super().__init__(statement_timeout, password)
        self._session: Session | None = session
        self._connector = connector  # reconnects after the connection was lost or abandoned

    async def scalar(self, sql: str) -> Any:
        async def read(cursor: Any) -> Any:
            await cursor.execute(sql)
            row = await cursor.fetchone()
            return row[0] if row else None

        return await self._read_only(read)

    async def _table_columns(self, handle: Any, table: str) -> set[str] | None:
        schema, _, name = table.rpartition(".")
        await handle.execute(_COLUMNS, (schema or None, name))
        names = {row[0] for row in await handle.fetchall()}
        return names or None  # every table has a column, so none means no such table

    async def close(self) -> None:
        if self._session is not None:
            self._session[0].close()  # the server rolls back whatever was open
            self._session = None

    async def _read_only(self, work: Callable[[Any], Awaitable[_T]]) -> _T:
        if self._session is None:
            self._session = await self._connector()
        connection, set_timeout = self._session
        try:
            async with asyncio.timeout(self._timeout + CLIENT_GRACE_SECONDS):
                cursor = await connection.cursor()
                # Every time, because a plugin's query could have changed them.
                await cursor.execute("SET SESSION TRANSACTION READ ONLY")  # also refuses DDL, which commits
                await cursor.execute(set_timeout)
                await cursor.execute("START TRANSACTION READ ONLY")
                try:
                    result = await work(cursor)
                except pymysql.err.MySQLError:
                    await cursor.execute("ROLLBACK")
                    raise
                await cursor.execute("ROLLBACK")
                return result
        except pymysql.err.MySQLError as exc:
            raise await self._query_error(exc) from None
        except TimeoutError:
            await self.close()  # the query may still run on the server; this connection is given up
            raise self._timed_out() from None
        except asyncio.CancelledError:
            await self.close()  # a reply may be half read; the next check starts on a new connection
            raise
        except OSError as exc:
            await self.close()
            raise QueryError(f"connection lost: {type(exc).__name__}") from None

    async def _query_error(self, exc: pymysql.err.MySQLError) -> QueryError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in _TIMEOUT_CODES:
            return self._timed_out()
        if code in _LOST_CONNECTION_CODES or isinstance(exc, pymysql.err.InterfaceError):
            await self.close()
            return QueryError(f"connection lost: {type(exc).__name__} ({code})")
        text = exc.args[1] if len(exc.args) > 1 else str(exc)
        return self._refused(type(exc).__name__, code, text)
