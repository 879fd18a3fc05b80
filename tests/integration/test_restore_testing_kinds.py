"""Restore testing of Aurora clusters and DynamoDB tables: a plan run in the emulator restores them (AWS started
them, not the worker); the worker validates each and AWS Backup shows SUCCESSFUL, or FAILED for a stale copy.

Aurora: the worker adds one instance of its own to AWS Backup's bare cluster, resets the cluster's password,
checks, and deletes only its instance, before the verdict: AWS Backup's deletion of the cluster afterwards
finds nothing blocking it. DynamoDB: read only. Either way AWS Backup's deletion finds what it restored.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from types import SimpleNamespace

import boto3
import pytest
from harness.restore_tests import create_plan, rds_calls, wait_job
from harness.worker_stack import make_stack, run_inline

from standins.policies import table_selection
from standins.tables import create_orders_table, delete_table

pytestmark = pytest.mark.usefixtures("cleanup_instances")
VERDICTS = {"SUCCESSFUL", "FAILED"}
DEFAULTS = '[defaults]\nrestore_timeout = "3m"\nstatement_timeout = "5s"\n'


def aurora_policy(prefix: str, plan_name: str) -> str:
    return f"""{DEFAULTS}
[[selection]]
name = "aurora-restore-tests"
resource_type = "Aurora"
source_arn = "arn:aws:rds:*:*:cluster:{prefix}-*"
restore_testing_plan = "{plan_name}"

[selection.restore]
db_instance_class = "db.t4g.medium"

[[selection.check]]
kind = "freshness"
query = "SELECT max(created_at) FROM events"
max_age = "80m"

[[selection.check]]
kind = "row_count"
table = "events"
min = 1
"""


def table_policy(prefix: str, plan_name: str) -> str:
    selection = table_selection(f"arn:aws:dynamodb:*:*:table/{prefix}-*", name="table-restore-tests")
    named = selection.replace(
        'resource_type = "DynamoDB"\n', f'resource_type = "DynamoDB"\nrestore_testing_plan = "{plan_name}"\n'
    )
    assert named != selection
    return DEFAULTS + "\n" + named


@pytest.fixture
async def stack():
    made = await make_stack()
    yield made
    await made.close()


async def run_plan(stack, emulator, name: str, count: int) -> tuple[list[dict], list[dict]]:
    """Run the plan now with the worker up; the records and the jobs once each has its verdict."""
    backup = boto3.client("backup")
    async with run_inline(stack):
        job_ids = await asyncio.to_thread(emulator.run_restore_testing_plan, name)
        assert len(job_ids) == count
        records = await stack.wait_for_records(count, timeout=180)
        jobs = [await wait_job(backup, job_id, "ValidationStatus", VERDICTS, timeout=180) for job_id in job_ids]
    return records, jobs


async def aws_deleted_everything(jobs: list[dict]) -> None:
    """AWS Backup's deletion after the verdict found what it restored, with nothing in the way."""
    backup = boto3.client("backup")
    for job in jobs:
        done = await wait_job(backup, job["RestoreJobId"], "DeletionStatus", VERDICTS, timeout=90)
        assert done["DeletionStatus"] == "SUCCESSFUL", done.get("DeletionStatusMessage")


async def test_aurora_plan_run_validated_through_our_instance_then_aws_deletes_the_clusters(stack, emulator):
    emulator.configure(restore_testing_hour_seconds=120)
    fresh = await stack.add_source("aurora-postgresql")
    stale = await stack.add_source("aurora-mysql", stale_minutes=120)
    for source in (fresh, stale):
        await stack.backup_and_copy(source)
    name = f"rt_{secrets.token_hex(4)}"
    stack.policy_file.write_text(aurora_policy(stack.prefix, name))
    backup = boto3.client("backup")
    sources = [fresh.arn, stale.arn]
    plan_arn = create_plan(backup, name, stack.traffic.central_vault_arn, sources, resource_type="Aurora")
    names = ("ModifyDBCluster", "CreateDBInstance", "DeleteDBInstance", "DeleteDBCluster", "AddTagsToResource")
    before = rds_calls(emulator, *names)
    records, jobs = await run_plan(stack, emulator, name, 2)
    after = rds_calls(emulator, *names)
    made = {name: after[name] - before[name] for name in names}

    by_source = {record["source_resource_arn"]: record for record in records}
    assert by_source[fresh.arn]["status"] == "PASSED", by_source[fresh.arn]
    assert by_source[stale.arn]["status"] == "FAILED"
    assert {c["kind"]: c["status"] for c in by_source[stale.arn]["checks"]}["freshness"] == "FAILED"
    for record in records:
        assert (record["origin"], record["restore_testing_plan_arn"]) == ("restore_testing", plan_arn)
        assert record["cleanup_status"] == "LEFT_TO_AWS_BACKUP" and record["resource_type"] == "Aurora"
        cluster_id, instance_id = record["restored_instance_id"].split("/")
        assert cluster_id.startswith("awsbackup-restore-test-") and instance_id.startswith("bv-")
    assert {job["SourceResourceArn"]: job["ValidationStatus"] for job in jobs} == {
        fresh.arn: "SUCCESSFUL",
        stale.arn: "FAILED",
    }
    # One instance added per cluster and deleted again; the clusters' passwords reset; the clusters themselves
    # neither tagged as ours nor deleted by the worker.
    assert made["CreateDBInstance"] == 2 and made["DeleteDBInstance"] == 2
    assert made["ModifyDBCluster"] >= 2
    assert made["DeleteDBCluster"] == 0 and made["AddTagsToResource"] == 0
    await aws_deleted_everything(jobs)
    remaining = {c["DBClusterArn"] for c in boto3.client("rds").describe_db_clusters()["DBClusters"]}
    assert not remaining & {job["CreatedResourceArn"] for job in jobs}


async def test_dynamodb_plan_run_is_read_only_and_aws_deletes_the_tables(stack, emulator, monkeypatch):
    # Through the emulator's DynamoDB endpoint, each table still CREATING for 2 s after its job is COMPLETED: the
    # worker waits for ACTIVE before reading, and AWS Backup's deletion waits for it too.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", emulator.url)
    emulator.configure(restore_testing_hour_seconds=120, table_active_lag_seconds=2)
    before = emulator.stats()
    refused_before = sum(n for key, n in before["errors"].items() if key.startswith("dynamodb:"))
    fresh = f"{stack.prefix}-fresh"
    stale = f"{stack.prefix}-stale"
    try:
        fresh_arn = await asyncio.to_thread(create_orders_table, fresh, 40, timedelta(minutes=30))
        stale_arn = await asyncio.to_thread(create_orders_table, stale, 40, timedelta(hours=3))
        emulator.set_stale(stale_arn, 120, table="", column="updated_at")
        for arn in (fresh_arn, stale_arn):
            await stack.backup_and_copy(SimpleNamespace(arn=arn))
        name = f"rt_{secrets.token_hex(4)}"
        stack.policy_file.write_text(table_policy(stack.prefix, name))
        backup = boto3.client("backup")
        sources = [fresh_arn, stale_arn]
        plan_arn = create_plan(backup, name, stack.traffic.central_vault_arn, sources, resource_type="DynamoDB")
        records, jobs = await run_plan(stack, emulator, name, 2)
    finally:
        for table in (fresh, stale):
            await asyncio.to_thread(delete_table, table)

    by_source = {record["source_resource_arn"]: record for record in records}
    assert by_source[fresh_arn]["status"] == "PASSED", by_source[fresh_arn]
    assert by_source[stale_arn]["status"] == "FAILED"
    for record in records:
        assert (record["origin"], record["restore_testing_plan_arn"]) == ("restore_testing", plan_arn)
        assert record["cleanup_status"] == "LEFT_TO_AWS_BACKUP" and record["engine"] == "dynamodb"
        assert record["restored_instance_id"].startswith("awsbackup-restore-test-")
    assert {job["SourceResourceArn"]: job["ValidationStatus"] for job in jobs} == {
        fresh_arn: "SUCCESSFUL",
        stale_arn: "FAILED",
    }
    stats = emulator.stats()
    restored = {job["CreatedResourceArn"].split(":table/", 1)[1] for job in jobs}
    assert all(stats["dynamodb_creating_answers"].get(name, 0) > 0 for name in restored), stats
    assert sum(n for key, n in stats["errors"].items() if key.startswith("dynamodb:")) == refused_before
    # Had the worker deleted a table, AWS Backup's deletion would have failed on a missing resource.
    await aws_deleted_everything(jobs)
    names = boto3.client("dynamodb").list_tables()["TableNames"]
    assert not {job["CreatedResourceArn"].split(":table/", 1)[1] for job in jobs} & set(names)


async def one_source(stack, kind: str, tables: list[str]) -> str:
    """One backed up and copied source of `kind`; its ARN (DynamoDB tables made are listed in `tables`)."""
    if kind == "Aurora":
        source = await stack.add_source("aurora-postgresql")
        await stack.backup_and_copy(source)
        return str(source.arn)
    table = f"{stack.prefix}-orders"
    tables.append(table)
    arn = await asyncio.to_thread(create_orders_table, table, 20, timedelta(minutes=30))
    await stack.backup_and_copy(SimpleNamespace(arn=arn))
    return arn


@pytest.mark.parametrize("kind", ["Aurora", "DynamoDB"])
async def test_a_lost_event_is_found_by_the_sweep_and_validated_once(stack, emulator, kind):
    emulator.configure(restore_testing_hour_seconds=120)
    tables: list[str] = []
    try:
        source = await one_source(stack, kind, tables)
        name = f"rt_{secrets.token_hex(4)}"
        policy = aurora_policy if kind == "Aurora" else table_policy
        stack.policy_file.write_text(policy(stack.prefix, name))
        backup = boto3.client("backup")
        create_plan(backup, name, stack.traffic.central_vault_arn, [source], resource_type=kind)
        emulator.configure(event_drop_rate=1.0)  # every restore event is lost
        async with run_inline(stack, restore_testing_sweep_seconds=1):
            (job_id,) = await asyncio.to_thread(emulator.run_restore_testing_plan, name)
            job = await wait_job(backup, job_id, "ValidationStatus", VERDICTS, timeout=180)
            await asyncio.sleep(3)  # more sweeps: they must not validate it again
            records = await asyncio.to_thread(stack.records)
    finally:
        for table in tables:
            await asyncio.to_thread(delete_table, table)
    assert job["ValidationStatus"] == "SUCCESSFUL"
    assert [(r["restore_job_id"], r["origin"], r["status"]) for r in records] == [(job_id, "restore_testing", "PASSED")]
    await aws_deleted_everything([job])


async def test_an_aurora_verdict_after_the_window_is_recorded_and_our_instance_still_deleted(stack, emulator):
    """The window (5 s here; the worker bounds itself by the real hours) closes while a slow check runs: AWS
    Backup marks the job TIMED_OUT and its deletion of the cluster fails on our instance still in it (why the
    worker's own bound ends 5 minutes before the window). The worker records the late result, deletes its
    instance all the same, and its refused verdict breaks nothing."""
    emulator.configure(restore_testing_hour_seconds=5)
    source = await stack.add_source("aurora-postgresql")
    await stack.backup_and_copy(source)
    name = f"rt_{secrets.token_hex(4)}"
    slow = (
        '\n[[selection.check]]\nname = "slow"\nkind = "sql"\nquery = "SELECT count(*) FROM pg_sleep(12)"\nexpect = 1\n'
    )
    stack.policy_file.write_text(aurora_policy(stack.prefix, name).replace('"5s"', '"30s"') + slow)
    backup = boto3.client("backup")
    create_plan(backup, name, stack.traffic.central_vault_arn, [source.arn], resource_type="Aurora")
    before = rds_calls(emulator, "DeleteDBInstance")
    async with run_inline(stack):
        (job_id,) = await asyncio.to_thread(emulator.run_restore_testing_plan, name)
        (record,) = await stack.wait_for_records(1, timeout=180)
        await stack.wait_until(lambda: stack.queue_depth(stack.resources.events_queue_url) == 0, what="events acked")
    job = await wait_job(backup, job_id, "DeletionStatus", VERDICTS)
    assert job["ValidationStatus"] == "TIMED_OUT"
    assert job["DeletionStatus"] == "FAILED" and "InvalidDBClusterStateFault" in job["DeletionStatusMessage"]
    assert (record["restore_job_id"], record["origin"]) == (job_id, "restore_testing")
    assert record["cleanup_status"] == "LEFT_TO_AWS_BACKUP"
    assert rds_calls(emulator, "DeleteDBInstance")["DeleteDBInstance"] - before["DeleteDBInstance"] == 1
