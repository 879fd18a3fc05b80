"""The worker as validator for AWS Backup restore testing, against the emulator's restore testing plans.

A plan run restores RDS instances (AWS started them: the worker never did); the worker takes each over, checks
it, records where it came from and tells AWS Backup SUCCESSFUL, or FAILED for a stale copy; it deletes nothing
(AWS Backup's deletion after the window finds everything there); a restore test whose event was lost is found
by the sweep and validated once.
"""

from __future__ import annotations

import asyncio
import secrets

import boto3
import pytest
from harness.restore_tests import create_plan, rds_calls, wait_job
from harness.worker_stack import make_stack, run_inline

pytestmark = pytest.mark.usefixtures("cleanup_instances")


def policy(prefix: str, plan_name: str) -> str:
    """Only restore tests of the plan are selected: the copies the stack makes are not validated themselves."""
    return f"""
[defaults]
restore_timeout = "2m"
statement_timeout = "5s"

[[selection]]
name = "restore-tests"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:{prefix}-*"
restore_testing_plan = "{plan_name}"

[[selection.check]]
kind = "freshness"
query = "SELECT max(created_at) FROM events"
max_age = "80m"

[[selection.check]]
kind = "row_count"
table = "events"
min = 1
"""


@pytest.fixture
async def stack():
    made = await make_stack()
    yield made
    await made.close()


async def test_plan_run_validated_successful_and_failed_then_aws_deletes(stack, emulator):
    emulator.configure(restore_testing_hour_seconds=45)
    backup = boto3.client("backup")
    fresh = await stack.add_source("postgres")
    stale = await stack.add_source("postgres", stale_minutes=120)
    for source in (fresh, stale):
        await stack.backup_and_copy(source)
    name = f"rt_{secrets.token_hex(4)}"
    stack.policy_file.write_text(policy(stack.prefix, name))
    plan_arn = create_plan(backup, name, stack.traffic.central_vault_arn, [fresh.arn, stale.arn])

    before = rds_calls(emulator)
    async with run_inline(stack):
        job_ids = await asyncio.to_thread(emulator.run_restore_testing_plan, name)
        assert len(job_ids) == 2
        records = await stack.wait_for_records(2, timeout=180)
        jobs = [await wait_job(backup, j, "ValidationStatus", {"SUCCESSFUL", "FAILED"}) for j in job_ids]
    after = rds_calls(emulator)

    by_source = {record["source_resource_arn"]: record for record in records}
    assert by_source[fresh.arn]["status"] == "PASSED" and by_source[stale.arn]["status"] == "FAILED"
    for record in records:
        assert (record["origin"], record["restore_testing_plan_arn"]) == ("restore_testing", plan_arn)
        assert record["cleanup_status"] == "LEFT_TO_AWS_BACKUP"
        assert record["restored_instance_id"].startswith("awsbackup-restore-test-")
    verdicts = {job["SourceResourceArn"]: job["ValidationStatus"] for job in jobs}
    assert verdicts == {fresh.arn: "SUCCESSFUL", stale.arn: "FAILED"}
    # The worker modified both (new master passwords) but neither tagged nor deleted anything.
    assert after["ModifyDBInstance"] - before["ModifyDBInstance"] >= 2
    assert after["DeleteDBInstance"] == before["DeleteDBInstance"]
    assert after["AddTagsToResource"] == before["AddTagsToResource"]
    # AWS Backup's deletion after the verdict finds what it restored.
    for job in jobs:
        done = await wait_job(backup, job["RestoreJobId"], "DeletionStatus", {"SUCCESSFUL", "FAILED"})
        assert done["DeletionStatus"] == "SUCCESSFUL", done.get("DeletionStatusMessage")


async def test_a_lost_event_is_found_by_the_sweep_and_validated_once(stack, emulator):
    emulator.configure(restore_testing_hour_seconds=60)
    backup = boto3.client("backup")
    source = await stack.add_source("postgres")
    await stack.backup_and_copy(source)
    name = f"rt_{secrets.token_hex(4)}"
    stack.policy_file.write_text(policy(stack.prefix, name))
    create_plan(backup, name, stack.traffic.central_vault_arn, [source.arn])
    emulator.configure(event_drop_rate=1.0)  # every restore event is lost

    async with run_inline(stack, restore_testing_sweep_seconds=1):
        (job_id,) = await asyncio.to_thread(emulator.run_restore_testing_plan, name)
        job = await wait_job(backup, job_id, "ValidationStatus", {"SUCCESSFUL", "FAILED"})
        await asyncio.sleep(3)  # more sweeps: they must not validate it again
        records = await asyncio.to_thread(stack.records)

    assert job["ValidationStatus"] == "SUCCESSFUL"
    assert [(r["restore_job_id"], r["origin"]) for r in records] == [(job_id, "restore_testing")]
    assert emulator.knobs()["event_drop_rate"] == 1.0


async def test_a_verdict_after_the_window_is_recorded_and_nothing_breaks(stack, emulator):
    """The window (5 s here) closes while a slow check runs: AWS Backup has marked the job TIMED_OUT and refuses
    the late verdict; the record is in S3 all the same and the message is acknowledged."""
    emulator.configure(restore_testing_hour_seconds=5)
    backup = boto3.client("backup")
    source = await stack.add_source("postgres")
    await stack.backup_and_copy(source)
    name = f"rt_{secrets.token_hex(4)}"
    slow = (
        '\n[[selection.check]]\nname = "slow"\nkind = "sql"\nquery = "SELECT count(*) FROM pg_sleep(9)"\nexpect = 1\n'
    )
    stack.policy_file.write_text(
        policy(stack.prefix, name).replace('statement_timeout = "5s"', 'statement_timeout = "20s"') + slow
    )
    create_plan(backup, name, stack.traffic.central_vault_arn, [source.arn])

    async with run_inline(stack):
        (job_id,) = await asyncio.to_thread(emulator.run_restore_testing_plan, name)
        records = await stack.wait_for_records(1, timeout=180)
        await stack.wait_until(lambda: stack.queue_depth(stack.resources.events_queue_url) == 0, what="events acked")

    job = await asyncio.to_thread(backup.describe_restore_job, RestoreJobId=job_id)
    assert job["ValidationStatus"] == "TIMED_OUT"
    (record,) = records
    assert (record["restore_job_id"], record["origin"]) == (job_id, "restore_testing")
    assert record["status"] in ("PASSED", "FAILED", "ERROR")
