"""DynamoDB tables end to end: a source table in moto, backed up and copied by the emulator, the copy event
through EventBridge and SQS to the worker, which restores into a `bv-` table in moto, checks the items within
their read budgets, records, and deletes the table: in every scenario."""

from __future__ import annotations

import asyncio
import re
import signal
from datetime import timedelta
from types import SimpleNamespace

import boto3
import pytest
from harness.worker_stack import WorkerStack, make_stack, run_cli, run_inline, spawn

from standins.policies import table_policy
from standins.tables import create_orders_table, delete_table

FAST = {"lease_seconds": 5, "visibility_seconds": 5, "sweep_interval_seconds": 0.5, "log_level": "DEBUG"}

BROKEN_EXPECTATIONS = """
[[selection.check]]
name = "missing_key"
kind = "items"
items = [{ key = { pk = "order-0" } }, { key = { pk = "order-999" } }]

[[selection.check]]
name = "partiql_mismatch"
kind = "partiql"
statement = "SELECT pk FROM \\"{table}\\" WHERE status = 'paid'"
expect_rows = 5

[[selection.check]]
name = "huge_count"
kind = "item_count"
page_size = 5
read_budget = 1
"""


def bv_tables() -> set[str]:
    return {name for name in boto3.client("dynamodb").list_tables()["TableNames"] if name.startswith("bv-")}


def restore_status(arn: str) -> str | None:
    jobs = boto3.client("backup").list_restore_jobs()["RestoreJobs"]
    return next((job["Status"] for job in jobs if job["RecoveryPointArn"] == arn), None)


def restores_started(emulator, arn: str) -> int:
    return int(emulator.stats()["restore_jobs_per_recovery_point"].get(arn, 0))


@pytest.fixture
async def table_stack(emulator, monkeypatch):
    """A worker stack whose policy selects this test's DynamoDB tables; the tables are deleted afterwards. Its
    DynamoDB calls (the ledger's too) go through the emulator's DynamoDB endpoint, which shows a table under
    restore CREATING as AWS does (botocore's per-service endpoint variable)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", emulator.url)
    # As in the reliability suite: a message retried behind a killed worker's lease must not reach the DLQ.
    stack = await make_stack(max_receive_count=1000)
    made: list[str] = []
    before = bv_tables()

    def policy(extra_checks: str = "", defaults: str = 'restore_timeout = "2m"') -> None:
        glob = f"arn:aws:dynamodb:*:*:table/{stack.prefix}-*"
        stack.policy_file.write_text(table_policy(glob, defaults=defaults, extra_checks=extra_checks))

    async def source(name: str, span: timedelta, items: int = 40) -> str:
        table = f"{stack.prefix}-{name}"
        made.append(table)
        return await asyncio.to_thread(create_orders_table, table, items, span)

    policy()
    yield SimpleNamespace(stack=stack, policy=policy, source=source, before=before)
    for table in made:
        await asyncio.to_thread(delete_table, table)
    await stack.close()


async def validate(stack: WorkerStack, table_arn: str) -> tuple[str, dict]:
    async with run_inline(stack):
        arn = await stack.backup_and_copy(SimpleNamespace(arn=table_arn))
        records = await stack.wait_for_records(1)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    assert len(records) == 1
    return arn, records[0]


def checks_by_name(record: dict) -> dict[str, dict]:
    return {check["name"]: check for check in record["checks"]}


async def test_a_fresh_table_passes_every_check_and_is_deleted(table_stack, emulator):
    table_arn = await table_stack.source("orders", timedelta(minutes=30))
    arn, record = await validate(table_stack.stack, table_arn)
    assert record["status"] == "PASSED", record
    assert record["engine"] == "dynamodb" and record["resource_type"] == "DynamoDB"
    assert record["restored_instance_id"].startswith("bv-")
    assert [c["kind"] for c in record["checks"]] == ["item_count", "freshness", "items", "partiql", "table"]
    checks = checks_by_name(record)
    assert checks["item_count"]["observed"] == 40
    assert all(c["status"] == "PASSED" for c in record["checks"]), record["checks"]
    # Every reading check records what it read; the table check reads nothing beyond DescribeTable.
    assert all(isinstance(checks[name]["read_units"], float) for name in ("item_count", "freshness", "items"))
    assert 0 <= record["age_latest_db_tx"] < 5 and 0 <= record["data_gap_minutes"] < 5
    assert record["cleanup_status"] == "DELETED"
    assert restores_started(emulator, arn) == 1
    assert bv_tables() == table_stack.before
    assert table_stack.stack.queue_depth(table_stack.stack.resources.dlq_url) == 0


async def test_a_stale_copy_fails_its_freshness_check(table_stack, emulator):
    table_arn = await table_stack.source("stale", timedelta(hours=3))
    emulator.set_stale(table_arn, 120, table="", column="updated_at")
    _, record = await validate(table_stack.stack, table_arn)
    assert record["status"] == "FAILED", record
    freshness = checks_by_name(record)["freshness"]
    assert freshness["status"] == "FAILED" and "old, more than 1h20m" in freshness["message"], freshness
    assert record["age_latest_db_tx"] > 115
    assert checks_by_name(record)["item_count"]["observed"] < 40
    assert record["cleanup_status"] == "DELETED"
    assert bv_tables() == table_stack.before


def refused_dynamodb_calls(emulator) -> int:
    """Calls the emulator's DynamoDB endpoint refused (a table under restore read or deleted)."""
    return sum(n for key, n in emulator.stats()["errors"].items() if key.startswith("dynamodb:"))


async def test_the_worker_waits_for_a_creating_table_and_checks_it_once_active(table_stack, emulator):
    """The job says COMPLETED while the table is still CREATING (AWS documents no order): the worker describes
    it CREATING, waits, and reads it only once ACTIVE."""
    table_arn = await table_stack.source("slow", timedelta(minutes=30))
    emulator.configure(restore_seconds=[3.0, 3.0], table_active_lag_seconds=4)
    refused = refused_dynamodb_calls(emulator)
    arn, record = await validate(table_stack.stack, table_arn)
    assert record["status"] == "PASSED", record
    assert emulator.stats()["dynamodb_creating_answers"].get(record["restored_instance_id"], 0) > 0  # saw CREATING
    assert refused_dynamodb_calls(emulator) == refused  # and never read the table before ACTIVE
    # Usable only after ACTIVE: the restore's 3 s, then the table's 4 s more.
    assert record["rto_minutes"] * 60 >= 6.5, record
    assert checks_by_name(record)["item_count"]["observed"] == 40
    assert record["cleanup_status"] == "DELETED"
    assert restores_started(emulator, arn) == 1
    assert bv_tables() == table_stack.before


async def test_a_table_not_active_within_the_restore_timeout_is_an_error_and_is_deleted(table_stack, emulator):
    table_arn = await table_stack.source("never", timedelta(minutes=30))
    table_stack.policy(defaults='restore_timeout = "4s"')
    emulator.configure(restore_seconds=[1.0, 1.0], table_active_lag_seconds=8)
    _, record = await validate(table_stack.stack, table_arn)
    assert record["status"] == "ERROR", record
    assert "not ACTIVE within the restore timeout" in record["reason"]
    assert record["checks"] == []
    # Ours (the COMPLETED job created it): the cleanup waits for ACTIVE, as DeleteTable requires, and deletes it.
    assert record["cleanup_status"] == "DELETED"
    assert bv_tables() == table_stack.before


async def test_missing_key_partiql_mismatch_and_budget_exceeded(table_stack):
    table_stack.policy(BROKEN_EXPECTATIONS)
    table_arn = await table_stack.source("broken", timedelta(minutes=30))
    _, record = await validate(table_stack.stack, table_arn)
    assert record["status"] == "FAILED", record
    checks = checks_by_name(record)
    assert checks["missing_key"]["status"] == "FAILED"
    assert checks["missing_key"]["message"] == "missing pk='order-999'"
    assert checks["partiql_mismatch"]["status"] == "FAILED"
    assert checks["partiql_mismatch"]["observed"] == 40
    budget = checks["huge_count"]
    assert budget["status"] == "ERROR", budget
    # Stopped after the page that spent the budget, with the units used and the items counted so far.
    stopped = re.fullmatch(
        r"read budget exceeded: ([\d.]+) of 1 read units used, (\d+) items counted so far", budget["message"]
    )
    assert stopped is not None, budget["message"]
    assert float(stopped[1]) == budget["read_units"] >= 1
    assert 0 < int(stopped[2]) < 40
    assert record["cleanup_status"] == "DELETED"
    assert bv_tables() == table_stack.before


async def test_a_failed_restore_is_recorded_and_leaves_nothing(table_stack, emulator):
    table_arn = await table_stack.source("doomed", timedelta(minutes=30))
    emulator.configure(restore_fail_rate=1.0)
    _, record = await validate(table_stack.stack, table_arn)
    assert record["status"] == "RESTORE_FAILED", record
    assert "emulated failure" in record["reason"]
    assert record["checks"] == []
    assert record["cleanup_status"] == "NOT_FOUND"
    assert bv_tables() == table_stack.before


async def test_kill_9_mid_validation_then_restart_restores_once(table_stack, emulator, tmp_path):
    stack = table_stack.stack
    table_arn = await table_stack.source("killed", timedelta(minutes=30))
    emulator.configure(restore_seconds=[3.0, 3.0])
    log_path = tmp_path / "worker.log"
    arn = await stack.backup_and_copy(SimpleNamespace(arn=table_arn))
    process = spawn(stack, log_path, **FAST)
    try:
        await stack.wait_until(lambda: b'"restore.started"' in log_path.read_bytes(), what="restore started")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        process = spawn(stack, log_path, **FAST)
        records = await stack.wait_for_records(1, timeout=90)
        await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=60, what="queue drained")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    swept = run_cli(stack, "sweep", "--ttl-seconds", "0", **FAST)
    assert swept.returncode == 0, swept.stderr
    assert len(records) == 1 and records[0]["status"] == "PASSED", records
    assert restores_started(emulator, arn) == 1
    assert bv_tables() == table_stack.before
    assert stack.queue_depth(stack.resources.dlq_url) == 0


async def test_the_sweeper_deletes_only_tables_our_restore_job_created(table_stack, emulator):
    """A `bv-` table nobody restored for us (not in the ledger) and one a ledger entry names but our job did not
    create are left alone; a leftover our job created is deleted."""
    stack = table_stack.stack
    foreign = f"bv-{stack.prefix}-foreign"
    await table_stack.source("leftover", timedelta(minutes=30))
    await asyncio.to_thread(create_orders_table, foreign, 1, timedelta(minutes=1))
    try:
        emulator.configure(restore_seconds=[2.0, 2.0])
        table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{stack.prefix}-leftover"
        arn = await stack.backup_and_copy(SimpleNamespace(arn=table_arn))
        # A restore that outlives its validation: the worker gives up and leaves the table to the sweeper.
        table_stack.policy(defaults='restore_timeout = "1s"')
        async with run_inline(stack):
            records = await stack.wait_for_records(1)
        assert records[0]["status"] == "ERROR", records[0]
        leftover = records[0]["restored_instance_id"]
        await stack.wait_until(lambda: leftover in bv_tables(), what="the late restore's table")
        await stack.wait_until(lambda: restore_status(arn) == "COMPLETED", what="the late restore")
        swept = run_cli(stack, "sweep", "--ttl-seconds", "0", **FAST)
        assert swept.returncode == 0, swept.stderr
        assert leftover not in bv_tables()
        assert foreign in bv_tables()
    finally:
        await asyncio.to_thread(delete_table, foreign)
