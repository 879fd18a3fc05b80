"""The restored database, for the checks: one connection per validation, every check read-only.

`open_database` picks the driver by the engine name RDS reports (asyncpg for PostgreSQL, aiomysql for MySQL
and MariaDB) and yields an object implementing `worker.stages.checks.Database`. What is shared by both
engines lives here: the connection error, TLS, identifier quoting and keeping the password out of messages.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Protocol

from worker.policy import table_name_parts
from worker.stages.checks import Database, scrub_secrets

POSTGRES_ENGINES = frozenset({"postgres", "aurora-postgresql"})
# "aurora" is Aurora MySQL 5.6's engine name
MYSQL_ENGINES = frozenset({"mysql", "mariadb", "aurora-mysql", "aurora"})

# A query the server should have stopped by itself gets this long before the client gives up on it too.
CLIENT_GRACE_SECONDS = 5.0


class DatabaseUnavailable(Exception):
    """Could not connect. The message names the engine, host:port and the error, never the password."""


class UnsupportedEngine(DatabaseUnavailable):
    """The engine has no driver here (e.g. an Oracle or SQL Server restore)."""


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
    connect = _driver_connect(engine)
    db = await connect(
        host, port, user, password, database, tls=tls_context(tls_ca_file) if tls else None,
        statement_timeout=statement_timeout, connect_timeout=connect_timeout,
    )  # fmt: skip
    try:
        yield db
    finally:
        await db.close()


def _driver_connect(engine: str) -> Callable[..., Awaitable[_Connected]]:
    # Imported here so that only the driver in use is loaded (and the engine modules can import this one).
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


def connection_failure(
    engine: str, host: str, port: int, exc: BaseException, secrets: Iterable[str]
) -> DatabaseUnavailable:
    """A DatabaseUnavailable describing `exc` without credentials (drivers may echo DSNs or settings)."""
    detail = f"{type(exc).__name__}: {exc}"
    if exc.__cause__ is not None:
        detail += f" ({type(exc.__cause__).__name__}: {exc.__cause__})"
    return DatabaseUnavailable(f"cannot connect to {engine} at {host}:{port}: {hide(detail, secrets)}")


def hide(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return scrub_secrets(text)


def quote_table(name: str, quote: str) -> str:
    """`sales.orders` -> `"sales"."orders"` (PostgreSQL) or `` `sales`.`orders` `` (MySQL).

    The policy already allows only plain identifiers; checking again here keeps this function safe alone.
    """
    return ".".join(quote + part.replace(quote, quote * 2) + quote for part in table_name_parts(name))


def count_query(quoted_table: str, where: str | None) -> str:
    # `where` comes from the policy file, which is trusted like code; the read-only transaction still applies
    return f"SELECT count(*) FROM {quoted_table}" + (f" WHERE {where}" if where else "")
