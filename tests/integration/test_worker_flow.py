"""The worker end to end: AWS Backup events through EventBridge and SQS (moto), restores on the emulator into
the machine's real PostgreSQL and MariaDB, checks, records in S3 and CloudWatch Logs, cleanup."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import datetime, timedelta

import boto3
import pytest
from harness.worker_stack import BAD_SQL_CHECK, WorkerStack, make_stack, metric_value, run_inline, spawn

SEED_FIELDS = (
    "recovery_point_arn",
    "restored_instance_id",
    "restore_start_time",
    "restore_end_time",
    "restore_duration",
    "age_latest_db_tx",
)


@pytest.fixture
async def stack(emulator):
    made = await make_stack()
    yield made
    await made.close()


def assert_clean(stack: WorkerStack) -> None:
    assert stack.restored_instances() == []
    assert stack.queue_depth() == 0
    assert stack.queue_depth(stack.resources.dlq_url) == 0


def restores_started(emulator, arn: str) -> int:
    return int(emulator.stats()["restore_jobs_per_recovery_point"].get(arn, 0))


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
async def test_copy_event_gives_a_passed_record_in_s3_and_logs(stack, emulator, engine):
    source = await stack.add_source(engine)
    async with run_inline(stack) as registry:
        arn = await stack.backup_and_copy(source)
        records = await stack.wait_for_records(1)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    assert len(records) == 1
    record = records[0]
    assert record["status"] == "PASSED", record
    assert record["recovery_point_arn"] == arn
    for name in SEED_FIELDS:
        assert record[name] not in (None, ""), name
    assert record["restore_duration"] > 0
    assert 0 <= record["age_latest_db_tx"] < 5
    assert 0 <= record["data_gap_minutes"] < 5
    assert record["rpo_target_met"] is True and record["rto_target_met"] is True
    assert record["cleanup_status"] == "DELETED"
    assert record["source_resource_arn"] == source.arn
    assert record["engine"] in {"postgres", "mariadb", "mysql"}
    assert [c["status"] for c in record["checks"]] == ["PASSED", "PASSED", "PASSED"]
    assert restores_started(emulator, arn) == 1
    lines = stack.log_lines()
    assert len(lines) == 1 and lines[0]["validation_id"] == record["validation_id"]
    assert lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "BackupValidator"
    assert metric_value(registry, "backup_validation_validations_total", {"status": "PASSED"}) == 1
    assert_clean(stack)


def api_calls(registry, service: str, operation: str) -> float:
    labels = {"service": service, "operation": operation}
    return metric_value(registry, "backup_validation_aws_api_calls_total", labels)


async def test_a_validation_makes_only_the_calls_it_needs(stack, emulator):
    """The happy path's call budget (docs/performance.md): the restored instance is tagged from the ARN the
    restore job reports, described before and after its password reset and not again for cleanup; the restore's
    times come from the event or sweep that reported it, so the job is not described again."""
    emulator.configure(password_apply_seconds=0, instance_available_seconds=0)
    source = await stack.add_source("postgres")
    async with run_inline(stack) as registry:
        await stack.backup_and_copy(source)
        records = await stack.wait_for_records(1)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    record = records[0]
    assert record["status"] == "PASSED", record
    assert record["cleanup_status"] == "DELETED"
    # Before and after the reset (the emulator applies it in milliseconds, well within the first look).
    assert api_calls(registry, "rds", "DescribeDBInstances") == 2
    for operation in ("AddTagsToResource", "ModifyDBInstance", "DeleteDBInstance"):
        assert api_calls(registry, "rds", operation) == 1, operation
    assert api_calls(registry, "backup", "DescribeRestoreJob") == 0
    job = boto3.client("backup").describe_restore_job(RestoreJobId=record["restore_job_id"])
    # Events carry milliseconds, the API more: the same moment to within a millisecond.
    for field, aws in (("restore_start_time", "CreationDate"), ("restore_end_time", "CompletionDate")):
        assert abs(datetime.fromisoformat(record[field]) - job[aws]) < timedelta(milliseconds=1), field
    assert_clean(stack)


async def test_restore_events_are_received_while_the_work_queue_intake_is_full(stack, emulator):
    """One restore slot: the worker holds three messages of the work queue and stops receiving from it, with
    more copy events waiting there. Restore events have their own queue, so each restore is learnt from its
    event at once; with the status sweep off they would otherwise wait for the 60 s per-job fallback."""
    source = await stack.add_source("postgres")
    async with run_inline(stack, max_concurrent_restores=1, sweep_interval_seconds=3600) as registry:
        for _ in range(5):
            await stack.backup_and_copy(source)
        records = await stack.wait_for_records(5, timeout=50)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="messages acked")
    assert sorted(r["status"] for r in records) == ["PASSED"] * 5
    detections = "backup_validation_restore_detections_total"
    assert metric_value(registry, detections, {"source": "event"}) == 5
    assert metric_value(registry, detections, {"source": "sweep"}) == 0
    assert stack.queue_depth(stack.resources.events_queue_url) == 0
    assert_clean(stack)


async def test_stale_copy_fails_freshness(stack, emulator):
    source = await stack.add_source("postgres", stale_minutes=120)
    async with run_inline(stack):
        await stack.backup_and_copy(source)
        records = await stack.wait_for_records(1)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    record = records[0]
    assert record["status"] == "FAILED"
    freshness = next(c for c in record["checks"] if c["kind"] == "freshness")
    assert freshness["status"] == "FAILED"
    assert record["data_gap_minutes"] > 100
    assert record["rpo_target_met"] is False
    assert_clean(stack)


async def test_failed_restore_job_is_restore_failed(stack, emulator):
    source = await stack.add_source("postgres")
    async with run_inline(stack) as registry:
        emulator.configure(restore_fail_rate=1.0)
        await stack.backup_and_copy(source)
        records = await stack.wait_for_records(1)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    assert records[0]["status"] == "RESTORE_FAILED"
    assert records[0]["checks"] == []
    assert metric_value(registry, "backup_validation_validations_total", {"status": "RESTORE_FAILED"}) == 1
    assert_clean(stack)


async def test_bad_check_sql_errors_that_check_and_the_others_run(emulator):
    stack = await make_stack(extra_checks=BAD_SQL_CHECK)
    try:
        source = await stack.add_source("mariadb")
        async with run_inline(stack):
            await stack.backup_and_copy(source)
            records = await stack.wait_for_records(1)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
        statuses = {c["name"]: c["status"] for c in records[0]["checks"]}
        assert statuses.pop("broken") == "ERROR"
        assert set(statuses.values()) == {"PASSED"} and len(statuses) == 3
        assert records[0]["status"] == "ERROR"
        assert_clean(stack)
    finally:
        await stack.close()


async def test_same_event_twice_gives_one_restore_and_one_record(stack, emulator):
    source = await stack.add_source("postgres")
    arn = await stack.backup_and_copy(source)
    await stack.wait_until(lambda: stack.queue_depth() == 1, what="copy event queued")
    on_demand = {"recoveryPointArn": arn, "backupVaultName": f"{stack.prefix}-central"}
    stack.send(on_demand)
    stack.send(on_demand)
    async with run_inline(stack) as registry:
        await stack.wait_for_records(1)
        await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=90, what="all three messages acked")
    assert len(stack.record_keys()) == 1
    assert restores_started(emulator, arn) == 1
    assert metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "duplicate"}) >= 1
    assert_clean(stack)


async def test_poison_message_goes_to_the_dlq_and_the_loop_survives(stack, emulator):
    stack.send("{not json")
    source = await stack.add_source("postgres")
    async with run_inline(stack) as registry:
        await stack.backup_and_copy(source)
        records = await stack.wait_for_records(1)
        await stack.wait_until(
            lambda: stack.queue_depth(stack.resources.dlq_url) == 1, timeout=45, what="poison in the DLQ"
        )
    assert records[0]["status"] == "PASSED"
    assert metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "malformed"}) >= 3
    assert stack.queue_depth() == 0


async def test_irrelevant_and_unselected_events_are_acked_and_counted(stack, emulator):
    stack.send({"source": "aws.backup", "detail-type": "Backup Vault State Change", "detail": {}})
    async with run_inline(stack) as registry:
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="ack")
    assert metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "ignored"}) == 1
    assert stack.records() == []


async def test_worker_killed_mid_wait_resumes_without_a_second_restore(stack, emulator, tmp_path):
    emulator.configure(restore_seconds=[4, 4])
    source = await stack.add_source("postgres")
    log_path = tmp_path / "worker.log"
    process = spawn(stack, log_path, lease_seconds=10, visibility_seconds=10)
    try:
        arn = await stack.backup_and_copy(source)
        await stack.wait_until(lambda: restores_started(emulator, arn) == 1, what="restore started")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        started = time.monotonic()
        process = spawn(stack, log_path, lease_seconds=10, visibility_seconds=10)
        records = await stack.wait_for_records(1, timeout=60)
        await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=30, what="message acked")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert len(records) == 1 and records[0]["status"] == "PASSED", log_path.read_text()[-3000:]
    assert restores_started(emulator, arn) == 1
    assert time.monotonic() - started < 60
    assert_clean(stack)


async def test_sigterm_drains_and_exits_within_drain_seconds(stack, emulator, tmp_path):
    emulator.configure(restore_seconds=[30, 30])
    source = await stack.add_source("postgres")
    process = spawn(stack, tmp_path / "worker.log", drain_seconds=3)
    arn = await stack.backup_and_copy(source)
    await stack.wait_until(lambda: restores_started(emulator, arn) == 1, what="restore started")
    await asyncio.sleep(0.5)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert time.monotonic() - started < 3 + 5
    # Handed over: the message is visible again at once and the lease released, so a new worker finishes it.
    emulator.configure(restore_seconds=[0.3, 0.3])
    async with run_inline(stack):
        records = await stack.wait_for_records(1, timeout=60)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    assert records[0]["status"] == "PASSED"
    assert restores_started(emulator, arn) == 1
    assert_clean(stack)
    assert os.path.exists(tmp_path / "worker.log")
