"""The RDS DB instance kind: restore into `bv-<hash>`, prove our restore job created it, tag it, reset its
master password, check it over SQL, delete it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from worker.checks import CheckContext, CheckResult
from worker.errors import PreflightFailed, RestoreFailed
from worker.kinds import TakenOver, Target
from worker.kinds.ownership import created_resource, ledger_problem, names_problem
from worker.kinds.rds_metadata import Network, build_metadata, network_for
from worker.kinds.rds_ownership import RestoredInstances, delete_proven
from worker.kinds.rds_prepare import take_over
from worker.kinds.sql_checks import run_sql_checks
from worker.kinds.sweep import Sweeper
from worker.model import CLEANUP_LEFT_TO_AWS_BACKUP, RestoreJob, owner_tags
from worker.ports import Connection, DbInstance, OpenDatabase, OwnershipLedger, RdsPort, Restores


@dataclass(frozen=True)
class TakenInstance(TakenOver):
    connection: Connection
    instance: DbInstance


async def check_network(rds: RdsPort, network: Network) -> None:
    """PreflightFailed unless the restoring account's subnet group and security groups exist."""
    if network.subnet_group and not await rds.subnet_group_exists(network.subnet_group):
        raise PreflightFailed(f"DB subnet group {network.subnet_group} does not exist")
    missing = await rds.missing_security_groups(network.security_group_ids)
    if missing:
        raise PreflightFailed(f"security groups not found: {', '.join(missing)}")


class RdsInstance:
    name = "RDS"

    def __init__(
        self,
        rds: RdsPort,
        ledger: OwnershipLedger,
        restores: Restores,
        open_database: OpenDatabase,
        *,
        network: Network,
        connect_attempts: int,
        log: Any,
    ) -> None:
        self._rds = rds
        self._ledger = ledger
        self._open_database = open_database
        self._network = network
        self._connect_attempts = connect_attempts
        self._log = log
        self._restores = restores
        self._sweeper = Sweeper(RestoredInstances(rds), ledger, restores, log)

    def handles(self, resource_type: str) -> bool:
        return resource_type.upper() == "RDS"

    async def preflight(self, target: Target) -> None:
        await check_network(self._rds, network_for(target.selection.restore, self._network))

    def restore_metadata(self, recorded: Mapping[str, str], target: Target) -> dict[str, str]:
        return build_metadata(recorded, target.identifier, target.selection.restore, self._network)

    async def take_over(self, target: Target, job: RestoreJob) -> TakenOver:
        """Only what AWS says the job created (our restore, or a restore testing job of a plan the policy names)
        is modified; anything else with the name is a clash: RESTORE_FAILED, and the other instance stays
        untouched."""
        created = await created_resource(self._restores, job)
        problem = names_problem(job.job_id, created, f":db:{target.identifier}")
        if problem is not None or created is None:
            raise RestoreFailed(f"{target.identifier} is not ours ({problem}); left untouched")
        if target.origin.deletes_restored:
            # Only our own restores get our owner tag: it is what lets cleanup and the sweeper delete them.
            await self._rds.tag(created, owner_tags(target.recovery_point.arn))
        connection, instance = await take_over(self._rds, target.identifier, target.deadline, target.selection.database)
        return TakenInstance(connection.engine, connection, instance)

    async def run_checks(self, taken: TakenOver, target: Target, ctx: CheckContext) -> Sequence[CheckResult]:
        assert isinstance(taken, TakenInstance)
        return await run_sql_checks(
            self._open_database, taken.connection, target, ctx, connect_attempts=self._connect_attempts, log=self._log
        )

    async def cleanup(self, target: Target, taken: TakenOver | None) -> str:
        identifier = target.identifier
        self._log.debug("stage.cleanup", identifier=identifier)
        if not target.origin.deletes_restored:
            return CLEANUP_LEFT_TO_AWS_BACKUP  # we added nothing to an RDS instance; AWS Backup deletes it
        try:
            if isinstance(taken, TakenInstance):
                # Proved ours by its restore job before take-over: tagged, password reset, described since.
                return await delete_proven(self._rds, taken.instance)
            instance = await self._rds.describe(identifier)
            if instance is None:
                # Nothing there (yet): a restore that finishes after its deadline is the sweeper's to delete.
                return "NOT_FOUND"
            problem = await ledger_problem(self._ledger, self._restores, target.recovery_point.arn, instance.arn)
            if problem is not None:
                self._log.warning("cleanup.not_ours", identifier=identifier, why=problem)
                return "NOT_OURS"
            return await delete_proven(self._rds, instance)
        except Exception as exc:  # noqa: BLE001 - recorded as FAILED; the sweeper retries later
            self._log.error("cleanup.failed", identifier=identifier, error=type(exc).__name__)
            return "FAILED"

    async def sweep(self, ttl: timedelta) -> list[str]:
        return await self._sweeper.sweep(ttl)
