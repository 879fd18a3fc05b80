"""The RDS DB instance kind: restore into `bv-<hash>`, prove our restore job created it, tag it, reset its
master password, check it over SQL, delete it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from worker.checks import CheckContext, CheckResult, errored, run_checks
from worker.errors import DatabaseUnavailable, PreflightFailed, RestoreFailed
from worker.kinds import TakenOver, Target
from worker.kinds.ownership import created_resource, ledger_problem, names_problem
from worker.kinds.rds_metadata import Network, build_metadata, network_for
from worker.kinds.rds_ownership import InstanceSweeper, delete_proven
from worker.kinds.rds_prepare import take_over
from worker.model import RestoreJob, owner_tags
from worker.ports import Connection, DbInstance, OpenDatabase, OwnershipLedger, RdsPort, Restores


@dataclass(frozen=True)
class TakenInstance(TakenOver):
    connection: Connection
    instance: DbInstance


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
        self._sweeper = InstanceSweeper(rds, ledger, restores, log)

    def handles(self, resource_type: str) -> bool:
        return resource_type.upper() == "RDS"

    async def preflight(self, target: Target) -> None:
        network = network_for(target.selection.restore, self._network)
        if network.subnet_group and not await self._rds.subnet_group_exists(network.subnet_group):
            raise PreflightFailed(f"DB subnet group {network.subnet_group} does not exist")
        missing = await self._rds.missing_security_groups(network.security_group_ids)
        if missing:
            raise PreflightFailed(f"security groups not found: {', '.join(missing)}")

    def restore_metadata(self, recorded: Mapping[str, str], target: Target) -> dict[str, str]:
        return build_metadata(recorded, target.identifier, target.selection.restore, self._network)

    async def take_over(self, target: Target, job: RestoreJob) -> TakenOver:
        """Only what AWS says our job created is tagged and gets a new password; anything else with our name is
        a clash: RESTORE_FAILED, and the other instance stays untouched."""
        created = await created_resource(self._restores, job)
        problem = names_problem(job.job_id, created, f":db:{target.identifier}")
        if problem is not None or created is None:
            raise RestoreFailed(f"{target.identifier} is not ours ({problem}); left untouched")
        await self._rds.tag(created, owner_tags(target.recovery_point.arn))
        connection, instance = await take_over(self._rds, target.identifier, target.deadline, target.selection.database)
        return TakenInstance(connection.engine, connection, instance)

    async def run_checks(self, taken: TakenOver, target: Target, ctx: CheckContext) -> Sequence[CheckResult]:
        """Connect (retrying while the new password settles), then run every check."""
        assert isinstance(taken, TakenInstance)
        connection, plan = taken.connection, target.selection
        loop = asyncio.get_running_loop()
        delay = 1.0
        for attempt in range(1, self._connect_attempts + 1):
            try:
                async with self._open_database(connection, plan.statement_timeout.total_seconds()) as db:
                    return await run_checks(
                        db,
                        plan.checks,
                        ctx,
                        check_timeout=plan.check_timeout.total_seconds(),
                        budget=plan.check_budget.total_seconds(),
                    )
            except DatabaseUnavailable as exc:
                if attempt == self._connect_attempts or loop.time() + delay > target.deadline:
                    return [errored(spec, f"database unreachable: {exc}") for spec in plan.checks]
                self._log.info("checks.connect_retry", attempt=attempt, error=str(exc))
                await asyncio.sleep(delay)
                delay *= 2
        return [errored(spec, "database unreachable") for spec in plan.checks]

    async def cleanup(self, target: Target, taken: TakenOver | None) -> str:
        identifier = target.identifier
        self._log.debug("stage.cleanup", identifier=identifier)
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
