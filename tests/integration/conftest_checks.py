"""Scratch databases on the machine's PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) for the
check tests: each gets a uniquely named database (`bvt_<8 hex>`) and drops it afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import aiomysql
import asyncpg

from worker.adapters.database import open_database

SERVERS = {
    "postgres": {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": ""},
    "mariadb": {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""},
}
ENGINES = tuple(SERVERS)

EVENTS_TABLE = {
    "postgres": "CREATE TABLE events (id serial PRIMARY KEY, created_at timestamp NOT NULL, "
    "amount numeric(10, 2) NOT NULL, note text)",
    "mariadb": "CREATE TABLE events (id int AUTO_INCREMENT PRIMARY KEY, created_at datetime(6) NOT NULL, "
    "amount decimal(10, 2) NOT NULL, note text) ENGINE=InnoDB",
}
SLEEP = {"postgres": "SELECT pg_sleep(30)", "mariadb": "SELECT SLEEP(30)"}


@dataclass(frozen=True)
class Scratch:
    """One scratch database; `execute`/`fetchval` are the test's own admin (read-write) access."""

    engine: str
    name: str

    @property
    def server(self) -> dict[str, Any]:
        return SERVERS[self.engine]

    def open(self, *, statement_timeout: float = 10, **overrides: Any) -> Any:
        """The adapter under test, connected as the admin user: the read-only guard must hold even then."""
        args = {**self.server, "database": self.name, **overrides}
        return open_database(self.engine, tls=False, statement_timeout=statement_timeout, **args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._run(sql, args, fetch=False)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run(sql, args, fetch=True)

    async def insert_events(self, rows: Sequence[tuple[Any, Any]]) -> None:
        marks = "($1, $2)" if self.engine == "postgres" else "(%s, %s)"
        for created_at, amount in rows:
            await self.execute(f"INSERT INTO events (created_at, amount) VALUES {marks}", created_at, amount)

    async def _run(self, sql: str, args: Sequence[Any], *, fetch: bool) -> Any:
        if self.engine == "postgres":
            connection = await asyncpg.connect(**self.server, database=self.name)
            try:
                return await (connection.fetchval(sql, *args) if fetch else connection.execute(sql, *args))
            finally:
                await connection.close()
        connection = await aiomysql.connect(**self.server, db=self.name, autocommit=True)
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(sql, args or None)
                row = await cursor.fetchone() if fetch else None
                return row[0] if row else None
        finally:
            connection.close()


async def _admin(engine: str, sql: str) -> None:
    server = SERVERS[engine]
    if engine == "postgres":
        connection = await asyncpg.connect(**server, database="postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()
        return
    connection = await aiomysql.connect(**server, autocommit=True)
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(sql)
    finally:
        connection.close()


@asynccontextmanager
async def scratch_database(engine: str, *, with_events: bool = True) -> AsyncIterator[Scratch]:
    scratch = Scratch(engine, f"bvt_{uuid4().hex[:8]}")
    await _admin(engine, f"CREATE DATABASE {scratch.name}")
    try:
        if with_events:
            await scratch.execute(EVENTS_TABLE[engine])
        yield scratch
    finally:
        force = " WITH (FORCE)" if engine == "postgres" else ""
        await _admin(engine, f"DROP DATABASE IF EXISTS {scratch.name}{force}")


@asynccontextmanager
async def scratch_user(engine: str, database: str, password: str) -> AsyncIterator[str]:
    """A login with a password (MariaDB only: the PostgreSQL server here trusts every local login)."""
    assert engine == "mariadb"
    user = f"bvt_{uuid4().hex[:8]}"
    await _admin(engine, f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    try:
        await _admin(engine, f"GRANT SELECT ON {database}.* TO '{user}'@'%'")
        yield user
    finally:
        await _admin(engine, f"DROP USER IF EXISTS '{user}'@'%'")
