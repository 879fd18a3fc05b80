"""Aurora restore testing: the cluster a restore testing plan restored is AWS Backup's (docs/modes.md, the
ownership rule). The worker may modify it (its master password) and add one instance of its own to read the
data through; that instance is the only thing it deletes, and it deletes it before the verdict is posted:
AWS Backup's DeleteDBCluster after the verdict is refused by RDS while the cluster has an instance that is not
being deleted, so an instance left behind would keep AWS Backup's cluster (and its cost) alive.
"""

from __future__ import annotations

from typing import Any

from worker.errors import RestoreFailed
from worker.kinds import Target
from worker.kinds.ownership import created_resource, names_problem
from worker.model import CLEANUP_LEFT_TO_AWS_BACKUP, NAME_PREFIX, OWNER_TAG, RestoreJob, owner_tags, restored_identifier
from worker.ports import ClusterPort, DbCluster, DbInstance, RdsPort, ResourceLedger, Restores


def added_instance_identifier(cluster_identifier: str) -> str:
    """Our instance in a restore test's cluster: `bv-<hash>` of the cluster's name (AWS Backup names each
    restore test's cluster afresh), so a resumed validation and its cleanup find the same one."""
    return restored_identifier(f"restore-test-instance:{cluster_identifier}")


async def prove_created(restores: Restores, job: RestoreJob, target: Target) -> None:
    """RestoreFailed, touching nothing, unless AWS says the restore testing job created this very cluster."""
    created = await created_resource(restores, job)
    problem = names_problem(job.job_id, created, f":cluster:{target.identifier}")
    if problem is not None:
        raise RestoreFailed(f"{target.identifier} is not the restore test's cluster ({problem}); left untouched")


async def added_instance_problem(
    instance: DbInstance, ledger: ResourceLedger, target: Target, cluster: DbCluster | None
) -> str | None:
    """No restore job creates the instance we add (our own CreateDBInstance does), so its proof is the rule for
    restore testing (docs/modes.md): a member of the cluster AWS says the plan's job created (proven before the
    take-over), under the name derived from that cluster, recorded in the ledger under this recovery point before
    it was created, with our tag. None when all agree, else why not."""
    if not instance.identifier.startswith(NAME_PREFIX):
        return f"name {instance.identifier} lacks the {NAME_PREFIX} prefix"
    if instance.tags.get(OWNER_TAG) != "true":
        return f"{instance.identifier} lacks the {OWNER_TAG} tag"
    if cluster is None or instance.identifier not in cluster.members:
        return f"{instance.identifier} is not a member of cluster {target.identifier}"
    entry = await ledger.resource(instance.identifier)
    if entry is None or entry.recovery_point_arn != target.recovery_point.arn:
        return f"{instance.identifier} is not in the ledger under this recovery point"
    return None


async def add_our_instance(
    clusters: ClusterPort, rds: RdsPort, ledger: ResourceLedger, target: Target, cluster: DbCluster
) -> str:
    """Create our instance in the cluster (or find the one a previous attempt created); its identifier."""
    instance_id = added_instance_identifier(cluster.identifier)
    existing = await rds.describe(instance_id)
    if existing is not None:
        problem = await added_instance_problem(existing, ledger, target, cluster)
        if problem is not None:
            raise RestoreFailed(f"{instance_id} exists and is not ours ({problem}); left untouched")
        return instance_id
    # In the ledger before it exists: a crash right after CreateDBInstance leaves provable ownership.
    await ledger.record_resource(instance_id, target.recovery_point.arn)
    instance_class = target.selection.restore.aurora_instance_class
    tags = owner_tags(target.recovery_point.arn)
    await clusters.add_instance(cluster.identifier, instance_id, cluster.engine, instance_class, tags)
    return instance_id


async def delete_our_instance(
    clusters: ClusterPort, rds: RdsPort, ledger: ResourceLedger, target: Target, log: Any
) -> str:
    """Delete the instance we added (and nothing else): LEFT_TO_AWS_BACKUP once it is deleting or gone (the
    cluster is AWS Backup's to delete), FAILED when it could not be deleted or proven ours."""
    instance_id = added_instance_identifier(target.identifier)
    try:
        instance = await rds.describe(instance_id)
        if instance is None or instance.status == "deleting":
            return CLEANUP_LEFT_TO_AWS_BACKUP
        cluster = await clusters.describe_cluster(target.identifier)
        problem = await added_instance_problem(instance, ledger, target, cluster)
        if problem is not None:
            log.warning("cleanup.not_ours", identifier=instance_id, why=problem)
            return "FAILED"
        await rds.delete(instance_id)
        after = await rds.describe(instance_id)
        if after is not None and after.status != "deleting":
            log.error("cleanup.failed", identifier=instance_id, status=after.status)
            return "FAILED"
        log.debug("cleanup.added_instance_deleted", identifier=instance_id)
        return CLEANUP_LEFT_TO_AWS_BACKUP
    except Exception as exc:  # noqa: BLE001 - recorded as FAILED (AWS Backup's deletion will then fail too)
        log.error("cleanup.failed", identifier=instance_id, error=type(exc).__name__)
        return "FAILED"
