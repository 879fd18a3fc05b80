"""What an emulator leaves on the real servers: nothing after it stops; a crashed run's objects are reaped."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import boto3
import pymysql
import pytest
from harness.aws import PASSWORD, create_source, event_notes, insert_events
from harness.databases import POSTGRES_URL, mysql_args

DEAD = "bvemu_dead00_i1"

pytestmark = pytest.mark.usefixtures("cleanup_instances")


def _pg(sql: str) -> list[tuple]:
    async def run() -> list[tuple]:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(run())).result()


def _my(sql: str, args: tuple = ()) -> list[tuple]:
    conn = pymysql.connect(**mysql_args())
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args or None)
            return list(cur.fetchall())
    finally:
        conn.close()


def ours(run_id: str) -> dict[str, list]:
    like = f"bvemu\\_{run_id}\\_%"
    return {
        "pg_databases": _pg(f"SELECT datname FROM pg_database WHERE datname LIKE '{like}'"),
        "pg_roles": _pg(f"SELECT rolname FROM pg_roles WHERE rolname LIKE '{like}'"),
        "my_databases": _my("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s", (like,)),
        "my_users": _my("SELECT user FROM mysql.user WHERE user LIKE %s", (like,)),
    }


def test_objects_of_dead_runs_are_reaped_and_live_runs_are_left_alone(emulator, rds_client, emulator_factory):
    live = create_source(rds_client, "postgres")
    insert_events(live, PASSWORD, ["still here"])
    _pg(f'CREATE DATABASE "{DEAD}"')
    _pg(f'CREATE ROLE "{DEAD}" LOGIN')
    _my(f"CREATE DATABASE `{DEAD}`")
    _my("CREATE USER %s@'%%' IDENTIFIED BY 'x'", (DEAD,))
    assert all(ours("dead00").values())

    other = emulator_factory()
    assert not any(ours("dead00").values())
    assert event_notes(live, PASSWORD) == ["still here"]

    run_id = other.stats()["run_id"]
    other_rds = boto3.client("rds", endpoint_url=other.url)
    create_source(other_rds, "postgres")
    create_source(other_rds, "mariadb")
    assert any(ours(run_id).values())
    other.stop()
    assert not any(ours(run_id).values())
