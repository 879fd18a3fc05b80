"""`backup-validator demo`: the whole loop on local stand-ins, in one process.

moto (SQS, S3, EventBridge, DynamoDB, CloudWatch Logs) and the emulator (AWS Backup + RDS, restoring into
the machine's PostgreSQL and MariaDB) start in background threads; sources of both engines get an `events`
table, are backed up and copied to a central vault; the copy events flow EventBridge -> SQS -> this worker.
A DynamoDB table in moto is backed up and restored the same way. One source's copy of each kind (a PostgreSQL
database, a DynamoDB table) is stale on purpose and must FAIL. Exit 0 when every outcome is the expected one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from emulator.bootstrap import create_resources
from emulator.moto_server import start_moto
from emulator.server import EmulatorConfig, Knobs, run_in_thread
from emulator.traffic import Traffic
from standins.policies import example_policy, table_selection
from standins.tables import create_orders_table, delete_table
from worker.policy import load_policy
from worker.settings import load_settings

DEADLINE_SECONDS = 240


@dataclass(frozen=True)
class DemoSource:
    identifier: str
    engine: str
    expected: str


@contextlib.contextmanager
def _stand_ins(postgres_url: str, mysql_url: str) -> Iterator[None]:
    # moto's web server logs every request at INFO; the demo's table is what a person wants to read.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = start_moto()
    emulator = run_in_thread(
        EmulatorConfig(
            postgres_url=postgres_url,
            mysql_url=mysql_url,
            events_url=moto.url,
            dynamodb_url=moto.url,
            knobs=Knobs(restore_seconds=(2.0, 4.0)),
        )
    )
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_ENDPOINT_URL_BACKUP": emulator.url,
            "AWS_ENDPOINT_URL_RDS": emulator.url,
        }
    )
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(variable, None)
    try:
        yield
    finally:
        emulator.stop()
        moto.stop()


async def run_demo(postgres_url: str, mysql_url: str, per_engine: int) -> int:
    with _stand_ins(postgres_url, mysql_url), tempfile.TemporaryDirectory() as tmp:
        # Not `bv-`: restored tables are `bv-...`, and the grant to delete them must never cover the ledger.
        resources = await asyncio.to_thread(create_resources, "validator-demo")
        policy_file = Path(tmp) / "policy.toml"
        tables = table_selection("arn:aws:dynamodb:*:*:table/orders-*")
        rds = example_policy("arn:aws:rds:*:*:db:orders-*", aurora_glob="arn:aws:rds:*:*:cluster:orders-*")
        policy_file.write_text(rds + "\n" + tables)
        traffic = Traffic()
        await traffic.prepare_vaults()
        print("creating sources and backing them up ...", flush=True)
        sources = await _make_sources(traffic, per_engine)
        settings = load_settings(
            queue_url=resources.queue_url,
            events_queue_url=resources.events_queue_url,
            dlq_url=resources.dlq_url,
            results_bucket=resources.bucket,
            ledger_table=resources.ledger_table,
            log_group=resources.log_group,
            policy_file=policy_file,
            db_tls="disable",
            metrics_port=0,
            metrics_host="127.0.0.1",
            sweep_interval_seconds=2,
            visibility_seconds=60,
        )
        records = await _run_worker_until_done(settings, load_policy(policy_file), resources.bucket, len(sources))
        for source, demo in sources:
            if demo.engine == "dynamodb":
                await asyncio.to_thread(delete_table, demo.identifier)
            else:
                await traffic.delete_source(source)
        return _report(records, [s[1] for s in sources], resources)


async def _make_sources(traffic: Any, per_engine: int) -> list[tuple[Any, DemoSource]]:
    made: list[tuple[Any, DemoSource]] = []
    plans = [
        (f"orders-{engine}-{index}", engine, "PASSED")
        for engine in ("postgres", "mariadb", "aurora-postgresql", "aurora-mysql")
        for index in range(1, per_engine + 1)
    ]
    plans.append(("orders-stale-postgres", "postgres", "FAILED"))
    for identifier, engine, expected in plans:
        source = await traffic.create_source(identifier, engine)
        if expected == "FAILED":
            # Production is fresh; its copy loses the newest two hours, as a lagging replica would.
            await traffic.write_rows(source, 60, timedelta(hours=3))
            await traffic.mark_stale(source, minutes=120)
        else:
            await traffic.write_rows(source, 60, timedelta(minutes=30))
        await traffic.backup_and_copy(source)
        made.append((source, DemoSource(identifier, engine, expected)))
    return made + await _make_tables(traffic)


async def _make_tables(traffic: Any) -> list[tuple[Any, DemoSource]]:
    """One DynamoDB table that must pass, one whose copy lacks its newest two hours of items and must FAIL."""
    made: list[tuple[Any, DemoSource]] = []
    for name, expected in (("orders-table-1", "PASSED"), ("orders-table-stale", "FAILED")):
        span = timedelta(minutes=30) if expected == "PASSED" else timedelta(hours=3)
        source = SimpleNamespace(arn=await asyncio.to_thread(create_orders_table, name, 60, span))
        if expected == "FAILED":
            await traffic.mark_stale(source, minutes=120, column="updated_at")
        await traffic.backup_and_copy(source)
        made.append((source, DemoSource(name, "dynamodb", expected)))
    return made


async def _run_worker_until_done(settings: Any, policy: Any, bucket: str, expected: int) -> list[dict[str, Any]]:
    import boto3

    from worker.app import run_worker

    stop = asyncio.Event()
    worker_task = asyncio.create_task(run_worker(settings, policy, stop))
    s3 = boto3.client("s3")
    records: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < DEADLINE_SECONDS and not worker_task.done():
            records = await asyncio.to_thread(_read_records, s3, bucket)
            if len(records) >= expected:
                break
            await asyncio.sleep(1)
    finally:
        stop.set()
        await worker_task
    return records


def _read_records(s3: Any, bucket: str) -> list[dict[str, Any]]:
    listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return [json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()) for item in listing]


def _report(records: list[dict[str, Any]], sources: list[DemoSource], resources: Any) -> int:
    # The source's name: an RDS ARN ends ":db:<name>" or ":cluster:<name>", a DynamoDB one ":table/<name>".
    by_source = {str(r.get("source_resource_arn", "")).rsplit(":", 1)[-1].rsplit("/", 1)[-1]: r for r in records}
    header = (
        f"{'source':28} {'engine':17} {'status':15} {'restore_min':>11} {'rto_min':>8} {'age_tx_min':>10}"
        f" {'gap_min':>8}  checks"
    )
    print("\n" + header + "\n" + "-" * len(header))
    all_expected = True
    for source in sources:
        record = by_source.get(source.identifier, {})
        status = record.get("status", "MISSING")
        all_expected &= status == source.expected
        checks = " ".join(f"{c['name']}={c['status']}" for c in record.get("checks", []))
        print(
            f"{source.identifier:28} {source.engine:17} {status:15} {_fmt(record.get('restore_duration')):>11}"
            f" {_fmt(record.get('rto_minutes')):>8} {_fmt(record.get('age_latest_db_tx')):>10}"
            f" {_fmt(record.get('data_gap_minutes')):>8}  {checks}"
        )
    print(f"\nrecords: s3://{resources.bucket}/validations/dt=.../  and CloudWatch Logs group {resources.log_group}")
    print("every outcome as expected" if all_expected else "UNEXPECTED outcome (see above)")
    return 0 if all_expected else 1


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "-"
