"""The machine's PostgreSQL and MariaDB servers, which the integration tests require, and scratch databases."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import pymysql

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_URL = os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")

HOW_TO_START = {
    "postgres": (
        "start it (Debian: `apt-get install postgresql && service postgresql start`; local connections as "
        "user postgres must be allowed) or point TEST_POSTGRES_URL at a server"
    ),
    "mysql": (
        "start it (Debian: `apt-get install mariadb-server && service mariadb start`; root must log in over "
        "TCP without a password) or point TEST_MYSQL_URL at a server"
    ),
}


def mysql_args(url: str = MYSQL_URL, database: str | None = None) -> dict[str, Any]:
    parts = urlsplit(url)
    args: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "autocommit": True,
        "connect_timeout": 5,
    }
    if database:
        args["database"] = database
    return args


def _run(coro_fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine to completion from sync code, even when called while an event loop runs here."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(coro_fn())).result()


async def _postgres_ok(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    await conn.close()


def unreachable_servers() -> list[str]:
    """One message per required server that cannot be used, saying how to start it."""
    problems = []
    try:
        _run(lambda: _postgres_ok(POSTGRES_URL))
    except Exception as exc:
        problems.append(f"PostgreSQL at {_where(POSTGRES_URL)} is not usable ({exc}): {HOW_TO_START['postgres']}")
    try:
        pymysql.connect(**mysql_args()).close()
    except Exception as exc:
        problems.append(f"MariaDB/MySQL at {_where(MYSQL_URL)} is not usable ({exc}): {HOW_TO_START['mysql']}")
    return problems


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


@dataclass(frozen=True)
class ScratchDatabase:
    """A uniquely named database on one of the servers, as the admin user."""

    engine: str  # "postgres" or "mysql"
    name: str

    @property
    def url(self) -> str:
        base = POSTGRES_URL if self.engine == "postgres" else MYSQL_URL
        parts = urlsplit(base)
        return parts._replace(path=f"/{self.name}").geturl()


def create_scratch(engine: str) -> ScratchDatabase:
    scratch = ScratchDatabase(engine, f"bvtest_{secrets.token_hex(4)}")
    _admin(engine, f"CREATE DATABASE {_quote(engine, scratch.name)}")
    return scratch


def drop_scratch(scratch: ScratchDatabase) -> None:
    force = " WITH (FORCE)" if scratch.engine == "postgres" else ""
    _admin(scratch.engine, f"DROP DATABASE IF EXISTS {_quote(scratch.engine, scratch.name)}{force}")


def _quote(engine: str, name: str) -> str:
    return f'"{name}"' if engine == "postgres" else f"`{name}`"


def _admin(engine: str, sql: str) -> None:
    if engine == "postgres":

        async def run() -> None:
            conn = await asyncpg.connect(POSTGRES_URL)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        _run(run)
        return
    conn = pymysql.connect(**mysql_args())
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()
