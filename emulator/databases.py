"""The real database servers behind the emulated RDS instances, and how their objects are named.

Every instance shares one server per engine, so the physical database and login names are unique per
emulator run: ``bvemu_<run>_<kind><n>``. A run marks itself alive on each server (application name on
PostgreSQL, a named lock on MariaDB) so that a later run can drop what a crashed run left behind without
touching the objects of a run that is still going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from emulator.state import Physical
from emulator.wire import ApiError

log = logging.getLogger("emulator.databases")

PREFIX = "bvemu_"
ENGINE_KINDS = {"postgres": "postgres", "mysql": "mysql", "mariadb": "mysql"}
# Aurora engines run on the same servers (a cluster's data is one database there).
AURORA_KINDS = {"aurora-postgresql": "postgres", "aurora-mysql": "mysql"}
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}


@dataclass(frozen=True)
class StaleSpec:
    """Delete the newest ``minutes`` of rows of ``table`` (by ``column``) from a restored copy."""

    table: str
    column: str
    minutes: float


class Engine(Protocol):
    kind: str
    version: str
    host: str
    port: int
    passwords: dict[str, str]

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def reap_orphans(self) -> list[str]: ...
    async def create_instance(self, phys: Physical, password: str) -> None: ...
    async def snapshot(self, source: Physical, snapshot_db: str) -> int: ...
    async def restore(self, snapshot: Physical, target: Physical, password: str, stale: StaleSpec | None) -> None: ...
    async def set_password(self, phys: Physical, password: str) -> None: ...
    async def drop(self, phys: Physical) -> None: ...
    async def drop_run(self) -> None: ...


def new_run_id() -> str:
    # Never seeded: two emulators started with the same --seed must not share object names.
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(6))


def run_of(name: str) -> str | None:
    """The run id in ``bvemu_<run>_...``, or None for a name that is not ours."""
    parts = name.split("_")
    if len(parts) >= 3 and parts[0] + "_" == PREFIX and len(parts[1]) == 6:
        return parts[1]
    return None


class Naming:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.run_prefix = f"{PREFIX}{run_id}_"
        self._counter: Iterator[int] = iter(range(1, 1 << 62))

    def instance(self, engine: str) -> Physical:
        name = f"{self.run_prefix}i{next(self._counter)}"
        return Physical(engine=engine, database=name, login=name)

    def snapshot(self, engine: str) -> Physical:
        return Physical(engine=engine, database=f"{self.run_prefix}s{next(self._counter)}")

    @property
    def liveness(self) -> str:
        return f"{PREFIX}{self.run_id}"


class Databases:
    """The engines by kind, plus one semaphore that bounds concurrent heavy database work."""

    def __init__(self, engines: dict[str, Engine], naming: Naming, concurrency: int) -> None:
        self.engines = engines
        self.naming = naming
        self.work = asyncio.Semaphore(max(1, concurrency))

    def engine_for(self, engine_name: str) -> Engine:
        kind = ENGINE_KINDS.get(engine_name.lower()) or AURORA_KINDS.get(engine_name.lower())
        if kind is None:
            raise ApiError(
                "InvalidParameterValue",
                f"Invalid DB engine: {engine_name}. The emulator supports postgres, mysql and mariadb.",
            )
        engine = self.engines.get(kind)
        if engine is None:
            flag = "--postgres-url" if kind == "postgres" else "--mysql-url"
            raise ApiError(
                "InvalidParameterValue",
                f"Engine {engine_name} is not available: start the emulator with {flag}.",
            )
        return engine

    def of(self, phys: Physical) -> Engine:
        return self.engines[phys.engine]

    async def close(self) -> None:
        for engine in self.engines.values():
            with contextlib.suppress(Exception):
                await engine.drop_run()
            with contextlib.suppress(Exception):
                await engine.close()


async def open_databases(postgres_url: str | None, mysql_url: str | None, concurrency: int, reap: bool) -> Databases:
    """Connect to the configured servers; raises ConnectionError with a one-line reason if one is down."""
    from emulator.db_mysql import MySQLEngine
    from emulator.db_postgres import PostgresEngine

    naming = Naming(new_run_id())
    engines: dict[str, Engine] = {}
    if postgres_url:
        engines["postgres"] = PostgresEngine(postgres_url, naming)
    if mysql_url:
        engines["mysql"] = MySQLEngine(mysql_url, naming)
    started: list[Engine] = []
    try:
        for engine in engines.values():
            await engine.start()
            started.append(engine)
    except Exception:
        for engine in started:
            await engine.close()
        raise
    if reap:
        for engine in engines.values():
            dropped = await engine.reap_orphans()
            if dropped:
                log.info("dropped %d objects left by dead emulator runs on %s", len(dropped), engine.kind)
    return Databases(engines, naming, concurrency)
