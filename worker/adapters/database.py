"""The restored database, for the checks: one connection per validation, every check read-only.

`open_database` picks the driver by the engine name RDS reports (asyncpg for PostgreSQL, aiomysql for MySQL
and MariaDB) and yields an object implementing `worker.ports.Database`. The helpers both drivers share are in
`sql_common`; TLS is set up here.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from worker.errors import DatabaseUnavailable, UnsupportedEngine
from worker.ports import Connection, Database

POSTGRES_ENGINES = frozenset({"postgres", "aurora-postgresql"})
# "aurora" is Aurora MySQL 5.6's engine name
MYSQL_ENGINES = frozenset({"mysql", "mariadb", "aurora-mysql", "aurora"})


class _Connected(Database, Protocol):
    async def close(self) -> None: ...


@asynccontextmanager
async def open_database(
    engine: str,
    host: str,
    port: int,
    user: str,
    password: str,
    database: str,
    *,
    tls: bool,
    statement_timeout: float,
    connect_timeout: float = 10,
    tls_ca_file: str | None = None,
) -> AsyncIterator[Database]:
    """Connect; DatabaseUnavailable if that fails. With `tls`, an unencrypted connection is refused.

    `tls_ca_file` (e.g. AWS's RDS global bundle) also verifies the server's certificate and host name.
    Without it the connection is encrypted but the certificate is not verified: RDS certificates are issued
    by Amazon RDS CAs, which are not in the default trust store, so verifying against it would always fail.
    """
    where = Connection(engine, host, port, user, database, password)
    connect = _driver_connect(engine)
    db = await connect(
        where, tls=tls_context(tls_ca_file) if tls else None, statement_timeout=statement_timeout,
        connect_timeout=connect_timeout,
    )  # fmt: skip
    try:
        yield db
    finally:
        await db.close()


def _driver_connect(engine: str) -> Callable[..., Awaitable[_Connected]]:
    # Imported here so that only the driver in use is loaded (the drivers import `sql_common`, not this module).
    if engine in POSTGRES_ENGINES:
        from worker.adapters import postgres

        return postgres.connect
    if engine in MYSQL_ENGINES:
        from worker.adapters import mysql

        return mysql.connect
    raise UnsupportedEngine(f"no driver for engine {engine!r} (supported: PostgreSQL, MySQL, MariaDB)")


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if ca_file is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass(frozen=True)
class DatabaseOpener:
    """`worker.ports.OpenDatabase` with the deployment's TLS settings."""

    tls: bool
    ca_file: str | None = None

    def __call__(self, connection: Connection, statement_timeout: float) -> AbstractAsyncContextManager[Database]:
        return open_database(
            connection.engine, connection.host, connection.port, connection.user, connection.password,
            connection.database, tls=self.tls, statement_timeout=statement_timeout, tls_ca_file=self.ca_file,
        )  # fmt: skip


__all__ = ["DatabaseOpener", "DatabaseUnavailable", "UnsupportedEngine", "open_database", "tls_context"]
