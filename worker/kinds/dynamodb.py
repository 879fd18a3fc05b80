"""The DynamoDB table kind: restore into `bv-<hash>`, wait until ACTIVE, check the items, delete the table.

No credentials to reset: the worker reads the table with its own IAM role, which may read and delete `bv-`
tables and never write items. Ownership is AWS's word (worker/kinds/ownership.py): a table is ours when the
restore job our `StartRestoreJob` returned (as the ledger recorded it) reports it as the resource it created;
the shared sweeper (worker/kinds/sweep.py) also spares a table whose recovery point's lease is live.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from worker.checks import CheckContext, CheckResult
from worker.checks.dynamodb import run_table_checks
from worker.errors import DeadlineExceeded, RestoreFailed
from worker.kinds import TakenOver, Target
from worker.kinds.ownership import cleanup_problem, created_problem, created_resource
from worker.kinds.sweep import Leftover, Sweeper
from worker.model import CLEANUP_LEFT_TO_AWS_BACKUP, NAME_PREFIX, RestoreJob
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
        self._sweeper = Sweeper(RestoredTables(tables), ledger, restores, log)

    def handles(self, resource_type: str) -> bool:
        return resource_type.lower() == "dynamodb"

    async def preflight(self, target: Target) -> None:
        """Nothing to place: a table has no network."""

    def restore_metadata(self, recorded: Mapping[str, str], target: Target) -> dict[str, str]:
        return restore_metadata(recorded, target.identifier)

    async def take_over(self, target: Target, job: RestoreJob) -> TakenOver:
        loop = asyncio.get_running_loop()
        created = await created_resource(self._restores, job)
        while True:
            table = await self._tables.describe(target.identifier)
            if table is None:
                raise RestoreFailed(f"the restore job reported table {target.identifier}, which does not exist")
            problem = created_problem(dataclasses.replace(job, created_resource_arn=created), table.arn)
            if problem is not None:
                raise RestoreFailed(f"table {target.identifier} is not ours ({problem}); left untouched")
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
            proven = taken.table.arn if isinstance(taken, TakenTable) else None
            problem = await cleanup_problem(self._ledger, self._restores, target.recovery_point.arn, table.arn, proven)
            if problem is not None:
                # A name clash, or a restore still running: never deleted here (the sweeper retries later).
                self._log.warning("cleanup.not_ours", identifier=identifier, why=problem)
                return "NOT_OURS"
            while table is not None and table.status == "CREATING":
                # Ours, but DeleteTable refuses a table still being created (ResourceInUseException): wait for
                # ACTIVE within the cleanup stage's bound (flow_support.cleanup_within), polling as take_over does.
                await asyncio.sleep(_POLL_SECONDS)
                table = await self._tables.describe(identifier)
            if table is None:
                return "NOT_FOUND"
            return "DELETED" if await self._tables.delete(identifier) else "NOT_FOUND"
        except Exception as exc:  # noqa: BLE001 - recorded as FAILED; the sweeper retries later
            self._log.error("cleanup.failed", identifier=identifier, error=type(exc).__name__)
            return "FAILED"

    async def sweep(self, ttl: timedelta) -> list[str]:
        return await self._sweeper.sweep(ttl)


class RestoredTables:
    """The DynamoDB kind's leftovers, for the shared sweeper."""

    def __init__(self, tables: TablePort) -> None:
        self._tables = tables

    async def leftovers(self) -> list[Leftover[TableInfo]]:
        found = []
        for name in await self._tables.list_names(NAME_PREFIX):
            table = await self._tables.describe(name)
            # A table still CREATING cannot be deleted yet (ResourceInUseException): a later pass takes it.
            if table is not None and table.status not in ("DELETING", "CREATING"):
                found.append(Leftover(table.name, table.arn, table.created_at, table))
        return found

    async def delete_proven(self, leftover: Leftover[TableInfo]) -> str:
        return "DELETED" if await self._tables.delete(leftover.identifier) else "NOT_FOUND"
