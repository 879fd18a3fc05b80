"""MariaDB/MySQL behind emulated RDS instances (engines ``mysql`` and ``mariadb``).

A snapshot reads every table inside one ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` on one connection
(plain, non-locking reads, so writers are never blocked and nothing committed later is seen) and writes the
rows into the snapshot database over a second connection: DDL there would otherwise end the transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql
import pymysql

from emulator.databases import DEFAULT_PORTS, Naming, StaleSpec, run_of
from emulator.state import Physical

BATCH = 500


class QuietCursor(aiomysql.Cursor):  # type: ignore[misc]
    """aiomysql turns server notes (e.g. DROP ... IF EXISTS on nothing) into Python warnings."""

    async def _show_warnings(self, conn: Any) -> None:
        return None


class QuietStreamCursor(aiomysql.SSCursor):  # type: ignore[misc]
    async def _show_warnings(self, conn: Any) -> None:
        return None


def ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def qualified(name: str) -> str:
    return ".".join(ident(part) for part in name.split("."))


def grant_pattern(database: str) -> str:
    # In GRANT ... ON db.*, "_" and "%" are wildcards.
    return ident(database.replace("_", "\\_").replace("%", "\\%"))


class MySQLEngine:
    kind = "mysql"

    def __init__(self, url: str, naming: Naming) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or DEFAULT_PORTS["mysql"]
        self._conn_args: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
            "autocommit": True,
            "cursorclass": QuietCursor,
            "connect_timeout": 5,
        }
        self.naming = naming
        self.version = ""
        self.passwords: dict[str, str] = {}
        self._pool: aiomysql.Pool | None = None
        self._alive: aiomysql.Connection | None = None
        self._keepalive: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            self._alive = await aiomysql.connect(**self._conn_args)
        except (TimeoutError, OSError, pymysql.MySQLError) as exc:
            raise ConnectionError(f"cannot connect to MySQL/MariaDB at {self.host}:{self.port}: {exc}") from exc
        self._pool = await aiomysql.create_pool(minsize=1, maxsize=10, **self._conn_args)
        async with self._alive.cursor() as cur:
            await cur.execute("SELECT GET_LOCK(%s, 0)", (self.naming.liveness,))
            await cur.execute("SELECT VERSION()")
            row = await cur.fetchone()
        self.version = str(row[0]).split("-")[0]
        self._keepalive = asyncio.create_task(self._ping_forever())

    async def _ping_forever(self) -> None:
        # The liveness lock lives as long as its connection; an idle one is closed after wait_timeout.
        assert self._alive is not None
        while True:
            await asyncio.sleep(60)
            async with self._alive.cursor() as cur:
                await cur.execute("SELECT 1")

    async def close(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
        if self._alive is not None:
            self._alive.close()

    @contextlib.asynccontextmanager
    async def _cursor(self, cursor_class: Any = QuietCursor) -> AsyncIterator[Any]:
        assert self._pool is not None
        async with self._pool.acquire() as conn, conn.cursor(cursor_class) as cur:
            yield cur

    async def _exec(self, *statements: str) -> None:
        async with self._cursor() as cur:
            for sql in statements:
                await cur.execute(sql)

    async def _create_login(self, phys: Physical, password: str) -> None:
        async with self._cursor() as cur:
            await cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (phys.login, password))
            await cur.execute(f"GRANT ALL PRIVILEGES ON {grant_pattern(phys.database)}.* TO %s@'%%'", (phys.login,))
        self.passwords[phys.login] = password

    async def create_instance(self, phys: Physical, password: str) -> None:
        await self._exec(f"CREATE DATABASE {ident(phys.database)}")
        await self._create_login(phys, password)

    async def snapshot(self, source: Physical, snapshot_db: str) -> int:
        await self._exec(f"CREATE DATABASE {ident(snapshot_db)}")
        assert self._pool is not None
        async with (
            self._pool.acquire() as reader,
            self._pool.acquire() as writer,
            reader.cursor(QuietStreamCursor) as rcur,
        ):
            await rcur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            await rcur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            try:
                for table in await self._tables(rcur, source.database):
                    await self._copy_table(rcur, writer, source.database, snapshot_db, table)
            finally:
                await rcur.execute("COMMIT")
        return await self._size(snapshot_db)

    async def _tables(self, cur: Any, database: str) -> list[str]:
        await cur.execute(f"SHOW FULL TABLES FROM {ident(database)} WHERE Table_type = 'BASE TABLE'")
        return [row[0] for row in await cur.fetchall()]

    async def _copy_table(self, rcur: Any, writer: Any, source_db: str, target_db: str, table: str) -> None:
        await rcur.execute(f"SHOW CREATE TABLE {ident(source_db)}.{ident(table)}")
        create_sql = (await rcur.fetchall())[0][1]
        async with writer.cursor(QuietCursor) as wcur:
            await wcur.execute(f"USE {ident(target_db)}")
            await wcur.execute("SET SESSION foreign_key_checks = 0")
            await wcur.execute(create_sql)
            await rcur.execute(f"SELECT * FROM {ident(source_db)}.{ident(table)}")
            width = len(rcur.description)
            insert = f"INSERT INTO {ident(table)} VALUES ({', '.join(['%s'] * width)})"
            while rows := await rcur.fetchmany(BATCH):
                await wcur.executemany(insert, rows)

    async def _size(self, database: str) -> int:
        async with self._cursor() as cur:
            await cur.execute(
                "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
                "WHERE table_schema = %s",
                (database,),
            )
            row = await cur.fetchone()
        return int(row[0])

    async def restore(self, snapshot: Physical, target: Physical, password: str, stale: StaleSpec | None) -> None:
        src, dst = ident(snapshot.database), ident(target.database)
        await self._exec(f"CREATE DATABASE {dst}")
        async with self._cursor() as cur:
            await cur.execute("SET SESSION foreign_key_checks = 0")
            for table in await self._tables(cur, snapshot.database):
                await cur.execute(f"SHOW CREATE TABLE {src}.{ident(table)}")
                create_sql = (await cur.fetchall())[0][1]
                await cur.execute(f"USE {dst}")
                await cur.execute(create_sql)
                await cur.execute(f"INSERT INTO {dst}.{ident(table)} SELECT * FROM {src}.{ident(table)}")
            if stale is not None:
                await self._trim(cur, target.database, stale)
        await self._create_login(target, password)

    async def _trim(self, cur: Any, database: str, stale: StaleSpec) -> None:
        table = f"{ident(database)}.{qualified(stale.table)}"
        column = ident(stale.column)
        await cur.execute(f"SELECT MAX({column}) FROM {table}")
        newest = (await cur.fetchone())[0]
        if newest is not None:
            await cur.execute(
                f"DELETE FROM {table} WHERE {column} > %s - INTERVAL %s SECOND",
                (newest, float(stale.minutes) * 60.0),
            )

    async def set_password(self, phys: Physical, password: str) -> None:
        async with self._cursor() as cur:
            await cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (phys.login, password))
        self.passwords[phys.login] = password

    async def drop(self, phys: Physical) -> None:
        await self._exec(f"DROP DATABASE IF EXISTS {ident(phys.database)}")
        if phys.login:
            self.passwords.pop(phys.login, None)
            async with self._cursor() as cur:
                await cur.execute("DROP USER IF EXISTS %s@'%%'", (phys.login,))

    async def drop_run(self) -> None:
        await self._drop_matching(lambda name: name.startswith(self.naming.run_prefix))

    async def reap_orphans(self) -> list[str]:
        runs: dict[str, bool] = {}
        async with self._cursor() as cur:
            for name in await self._our_names(cur):
                run = run_of(name)
                if run is not None and run not in runs:
                    await cur.execute("SELECT IS_USED_LOCK(%s)", (f"bvemu_{run}",))
                    runs[run] = (await cur.fetchone())[0] is not None
        return await self._drop_matching(lambda name: run_of(name) in runs and not runs[run_of(name) or ""])

    async def _our_names(self, cur: Any) -> list[str]:
        await cur.execute("SHOW DATABASES LIKE 'bvemu\\_%'")
        names = [row[0] for row in await cur.fetchall()]
        await cur.execute("SELECT DISTINCT user FROM mysql.user WHERE user LIKE 'bvemu\\_%'")
        return names + [row[0] for row in await cur.fetchall()]

    async def _drop_matching(self, wanted: Callable[[str], bool]) -> list[str]:
        dropped: list[str] = []
        async with self._cursor() as cur:
            await cur.execute("SHOW DATABASES LIKE 'bvemu\\_%'")
            for (name,) in await cur.fetchall():
                if wanted(name):
                    await cur.execute(f"DROP DATABASE IF EXISTS {ident(name)}")
                    dropped.append(name)
            await cur.execute("SELECT user, host FROM mysql.user WHERE user LIKE 'bvemu\\_%'")
            for user, host in await cur.fetchall():
                if wanted(user):
                    await cur.execute("DROP USER IF EXISTS %s@%s", (user, host))
                    dropped.append(user)
        return dropped
