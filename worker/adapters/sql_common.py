"""What both database drivers share: connecting within a bound, the connection error, identifier quoting,
keeping secrets out of text, and the `Database` methods that differ only by the driver's read-only call."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from worker.errors import DatabaseUnavailable, QueryError, QueryTimeout
from worker.policy_fields import table_name_parts
from worker.ports import Connection
from worker.redact import scrub_secrets

# A query the server should have stopped by itself gets this long before the client gives up on it too.
CLIENT_GRACE_SECONDS = 5.0

_T = TypeVar("_T")
_Handle = TypeVar("_Handle")  # what a read-only call works on: the driver's connection or cursor


async def connect_within(
    driver: str,
    where: Connection,
    opening: Awaitable[_T],
    seconds: float,
    on_failure: Callable[[], object] | None = None,
) -> _T:
    """`opening` (the driver's connect to `where`) within `seconds`; whatever the cause, a failure is
    DatabaseUnavailable (after `on_failure`, which closes what was half opened)."""
    try:
        async with asyncio.timeout(seconds):
            return await opening
    except Exception as exc:  # noqa: BLE001 - whatever the cause, the database is unavailable
        if on_failure is not None:
            on_failure()
        raise connection_failure(driver, where.host, where.port, exc, [where.password]) from None


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


class ReadOnlyDatabase(ABC, Generic[_Handle]):
    """`worker.ports.Database` over one driver: each call is one read-only transaction (`_read_only`)."""

    engine: str
    quote: str  # how the engine quotes identifiers

    def __init__(self, statement_timeout: float, password: str) -> None:
        self._timeout = statement_timeout
        self._secrets = (password,)

    @abstractmethod
    async def scalar(self, sql: str) -> Any: ...

    @abstractmethod
    async def _read_only(self, work: Callable[[_Handle], Awaitable[_T]]) -> _T: ...

    @abstractmethod
    async def _table_columns(self, handle: _Handle, table: str) -> set[str] | None:
        """The table's column names, None when there is no such table."""

    async def row_count(self, table: str, where: str | None = None) -> int:
        return int(await self.scalar(count_query(quote_table(table, self.quote), where)))

    async def columns(self, tables: Sequence[str]) -> dict[str, set[str]]:
        async def read(handle: _Handle) -> dict[str, set[str]]:
            found = {}
            for table in tables:
                names = await self._table_columns(handle, table)
                if names is not None:
                    found[table] = names
            return found

        return await self._read_only(read)

    def _timed_out(self, why: str = "") -> QueryTimeout:
        return QueryTimeout(f"statement timeout after {self._timeout:g}s{why}")

    def _refused(self, name: str, code: object, text: str) -> QueryError:
        """The server's error, without the credentials it may echo."""
        return QueryError(hide(f"{name} ({code}): {text}", self._secrets))
