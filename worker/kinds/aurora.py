"""The Aurora cluster kind: AWS Backup restores the cluster only, so we add one instance to it (ours too,
with our tags), wait until it serves, reset the *cluster's* master password to a random in-memory one, check
the data over SQL through the cluster endpoint, then delete the instance and the cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.checks import CheckContext, CheckResult
from worker.errors import InstanceNotReady, RestoreFailed
from worker.kinds import TakenOver, Target
from worker.kinds.aurora_metadata import build_cluster_metadata, instance_identifier
from worker.kinds.aurora_ownership import RestoredClusters, delete_cluster_and_instance
from worker.kinds.aurora_restore_test import add_our_instance, delete_our_instance, prove_created
from worker.kinds.ownership import cleanup_problem, created_resource, names_problem
from worker.kinds.rds_instance import check_network
from worker.kinds.rds_metadata import Network, network_for
from worker.kinds.rds_prepare import FIRST_LOOK_AFTER_RESET, new_password, poll_until_available, wait_until_usable
from worker.kinds.sql_checks import run_sql_checks
from worker.kinds.sweep import Sweeper
from worker.model import RestoreJob, owner_tags
from worker.ports import ClusterPort, Connection, DbCluster, OpenDatabase, RdsPort, ResourceLedger, Restores

SERVERLESS_CLASS = "db.serverless"
_FAILED_STATES = frozenset({"failed", "inaccessible-encryption-credentials", "incompatible-parameters"})


@dataclass(frozen=True)
class TakenCluster(TakenOver):
    connection: Connection
    cluster: DbCluster


class AuroraCluster:
    name = "Aurora"

    def __init__(
        self,
        clusters: ClusterPort,
        rds: RdsPort,
        ledger: ResourceLedger,
        restores: Restores,
        open_database: OpenDatabase,
        *,
        network: Network,
        connect_attempts: int,
        log: Any,
    ) -> None:
        self._clusters = clusters
        self._rds = rds
        self._ledger = ledger
        self._restores = restores
        self._open_database = open_database
        self._network = network
        self._connect_attempts = connect_attempts
        self._log = log
        self._sweeper = Sweeper(RestoredClusters(clusters, rds), ledger, restores, log)

    def handles(self, resource_type: str) -> bool:
        return resource_type.lower() == "aurora"

    async def preflight(self, target: Target) -> None:
        await check_network(self._rds, network_for(target.selection.restore, self._network))

    def restore_metadata(self, recorded: Mapping[str, str], target: Target) -> dict[str, str]:
        return build_cluster_metadata(recorded, target.identifier, target.selection.restore, self._network)

    async def take_over(self, target: Target, job: RestoreJob) -> TakenOver:
        """Prove our restore job created the cluster, tag it, add our instance, wait for it, reset the cluster's
        password, say how to connect. A cluster the job did not create (one that already had our name) is a
        clash: RESTORE_FAILED, and that cluster stays untouched."""
        if not target.origin.deletes_restored:
            return await self._take_over_restore_test(target, job)
        created = await created_resource(self._restores, job)
        problem = names_problem(job.job_id, created, f":cluster:{target.identifier}")
        if problem is not None or created is None:
            raise RestoreFailed(f"{target.identifier} is not ours ({problem}); left untouched")
        await self._rds.tag(created, owner_tags(target.recovery_point.arn))
        cluster = await self._wait_cluster(target.identifier, target.deadline)
        if cluster.arn != created:
            raise RestoreFailed(f"cluster {target.identifier} is {cluster.arn}, not {created} our job created")
        restore = target.selection.restore
        if restore.serverless_v2 is not None:
            await self._clusters.set_scaling(target.identifier, *restore.serverless_v2)
            cluster = await self._wait_cluster(target.identifier, target.deadline)  # RDS: briefly "modifying"
        instance_id = instance_identifier(target.identifier)
        instance_class = SERVERLESS_CLASS if restore.serverless_v2 is not None else restore.aurora_instance_class
        # No ledger entry of its own: the instance is ours as the member `<cluster>-1` of a cluster our restore
        # job created (worker/kinds/aurora_ownership.py), so a crash right after CreateDBInstance loses nothing.
        tags = owner_tags(target.recovery_point.arn)
        await self._clusters.add_instance(target.identifier, instance_id, cluster.engine, instance_class, tags)
        self._log.debug("stage.instance_added", identifier=instance_id, instance_class=instance_class)
        await wait_until_usable(self._rds, instance_id, target.deadline)
        connection, cluster = await self._reset_password(target, cluster)
        if instance_id not in cluster.members:
            # CreateDBInstance found the name taken (a resumed validation's own instance is a member): not ours.
            raise RestoreFailed(f"instance {instance_id} exists outside cluster {cluster.identifier}; left untouched")
        return TakenCluster(
            engine=cluster.engine,
            restored_id=f"{cluster.identifier}/{instance_id}",  # cluster + instance, as DESIGN §3 says
            usable_at=datetime.now(UTC),
            connection=connection,
            cluster=cluster,
        )

    async def _take_over_restore_test(self, target: Target, job: RestoreJob) -> TakenOver:
        """A restore testing job's cluster is AWS Backup's: proven by the job, never tagged ours; we add an
        instance of our own (deleted in cleanup, before the verdict) and reset the cluster's password."""
        await prove_created(self._restores, job, target)
        cluster = await self._wait_cluster(target.identifier, target.deadline)
        instance_id = await add_our_instance(self._clusters, self._rds, self._ledger, target, cluster)
        self._log.debug("stage.instance_added", identifier=instance_id, restore_test=True)
        await wait_until_usable(self._rds, instance_id, target.deadline)
        connection, cluster = await self._reset_password(target, cluster)
        return TakenCluster(
            engine=cluster.engine,
            restored_id=f"{cluster.identifier}/{instance_id}",
            usable_at=datetime.now(UTC),
            connection=connection,
            cluster=cluster,
        )

    async def _reset_password(self, target: Target, cluster: DbCluster) -> tuple[Connection, DbCluster]:
        password = new_password()
        try:
            await self._clusters.set_cluster_password(cluster.identifier, password)
        except InstanceNotReady:
            await self._wait_cluster(cluster.identifier, target.deadline)
            await self._clusters.set_cluster_password(cluster.identifier, password)
        self._log.debug("stage.password_reset", identifier=cluster.identifier)
        await asyncio.sleep(FIRST_LOOK_AFTER_RESET)
        cluster = await self._wait_cluster(cluster.identifier, target.deadline)
        if not cluster.host or not cluster.port:
            raise RestoreFailed(f"cluster {cluster.identifier} reports no endpoint")
        family_default = "postgres" if "postgres" in cluster.engine else "mysql"
        connection = Connection(
            engine=cluster.engine,
            host=cluster.host,
            port=int(cluster.port),
            user=cluster.master_username,
            database=target.selection.database or cluster.database_name or family_default,
            password=password,
        )
        return connection, cluster

    async def _wait_cluster(self, identifier: str, deadline: float) -> DbCluster:
        return await poll_until_available(
            self._clusters.describe_cluster, identifier, deadline, "cluster", _FAILED_STATES
        )

    async def run_checks(self, taken: TakenOver, target: Target, ctx: CheckContext) -> Sequence[CheckResult]:
        assert isinstance(taken, TakenCluster)
        return await run_sql_checks(
            self._open_database, taken.connection, target, ctx, connect_attempts=self._connect_attempts, log=self._log
        )

    async def cleanup(self, target: Target, taken: TakenOver | None) -> str:
        identifier = target.identifier
        if not target.origin.deletes_restored:
            # Only the instance we added is ours; the cluster is AWS Backup's to delete after the verdict.
            return await delete_our_instance(self._clusters, self._rds, self._ledger, target, self._log)
        self._log.debug("stage.cleanup", identifier=identifier)
        try:
            # Described again even after a take-over: its member list must include the instance we added since.
            cluster = await self._clusters.describe_cluster(identifier)
            if cluster is None:
                # Nothing there (yet): a restore that finishes after its deadline is the sweeper's to delete.
                return "NOT_FOUND"
            proven = taken.cluster.arn if isinstance(taken, TakenCluster) else None
            problem = await cleanup_problem(
                self._ledger, self._restores, target.recovery_point.arn, cluster.arn, proven
            )
            if problem is not None:
                self._log.warning("cleanup.not_ours", identifier=identifier, why=problem)
                return "NOT_OURS"
            return await delete_cluster_and_instance(self._clusters, self._rds, cluster)
        except Exception as exc:  # noqa: BLE001 - recorded as FAILED; the sweeper retries later
            self._log.error("cleanup.failed", identifier=identifier, error=type(exc).__name__)
            return "FAILED"

    async def sweep(self, ttl: timedelta) -> list[str]:
        return await self._sweeper.sweep(ttl)
