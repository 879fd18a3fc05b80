"""Aurora ownership from AWS, end to end on the emulator: the worker tags, resets, adds to or deletes a cluster
only when the restore job our `StartRestoreJob` returned (as the ledger recorded it) reports that cluster as
`CreatedResourceArn`; the instance it deletes is the one it added to such a cluster. Name, tags and ledger
entries prove nothing; the sweeper spares a cluster whose recovery point's lease is live."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

import boto3
import pytest
from harness.aws import wait_for, wait_restore_job
from harness.worker_stack import WorkerStack, make_stack, run_cli, run_inline

from worker.leases import CLOCK_SKEW_SECONDS
from worker.model import restored_identifier

ENGINE = "aurora-postgresql"
OUR_TAG = {"Key": "backup-validator:managed", "Value": "true"}
MUTATIONS = (
    "ModifyDBCluster", "ModifyDBInstance", "CreateDBInstance", "AddTagsToResource", "RemoveTagsFromResource",
    "DeleteDBCluster", "DeleteDBInstance",
)  # fmt: skip


@pytest.fixture
async def stack(emulator):
    made = await make_stack()
    yield made
    await made.close()


def mutations(emulator) -> dict[str, int]:
    operations = emulator.stats()["operations"]
    return {name: int(operations.get(name, 0)) for name in MUTATIONS}


def look_alike(rds: Any, identifier: str) -> None:
    """A cluster with `identifier`, our tag and a member instance named as ours (`<cluster>-1`), all available."""
    rds.create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine=ENGINE,
        MasterUsername="app",
        MasterUserPassword=f"Own{uuid.uuid4().hex}",
        Tags=[OUR_TAG],
    )
    add_member(rds, identifier)


def add_member(rds: Any, identifier: str) -> None:
    wait_for(lambda: cluster_status(rds, identifier) == "available", 60, 0.2, f"cluster {identifier}")
    rds.create_db_instance(
        DBInstanceIdentifier=f"{identifier}-1",
        DBClusterIdentifier=identifier,
        Engine=ENGINE,
        DBInstanceClass="db.t4g.medium",
        Tags=[OUR_TAG],
    )
    wait_for(lambda: state(rds, identifier)["instance"]["status"] == "available", 60, 0.2, "the member")


def cluster_status(rds: Any, identifier: str) -> str | None:
    found = rds.describe_db_clusters()["DBClusters"]
    return next((c["Status"] for c in found if c["DBClusterIdentifier"] == identifier), None)


def state(rds: Any, identifier: str) -> dict[str, Any]:
    """The cluster and its `-1` instance as they are now (status, members, tags, pending changes)."""
    cluster = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
    member = f"{identifier}-1"
    instances = [i for i in rds.describe_db_instances()["DBInstances"] if i["DBInstanceIdentifier"] == member]

    def tags(arn: str) -> list[tuple[str, str]]:
        return sorted((t["Key"], t["Value"]) for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"])

    instance = instances[0] if instances else None
    return {
        "cluster": {
            "status": cluster["Status"],
            "members": sorted(m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])),
            "tags": tags(cluster["DBClusterArn"]),
        },
        "instance": instance
        and {
            "status": instance["DBInstanceStatus"],
            "pending": instance.get("PendingModifiedValues") or {},
            "tags": tags(instance["DBInstanceArn"]),
        },
    }


def remove(rds: Any, identifier: str) -> None:
    with contextlib.suppress(rds.exceptions.DBInstanceNotFoundFault):
        rds.delete_db_instance(DBInstanceIdentifier=f"{identifier}-1", SkipFinalSnapshot=True)
    wait_for(lambda: _deleted(rds, identifier), 60, 0.2, f"cluster {identifier} deleted")


def _deleted(rds: Any, identifier: str) -> bool:
    try:
        rds.delete_db_cluster(DBClusterIdentifier=identifier, SkipFinalSnapshot=True)
    except rds.exceptions.InvalidDBClusterStateFault:
        return False  # its instance is not deleting yet
    except rds.exceptions.DBClusterNotFoundFault:
        pass
    return True


def put_ledger(stack: WorkerStack, item: dict[str, Any]) -> None:
    boto3.client("dynamodb").put_item(TableName=stack.resources.ledger_table, Item=item)


# A lease ended this long ago is free by the clock rule (worker/leases.py), whatever the margin.
LAPSED = CLOCK_SKEW_SECONDS + 5


def hold(stack: WorkerStack, arn: str, job_id: str, lease_expires_at: int) -> None:
    """The recovery point's ledger item: our restore job, a lease until `lease_expires_at`."""
    put_ledger(
        stack,
        {
            "pk": {"S": f"rp#{arn}"},
            "state": {"S": "RESTORING"},
            "restore_job_id": {"S": job_id},
            "lease_expires_at": {"N": str(lease_expires_at)},
        },
    )


def restore_into(stack: WorkerStack, arn: str, identifier: str) -> str:
    """A restore of `arn` into `identifier` that the worker did not start; its job id, once COMPLETED."""
    backup = boto3.client("backup")
    metadata = backup.get_recovery_point_restore_metadata(
        BackupVaultName=f"{stack.prefix}-central", RecoveryPointArn=arn
    )["RestoreMetadata"]
    job_id = backup.start_restore_job(
        RecoveryPointArn=arn,
        Metadata={**metadata, "DBClusterIdentifier": identifier},
        ResourceType="Aurora",
        IamRoleArn="arn:aws:iam::123456789012:role/restore",
    )["RestoreJobId"]
    assert wait_restore_job(boto3.client("backup"), job_id)["Status"] == "COMPLETED"
    return str(job_id)


async def test_an_aurora_name_clash_is_a_restore_failure_and_leaves_the_other_cluster_untouched(stack, emulator):
    """A cluster already holds the exact name our restore chooses, wears our tag and has a member named as the
    instance we would add: the restore fails (DBClusterAlreadyExistsFault), the record says RESTORE_FAILED with
    cleanup NOT_OURS, and neither that cluster nor its instance is tagged, modified or deleted, by the
    validation or by the sweeper."""
    rds = boto3.client("rds")
    source = await stack.add_source(ENGINE)
    arn = await stack.backup_and_copy(source)
    identifier = restored_identifier(arn)
    look_alike(rds, identifier)
    try:
        before, counted = state(rds, identifier), mutations(emulator)
        async with run_inline(stack):
            records = await stack.wait_for_records(1, timeout=90)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="queue drained")
        swept = run_cli(stack, "sweep", "--ttl-seconds", "0")
        assert swept.returncode == 0, swept.stderr
        assert [r["status"] for r in records] == ["RESTORE_FAILED"], records
        assert "already exists" in records[0]["reason"]
        assert records[0]["cleanup_status"] == "NOT_OURS"
        assert identifier not in swept.stdout
        assert mutations(emulator) == counted, "the look-alike cluster or its instance was modified"
        assert state(rds, identifier) == before
    finally:
        remove(rds, identifier)


async def test_the_sweeper_spares_a_bv_cluster_a_foreign_restore_created_even_with_our_tag_and_ledger(stack):
    """A restore the worker did not start made a `bv-` cluster; it wears our tag, has a member named as ours,
    and forged ledger entries point both at a recovery point whose ledger item names our restore job. That job
    created another cluster, so the sweeper leaves this one and its instance alone (and deletes ours)."""
    rds = boto3.client("rds")
    source = await stack.add_source(ENGINE)
    arn = await stack.backup_and_copy(source)
    ours = f"bv-ours{uuid.uuid4().hex[:10]}"
    ours_job = restore_into(stack, arn, ours)
    foreign = f"bv-foreign{uuid.uuid4().hex[:10]}"
    restore_into(stack, arn, foreign)
    foreign_arn = rds.describe_db_clusters(DBClusterIdentifier=foreign)["DBClusters"][0]["DBClusterArn"]
    rds.add_tags_to_resource(ResourceName=foreign_arn, Tags=[OUR_TAG])
    add_member(rds, foreign)
    for recorded in (ours, foreign, f"{foreign}-1"):  # ours as the worker records it; the others forged
        put_ledger(stack, {"pk": {"S": f"res#{recorded}"}, "recovery_point_arn": {"S": arn}, "created_at": {"N": "0"}})
    hold(stack, arn, ours_job, int(time.time()) - LAPSED)
    try:
        before = state(rds, foreign)
        swept = run_cli(stack, "sweep", "--ttl-seconds", "0")
        assert swept.returncode == 0, swept.stderr
        assert foreign not in swept.stdout
        assert state(rds, foreign) == before
        assert ours in swept.stdout and ours not in stack.restored_clusters()
    finally:
        remove(rds, foreign)


async def test_the_sweeper_spares_an_aurora_cluster_under_a_live_lease_then_deletes_it_with_its_instance(stack):
    """Our restore job made the cluster (so it is ours) and the instance in it is the one we add, but a live
    worker holds the recovery point: the sweeper leaves both to that validation, and deletes both once the
    lease has run out."""
    rds = boto3.client("rds")
    source = await stack.add_source(ENGINE)
    arn = await stack.backup_and_copy(source)
    identifier = f"bv-live{uuid.uuid4().hex[:10]}"
    job_id = restore_into(stack, arn, identifier)
    add_member(rds, identifier)
    put_ledger(stack, {"pk": {"S": f"res#{identifier}"}, "recovery_point_arn": {"S": arn}, "created_at": {"N": "0"}})
    hold(stack, arn, job_id, int(time.time()) + 600)
    spared = run_cli(stack, "sweep", "--ttl-seconds", "0")
    assert spared.returncode == 0, spared.stderr
    assert identifier not in spared.stdout, "a cluster under a live lease was swept"
    assert identifier in stack.restored_clusters() and f"{identifier}-1" in stack.restored_instances()
    hold(stack, arn, job_id, int(time.time()) - LAPSED)
    swept = run_cli(stack, "sweep", "--ttl-seconds", "0")
    assert swept.returncode == 0, swept.stderr
    assert identifier in swept.stdout
    assert identifier not in stack.restored_clusters()
    assert f"{identifier}-1" not in stack.restored_instances()
