"""The DynamoDB kind's cleanup and sweep with a table still CREATING: DynamoDB refuses to delete a table being
created (ResourceInUseException), so a table our completed restore job created is deleted once ACTIVE, one whose
job still runs is not ours yet, and the sweeper leaves a CREATING table to a later pass."""

from __future__ import annotations

import asyncio
from typing import Any

from memory_ports import RP_ARN, Log, MemoryBackup

from worker.kinds import Target
from worker.kinds.dynamodb import DynamoDbTable, RestoredTables
from worker.ledger_item import LedgerItem
from worker.model import RestoreJob
from worker.policy import parse_policy
from worker.tables import TableInfo

NAME = "bv-0123456789abcdef"
ARN = f"arn:aws:dynamodb:us-east-1:111111111111:table/{NAME}"
POLICY = """
[[selection]]
name = "tables"
resource_type = "DynamoDB"
source_arn = "arn:aws:dynamodb:*:*:table/orders-*"
[[selection.check]]
kind = "item_count"
min = 1
"""


class Tables:
    """One table, CREATING for its first `creating` looks, then ACTIVE; records deletions."""

    def __init__(self, creating: int) -> None:
        self.creating, self.looks, self.deleted = creating, 0, []

    async def describe(self, name: str) -> TableInfo | None:
        if name in self.deleted:
            return None
        self.looks += 1
        status = "CREATING" if self.looks <= self.creating else "ACTIVE"
        return TableInfo(name, ARN, status, None, "pk", None)

    async def delete(self, name: str) -> bool:
        # As DynamoDB: a table being created cannot be deleted (the adapter maps that to False).
        if self.looks <= self.creating:
            return False
        self.deleted.append(name)
        return True

    async def list_names(self, prefix: str) -> list[str]:
        return [NAME]


class Ledger:
    async def item(self, recovery_point_arn: str) -> LedgerItem | None:
        return LedgerItem(recovery_point_arn, restore_job_id="job-1")


class Restores:
    def __init__(self, job: RestoreJob) -> None:
        self.job = job

    async def describe_restore_job(self, job_id: str) -> RestoreJob:
        return self.job


def kind(tables: Tables, job: RestoreJob) -> DynamoDbTable:
    return DynamoDbTable(tables, Ledger(), Restores(job), log=Log())  # type: ignore[arg-type]


def target() -> Target:
    rp = MemoryBackup().recovery_point
    assert rp.arn == RP_ARN
    return Target(rp, NAME, parse_policy(POLICY).selections[0], asyncio.get_running_loop().time())


async def test_our_table_still_creating_is_deleted_once_active(monkeypatch: Any) -> None:
    monkeypatch.setattr("worker.kinds.dynamodb._POLL_SECONDS", 0.01)
    tables = Tables(creating=3)
    status = await kind(tables, RestoreJob("job-1", "COMPLETED", ARN)).cleanup(target(), None)
    assert status == "DELETED" and tables.deleted == [NAME] and tables.looks == 4


async def test_a_creating_table_whose_restore_job_still_runs_is_not_ours_yet(monkeypatch: Any) -> None:
    monkeypatch.setattr("worker.kinds.dynamodb._POLL_SECONDS", 0.01)
    tables = Tables(creating=10**9)
    status = await kind(tables, RestoreJob("job-1", "RUNNING", None)).cleanup(target(), None)
    assert status == "NOT_OURS" and tables.deleted == [] and tables.looks == 1


async def test_the_sweeper_leaves_a_creating_table_to_a_later_pass() -> None:
    assert await RestoredTables(Tables(creating=10**9)).leftovers() == []  # type: ignore[arg-type]
    (leftover,) = await RestoredTables(Tables(creating=0)).leftovers()  # type: ignore[arg-type]
    assert leftover.identifier == NAME
