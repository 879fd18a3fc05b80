"""Ownership from AWS: the worker tags, resets or deletes only what AWS says our restore job created."""

from __future__ import annotations

import time
import uuid

import boto3
from harness.aws import create_source, wait_instance, wait_restore_job
from harness.worker_stack import WorkerStack, make_stack, run_cli, run_inline

from worker.leases import CLOCK_SKEW_SECONDS
from worker.model import restored_identifier

MUTATIONS = ("ModifyDBInstance", "AddTagsToResource", "DeleteDBInstance")
OUR_TAG = {"Key": "backup-validator:managed", "Value": "true"}


def mutations(emulator) -> dict[str, int]:
    operations = emulator.stats()["operations"]
    return {name: int(operations.get(name, 0)) for name in MUTATIONS}


async def test_a_look_alike_with_our_name_is_a_restore_failure_and_stays_untouched(emulator):
    """An instance already holds the exact name our restore chooses (and even wears our tag): the restore fails
    with DBInstanceAlreadyExists, the record says RESTORE_FAILED, and the instance is never tagged, reset or
    deleted."""
    stack: WorkerStack = await make_stack()
    rds = boto3.client("rds")
    identifier = ""
    try:
        source = await stack.add_source("postgres")
        arn = await stack.backup_and_copy(source)
        identifier = restored_identifier(arn)
        look_alike = create_source(rds, "postgres", identifier, password=f"Own{uuid.uuid4().hex}")
        rds.add_tags_to_resource(ResourceName=look_alike["DBInstanceArn"], Tags=[OUR_TAG])
        tags_before = rds.list_tags_for_resource(ResourceName=look_alike["DBInstanceArn"])["TagList"]
        before = mutations(emulator)
        async with run_inline(stack):
            records = await stack.wait_for_records(1, timeout=90)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="queue drained")
            swept = run_cli(stack, "sweep", "--ttl-seconds", "0")
        assert [r["status"] for r in records] == ["RESTORE_FAILED"]
        assert "already exists" in records[0]["reason"]
        assert records[0]["cleanup_status"] == "NOT_OURS"
        assert identifier not in swept.stdout
        assert mutations(emulator) == before, "the look-alike was modified"
        survivor = wait_instance(rds, identifier)
        assert survivor["DBInstanceStatus"] == "available"
        assert not survivor.get("PendingModifiedValues")
        assert rds.list_tags_for_resource(ResourceName=survivor["DBInstanceArn"])["TagList"] == tags_before
    finally:
        if identifier:
            rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
        await stack.close()


async def test_the_sweeper_spares_a_copy_whose_recovery_point_lease_is_live(emulator):
    """Our restore job made the copy (so it is ours), but a live worker holds its recovery point: the sweeper
    leaves it to that validation, and deletes it once the lease has run out."""
    stack: WorkerStack = await make_stack()
    backup, dynamodb = boto3.client("backup"), boto3.client("dynamodb")
    try:
        source = await stack.add_source("postgres")
        arn = await stack.backup_and_copy(source)
        identifier = f"bv-live{uuid.uuid4().hex[:10]}"
        metadata = backup.get_recovery_point_restore_metadata(
            BackupVaultName=f"{stack.prefix}-central", RecoveryPointArn=arn
        )["RestoreMetadata"]
        job_id = backup.start_restore_job(
            RecoveryPointArn=arn,
            Metadata={**metadata, "DBInstanceIdentifier": identifier},
            ResourceType="RDS",
            IamRoleArn="arn:aws:iam::123456789012:role/restore",
        )["RestoreJobId"]
        assert wait_restore_job(backup, job_id)["Status"] == "COMPLETED"
        table = stack.resources.ledger_table
        dynamodb.put_item(
            TableName=table,
            Item={"pk": {"S": f"res#{identifier}"}, "recovery_point_arn": {"S": arn}, "created_at": {"N": "0"}},
        )

        def hold(lease_expires_at: int) -> None:
            item = {
                "pk": {"S": f"rp#{arn}"},
                "state": {"S": "RESTORING"},
                "restore_job_id": {"S": job_id},
                "lease_expires_at": {"N": str(lease_expires_at)},
            }
            dynamodb.put_item(TableName=table, Item=item)

        hold(int(time.time()) + 600)
        spared = run_cli(stack, "sweep", "--ttl-seconds", "0")
        assert spared.returncode == 0, spared.stderr
        assert identifier not in spared.stdout, "a copy under a live lease was swept"
        assert identifier in stack.restored_instances()
        hold(int(time.time()) - CLOCK_SKEW_SECONDS - 2)  # free to others only past the clock-skew margin
        swept = run_cli(stack, "sweep", "--ttl-seconds", "0")
        assert identifier in swept.stdout
        assert identifier not in stack.restored_instances()
    finally:
        await stack.close()
