"""The worker on Aurora end to end: an AWS Backup copy of a cluster restores as a cluster without an instance;
the worker adds one, resets the cluster's password, checks the data through the cluster endpoint on the
machine's real PostgreSQL / MariaDB, and deletes the instance, then the cluster."""

from __future__ import annotations

import signal
import time

import boto3
import pytest
from harness.worker_stack import WorkerStack, make_stack, run_cli, run_inline, spawn

from worker.leases import CLOCK_SKEW_SECONDS

FLAVOURS = ["aurora-postgresql", "aurora-mysql"]
# Every field a PASSED record fills; `reason` is null when nothing went wrong (a record never invents one).
FILLED = (
    "validation_id", "recovery_point_arn", "restored_instance_id", "restore_start_time", "restore_end_time",
    "restore_duration", "age_latest_db_tx", "data_gap_minutes", "status", "checks", "restore_job_id",
    "source_resource_arn", "resource_type", "engine", "account_id", "region", "backup_vault_name",
    "recovery_point_created_at", "selection", "rto_minutes", "rpo_target_minutes", "rto_target_minutes",
    "rpo_target_met", "rto_target_met", "cleanup_status", "worker_version", "finished_at",
)  # fmt: skip


@pytest.fixture
async def stack(emulator):
    made = await make_stack()
    yield made
    await made.close()


def assert_nothing_left(stack: WorkerStack) -> None:
    assert stack.restored_instances() == []
    assert stack.restored_clusters() == []
    assert stack.queue_depth() == 0


def restores_started(emulator, arn: str) -> int:
    return int(emulator.stats()["restore_jobs_per_recovery_point"].get(arn, 0))


async def validate_once(stack: WorkerStack, source) -> dict:
    async with run_inline(stack):
        await stack.backup_and_copy(source)
        records = await stack.wait_for_records(1, timeout=90)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    assert len(records) == 1
    return records[0]


@pytest.mark.parametrize("engine", FLAVOURS)
async def test_an_aurora_copy_gives_a_passed_record_with_every_field(stack, emulator, engine):
    source = await stack.add_source(engine)
    record = await validate_once(stack, source)
    assert record["status"] == "PASSED", record
    for name in FILLED:
        assert record[name] not in (None, ""), name
    assert record["resource_type"] == "Aurora" and record["engine"] == engine
    assert ":cluster-snapshot:awsbackup:copyjob-" in record["recovery_point_arn"]
    assert record["source_resource_arn"] == source.arn
    cluster_id, instance_id = record["restored_instance_id"].split("/")
    assert cluster_id.startswith("bv-") and instance_id == f"{cluster_id}-1"
    # The RTO runs to the data usable: past the restore job, through the instance we had to add.
    assert record["rto_minutes"] > record["restore_duration"] > 0
    assert [c["status"] for c in record["checks"]] == ["PASSED", "PASSED", "PASSED"]
    assert 0 <= record["age_latest_db_tx"] < 5 and record["cleanup_status"] == "DELETED"
    assert emulator.stats()["instances_added_per_cluster"][cluster_id] == 1
    assert_nothing_left(stack)


@pytest.mark.parametrize("engine", FLAVOURS)
async def test_a_stale_aurora_copy_fails_on_freshness(stack, emulator, engine):
    source = await stack.add_source(engine, stale_minutes=120)
    record = await validate_once(stack, source)
    assert record["status"] == "FAILED"
    assert {c["kind"]: c["status"] for c in record["checks"]}["freshness"] == "FAILED"
    assert record["data_gap_minutes"] > 100 and record["rpo_target_met"] is False
    assert record["cleanup_status"] == "DELETED"
    assert_nothing_left(stack)


@pytest.mark.parametrize("engine", FLAVOURS)
async def test_a_failure_after_the_cluster_before_the_instance_leaves_nothing(stack, emulator, engine):
    """The restore job completes (the cluster exists), then RDS refuses our instance: the instance quota is
    full. The record says ERROR with RDS's reason, and the cluster is deleted all the same."""
    source = await stack.add_source(engine)
    quotas = boto3.client("rds").describe_account_attributes()["AccountQuotas"]
    used = next(q["Used"] for q in quotas if q["AccountQuotaName"] == "DBInstances")
    emulator.configure(max_db_instances=used)
    record = await validate_once(stack, source)
    assert record["status"] == "ERROR" and "quota" in record["reason"].lower(), record
    assert record["checks"] == [] and record["cleanup_status"] == "DELETED"
    assert_nothing_left(stack)


@pytest.mark.parametrize("engine", FLAVOURS)
async def test_killed_after_adding_the_instance_then_restarted(stack, emulator, engine, tmp_path):
    """kill -9 once our instance exists; the next worker resumes: one restore, one instance, one record."""
    emulator.configure(instance_available_seconds=3)
    source = await stack.add_source(engine)
    log_path = tmp_path / "worker.log"
    process = spawn(stack, log_path, lease_seconds=10, visibility_seconds=10)
    try:
        arn = await stack.backup_and_copy(source)
        await stack.wait_until(lambda: any(stack.restored_instances()), timeout=60, what="our instance added")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        process = spawn(stack, log_path, lease_seconds=10, visibility_seconds=10)
        records = await stack.wait_for_records(1, timeout=90)
        await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=30, what="message acked")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert len(records) == 1 and records[0]["status"] == "PASSED", log_path.read_text()[-3000:]
    assert restores_started(emulator, arn) == 1
    cluster_id = records[0]["restored_instance_id"].split("/")[0]
    assert emulator.stats()["instances_added_per_cluster"][cluster_id] == 1
    assert_nothing_left(stack)


def lease_lapsed(stack: WorkerStack, arn: str) -> bool:
    item = boto3.client("dynamodb").get_item(TableName=stack.resources.ledger_table, Key={"pk": {"S": f"rp#{arn}"}})
    return int(item["Item"]["lease_expires_at"]["N"]) < time.time() - CLOCK_SKEW_SECONDS  # free by the clock rule


async def test_the_sweeper_deletes_an_orphaned_cluster_and_spares_a_strangers(stack, emulator, tmp_path):
    """A worker killed for good after adding its instance leaves a cluster and an instance: once the dead
    worker's lease has run out, `sweep` deletes both (our restore job created the cluster; the instance is the
    one we add, a member of it). A `bv-` cluster no restore job of ours created is spared (see also
    tests/integration/test_trust_aurora_ownership.py)."""
    rds = boto3.client("rds")
    stranger = f"bv-stranger-{stack.prefix}"
    rds.create_db_cluster(
        DBClusterIdentifier=stranger, Engine="aurora-postgresql", MasterUsername="app", MasterUserPassword="Pass-1234"
    )
    source = await stack.add_source("aurora-postgresql")
    process = spawn(stack, tmp_path / "worker.log", lease_seconds=10, visibility_seconds=10)
    try:
        arn = await stack.backup_and_copy(source)
        await stack.wait_until(lambda: any(stack.restored_instances()), timeout=60, what="our instance added")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    ours = [c for c in stack.restored_clusters() if c != stranger]
    assert len(ours) == 1
    await stack.wait_until(lambda: lease_lapsed(stack, arn), timeout=60, what="the dead worker's lease lapsed")
    swept = run_cli(stack, "sweep", "--ttl-seconds", "0")
    assert swept.returncode == 0, swept.stderr
    await stack.wait_until(lambda: stack.restored_clusters() == [stranger], what="our cluster deleted")
    assert stack.restored_instances() == []
    assert rds.describe_db_clusters(DBClusterIdentifier=stranger)["DBClusters"][0]["Status"] != "deleting"
    rds.delete_db_cluster(DBClusterIdentifier=stranger, SkipFinalSnapshot=True)


async def test_a_serverless_v2_selection_restores_into_a_scaled_cluster_with_a_serverless_instance(stack, emulator):
    policy = stack.policy_file.read_text()
    aurora_class = 'db_instance_class = "db.t4g.medium"'
    assert aurora_class in policy
    stack.policy_file.write_text(
        policy.replace(aurora_class, "serverless_v2 = { min_capacity = 0.5, max_capacity = 2 }")
    )
    emulator.configure(instance_available_seconds=2)
    source = await stack.add_source("aurora-postgresql")
    rds = boto3.client("rds")
    seen: dict = {}

    def our_instance_described() -> bool:
        found = [i for i in rds.describe_db_instances()["DBInstances"] if i["DBInstanceIdentifier"].startswith("bv-")]
        if found:
            seen["instance"] = found[0]
            seen["cluster"] = rds.describe_db_clusters(DBClusterIdentifier=found[0]["DBClusterIdentifier"])
        return bool(found)

    async with run_inline(stack):
        await stack.backup_and_copy(source)
        await stack.wait_until(our_instance_described, timeout=60, what="our instance added")
        records = await stack.wait_for_records(1, timeout=90)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    assert records[0]["status"] == "PASSED", records[0]
    assert seen["instance"]["DBInstanceClass"] == "db.serverless"
    cluster = seen["cluster"]["DBClusters"][0]
    assert cluster["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 2.0}
    assert {t["Key"]: t["Value"] for t in seen["instance"]["TagList"]}["backup-validator:managed"] == "true"
    assert_nothing_left(stack)
