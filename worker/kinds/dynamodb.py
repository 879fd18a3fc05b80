"""The DynamoDB table kind: restore into `bv-<hash>`, wait until ACTIVE, check the items, delete the table.

No credentials to reset: the worker reads the table with its own IAM role, which may read and delete `bv-`
tables and never write items. Ownership is AWS's word: a table is ours when its name has our prefix, the
ledger holds it, and the restore job the ledger recorded for it reports it as the resource it created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.checks import CheckContext, CheckResult
from worker.checks.dynamodb import run_table_checks
from worker.errors import DeadlineExceeded, RestoreFailed
from worker.kinds import TakenOver, Target
from worker.model import CLEANUP_LEFT_TO_AWS_BACKUP, NAME_PREFIX, RestoreJob, as_utc
from worker.ports import OwnershipLedger, Restores
from worker.tables import TableInfo, TablePort

ENGINE = "dynamodb"
_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class TakenTable(TakenOver):
    table: TableInfo


def restore_metadata(recorded: Mapping[str, str], identifier: str) -> dict[str, str]:
    """Our table name; the recorded encryption kept (AWS Backup restores with a customer key only when told)."""
    lowered = {key.lower(): value for key, value in recorded.items()}
    metadata = {"targetTableName": identifier, "encryptionType": "Default"}
    if lowered.get("encryptiontype") == "KMS" and lowered.get("kmsmasterkeyarn"):
        metadata.update(encryptionType="KMS", kmsMasterKeyArn=lowered["kmsmasterkeyarn"])
    return metadata


class DynamoDbTable:
    name = "DynamoDB"

    def __init__(self, tables: TablePort, ledger: OwnershipLedger, restores: Restores, *, log: Any) -> None:
        self._tables = tables
        self._ledger = ledger
        self._restores = restores
        self._log = log

    def handles(self, resource_type: str) -> bool:
        return resource_type.lower() == "dynamodb"

    async def preflight(self, target: Target) -> None:
        """Nothing to place: a table has no network."""

    def restore_metadata(self, recorded: Mapping[str, str], target: Target) -> dict[str, str]:
        return restore_metadata(recorded, target.identifier)

    async def take_over(self, target: Target, job: RestoreJob) -> TakenOver:
        loop = asyncio.get_running_loop()
        while True:
            table = await self._tables.describe(target.identifier)
            if table is None:
                raise RestoreFailed(f"the restore job reported table {target.identifier}, which does not exist")
            if job.created_resource_arn and job.created_resource_arn != table.arn:
                raise RestoreFailed(f"table {target.identifier} is not the one the restore job created")
            if table.status == "ACTIVE":
                return TakenTable(ENGINE, table)
            if loop.time() + _POLL_SECONDS > target.deadline:
                raise DeadlineExceeded(f"table {target.identifier} not ACTIVE within the restore timeout")
            await asyncio.sleep(_POLL_SECONDS)

    async def run_checks(self, taken: TakenOver, target: Target, ctx: CheckContext) -> Sequence[CheckResult]:
        assert isinstance(taken, TakenTable)
        plan = target.selection
        return await run_table_checks(
            self._tables,
            taken.table,
            plan.checks,
            ctx,
            check_timeout=plan.check_timeout.total_seconds(),
            budget=plan.check_budget.total_seconds(),
        )

    async def cleanup(self, target: Target, taken: TakenOver | None) -> str:
        identifier = target.identifier
        if not target.origin.deletes_restored:
            return CLEANUP_LEFT_TO_AWS_BACKUP  # a restore test's table: AWS Backup deletes it, never we
        try:
            table = await self._tables.describe(identifier)
            if table is None:
                return "NOT_FOUND"
            proven = isinstance(taken, TakenTable) and taken.table.arn == table.arn
            if not proven and not await self._created_by_our_job(target.recovery_point.arn, table):
                # A name clash, or a restore still running: never deleted here (the sweeper retries later).
                self._log.warning("cleanup.not_proven_ours", identifier=identifier)
                return "FAILED"
            return "DELETED" if await self._tables.delete(identifier) else "NOT_FOUND"
        except Exception as exc:  # noqa: BLE001 - recorded as FAILED; the sweeper retries later
            self._log.error("cleanup.failed", identifier=identifier, error=type(exc).__name__)
            return "FAILED"

    async def sweep(self, ttl: timedelta) -> list[str]:
        deleted = []
        now = datetime.now(UTC)
        for name in await self._tables.list_names(NAME_PREFIX):
            table = await self._tables.describe(name)
            if table is None or table.status == "DELETING":
                continue
            if table.created_at is not None and now - as_utc(table.created_at) < ttl:
                continue
            resource = await self._ledger.resource(name)
            if resource is None or not await self._created_by_our_job(resource.recovery_point_arn, table):
                self._log.info("sweeper.spared", identifier=name, why="not proven ours")
                continue
            if await self._tables.delete(name):
                self._log.warning("sweeper.deleted", identifier=name)
                deleted.append(name)
        return deleted

    async def _created_by_our_job(self, recovery_point_arn: str, table: TableInfo) -> bool:
        """The ledger's restore job for this recovery point reports this very table as what it created."""
        if await self._ledger.resource(table.name) is None:
            return False
        item = await self._ledger.item(recovery_point_arn)
        if item is None or not item.restore_job_id:
            return False
        job = await self._restores.describe_restore_job(item.restore_job_id)
        return job.created_resource_arn == table.arn
