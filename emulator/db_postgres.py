"""PostgreSQL behind emulated RDS instances.

Databases are owned by the admin role and their ``public`` schema by the instance login, so that ownership
can be moved per database with ``REASSIGN OWNED`` (which would otherwise also move the source database).
A snapshot is ``CREATE DATABASE ... TEMPLATE source`` with new connections to the source refused and the
existing ones terminated for that instant; its objects then belong to a per-run holder role, and each restore
hands them to the restored instance's own login.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from emulator.databases import DEFAULT_PORTS, PREFIX, Naming, StaleSpec, run_of
from emulator.state import Physical

log = logging.getLogger("emulator.postgres")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def qualified(name: str) -> str:
    return ".".join(ident(part) for part in name.split("."))


class PostgresEngine:
    kind = "postgres"

    def __init__(self, url: str, naming: Naming) -> None:
        self.url = url
        self.naming = naming
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or DEFAULT_PORTS["postgres"]
        self.version = ""
        self.passwords: dict[str, str] = {}
        self.holder = f"{naming.run_prefix}holder"
        self._pool: asyncpg.Pool | None = None
        self._alive: asyncpg.Connection | None = None
        self._keepalive: asyncio.Task[None] | None = None

    def _settings(self) -> dict[str, str]:
        return {"application_name": self.naming.liveness}

    async def start(self) -> None:
        try:
            self._alive = await asyncpg.connect(self.url, server_settings=self._settings(), timeout=5)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            raise ConnectionError(f"cannot connect to PostgreSQL at {self.host}:{self.port}: {exc}") from exc
        self._pool = await asyncpg.create_pool(
            self.url, min_size=1, max_size=8, server_settings=self._settings(), max_inactive_connection_lifetime=0
        )
        self.version = str(await self._alive.fetchval("SHOW server_version")).split()[0]
        await self._alive.execute(f"CREATE ROLE {ident(self.holder)} NOLOGIN")
        self._keepalive = asyncio.create_task(self._ping_forever())

    async def _ping_forever(self) -> None:
        # Other runs see this one alive by this connection's application_name: keep it from idling out.
        assert self._alive is not None
        while True:
            await asyncio.sleep(60)
            await self._alive.execute("SELECT 1")

    async def close(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._pool is not None:
            await self._pool.close()
        if self._alive is not None:
            await self._alive.close()

    async def _exec(self, sql: str, *args: Any) -> None:
        assert self._pool is not None
        await self._pool.execute(sql, *args)

    @contextlib.asynccontextmanager
    async def _connect(self, database: str) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.url, database=database, server_settings=self._settings())
        try:
            yield conn
        finally:
            await conn.close()

    async def create_instance(self, phys: Physical, password: str) -> None:
        await self._exec(f"CREATE ROLE {ident(phys.login)} LOGIN PASSWORD {literal(password)}")
        self.passwords[phys.login] = password
        await self._exec(f"CREATE DATABASE {ident(phys.database)} TEMPLATE template0")
        await self._grant_database(phys)
        async with self._connect(phys.database) as conn:
            await conn.execute(f"ALTER SCHEMA public OWNER TO {ident(phys.login)}")

    async def _grant_database(self, phys: Physical) -> None:
        await self._exec(f"REVOKE ALL ON DATABASE {ident(phys.database)} FROM PUBLIC")
        await self._exec(f"GRANT ALL ON DATABASE {ident(phys.database)} TO {ident(phys.login)}")

    async def snapshot(self, source: Physical, snapshot_db: str) -> int:
        src = ident(source.database)
        await self._exec(f"ALTER DATABASE {src} ALLOW_CONNECTIONS false")
        try:
            await self._clone_exclusive(source.database, snapshot_db)
            async with self._connect(snapshot_db) as conn:
                await conn.execute(f"REASSIGN OWNED BY {ident(source.login)} TO {ident(self.holder)}")
                # Frees the source login of the snapshot (so it can be dropped with its instance); it also
                # revokes its privileges on shared objects, i.e. on the source database: granted back below.
                await conn.execute(f"DROP OWNED BY {ident(source.login)}")
            await self._grant_database(source)
        finally:
            await self._exec(f"ALTER DATABASE {src} ALLOW_CONNECTIONS true")
        await self._exec(f"REVOKE ALL ON DATABASE {ident(snapshot_db)} FROM PUBLIC")
        await self._exec(f"ALTER DATABASE {ident(snapshot_db)} ALLOW_CONNECTIONS false")
        assert self._pool is not None
        return int(await self._pool.fetchval("SELECT pg_database_size($1)", snapshot_db))

    async def _clone_exclusive(self, source_db: str, target_db: str) -> None:
        """Copy a database that may have writers: kick them out (new ones are refused) and retry."""
        kick = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
        for attempt in range(20):
            await self._exec(kick, source_db)
            try:
                await self._exec(f"CREATE DATABASE {ident(target_db)} TEMPLATE {ident(source_db)}")
                return
            except asyncpg.ObjectInUseError:
                await asyncio.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"database {source_db} stayed busy; could not snapshot it")

    async def restore(self, snapshot: Physical, target: Physical, password: str, stale: StaleSpec | None) -> None:
        await self._exec(f"CREATE ROLE {ident(target.login)} LOGIN PASSWORD {literal(password)}")
        self.passwords[target.login] = password
        await self._exec(f"CREATE DATABASE {ident(target.database)} TEMPLATE {ident(snapshot.database)}")
        await self._grant_database(target)
        async with self._connect(target.database) as conn:
            await conn.execute(f"REASSIGN OWNED BY {ident(self.holder)} TO {ident(target.login)}")
            await self._grant_leftovers(conn, target.login)
            if stale is not None:
                await self._trim(conn, stale)

    async def _grant_leftovers(self, conn: asyncpg.Connection, login: str) -> None:
        """Objects the source's admin created (not its master user) stay readable by the new login."""
        schemas = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
        )
        for row in schemas:
            schema, role = ident(row["nspname"]), ident(login)
            await conn.execute(f"GRANT ALL ON SCHEMA {schema} TO {role}")
            await conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role}")
            await conn.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")

    async def _trim(self, conn: asyncpg.Connection, stale: StaleSpec) -> None:
        table, column = qualified(stale.table), ident(stale.column)
        await conn.execute(
            f"DELETE FROM {table} WHERE {column} > "
            f"(SELECT max({column}) FROM {table}) - make_interval(secs => $1::float8)",
            float(stale.minutes) * 60.0,
        )

    async def set_password(self, phys: Physical, password: str) -> None:
        await self._exec(f"ALTER ROLE {ident(phys.login)} PASSWORD {literal(password)}")
        self.passwords[phys.login] = password

    async def drop(self, phys: Physical) -> None:
        await self._exec(f"DROP DATABASE IF EXISTS {ident(phys.database)} WITH (FORCE)")
        if phys.login:
            self.passwords.pop(phys.login, None)
            try:
                await self._exec(f"DROP ROLE IF EXISTS {ident(phys.login)}")
            except asyncpg.PostgresError as exc:
                # Left for drop_run at shutdown; the database itself is gone.
                log.warning("could not drop role %s yet: %s", phys.login, exc)

    async def drop_run(self) -> None:
        await self._drop_matching(lambda name: name.startswith(self.naming.run_prefix))

    async def reap_orphans(self) -> list[str]:
        assert self._pool is not None
        live = {
            r["application_name"]
            for r in await self._pool.fetch("SELECT DISTINCT application_name FROM pg_stat_activity")
        }

        def orphan(name: str) -> bool:
            run = run_of(name)
            return run is not None and f"{PREFIX}{run}" not in live

        return await self._drop_matching(orphan)

    async def _drop_matching(self, wanted: Any) -> list[str]:
        assert self._pool is not None
        dbs = [r["datname"] for r in await self._pool.fetch("SELECT datname FROM pg_database") if wanted(r["datname"])]
        roles = [r["rolname"] for r in await self._pool.fetch("SELECT rolname FROM pg_roles") if wanted(r["rolname"])]
        for db in dbs:
            await self._exec(f"DROP DATABASE IF EXISTS {ident(db)} WITH (FORCE)")
        # The holder role goes last: other roles' objects may still reference it until their DBs are gone.
        for role in sorted(roles, key=lambda r: r.endswith("_holder")):
            try:
                await self._exec(f"DROP ROLE IF EXISTS {ident(role)}")
            except asyncpg.PostgresError as exc:
                log.warning("could not drop role %s: %s", role, exc)
        return dbs + roles
