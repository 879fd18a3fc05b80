"""The one sweep loop every kind shares: delete leftovers older than the TTL, only those AWS says our restore job
created (`worker/kinds/ownership.py`), and never one whose recovery point a live worker still holds.

A kind says what its leftovers are (`Sweepable.leftovers`: its `bv-` resources not already being deleted) and
how one proven ours is deleted (`Sweepable.delete_proven`); the proof and the lease rule live here alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from worker.errors import NotOurs
from worker.kinds.ownership import job_problem
from worker.ledger_item import LedgerItem
from worker.model import as_utc
from worker.ports import OwnershipLedger, Restores

F = TypeVar("F")


@dataclass(frozen=True)
class Leftover(Generic[F]):
    """A resource with our name prefix, as the kind found it (`found`: what its delete needs)."""

    identifier: str
    arn: str
    created_at: datetime | None  # None while AWS reports no create time yet: the ledger's time counts
    found: F


class Sweepable(Protocol[F]):
    async def leftovers(self) -> list[Leftover[F]]:
        """This kind's resources with our name prefix that are not already being deleted."""
        ...

    async def delete_proven(self, leftover: Leftover[F]) -> str:
        """DELETED or NOT_FOUND for a leftover already proven ours; NotOurs rather than touch anything else."""
        ...


class Sweeper(Generic[F]):
    """Deletes a kind's leftovers that outlived their TTL: ours only, and none under a live lease."""

    def __init__(self, kind: Sweepable[F], ledger: OwnershipLedger, restores: Restores, log: Any) -> None:
        self._kind = kind
        self._ledger = ledger
        self._restores = restores
        self._log = log

    async def sweep(self, ttl: timedelta) -> list[str]:
        """One pass; returns the identifiers it deleted."""
        now = datetime.now(UTC)
        deleted: list[str] = []
        for leftover in await self._kind.leftovers():
            try:
                if await self._sweep_one(leftover, now, ttl):
                    deleted.append(leftover.identifier)
            except NotOurs as exc:
                self._spared(leftover, str(exc))
            except Exception as exc:  # noqa: BLE001 - one leftover that cannot be deleted now must not spare the rest
                self._log.warning("sweeper.failed", identifier=leftover.identifier, error=type(exc).__name__)
        return deleted

    async def _sweep_one(self, leftover: Leftover[F], now: datetime, ttl: timedelta) -> bool:
        resource = await self._ledger.resource(leftover.identifier)
        if resource is None:
            self._spared(leftover, "not in the ledger")
            return False
        created = leftover.created_at or datetime.fromtimestamp(resource.created_at, UTC)
        if now - as_utc(created) < ttl:
            return False
        item = await self._ledger.item(resource.recovery_point_arn)
        if item is not None and lease_live(item, now):
            self._spared(leftover, "its recovery point's lease is live")
            return False
        job_id = item.restore_job_id if item is not None else None
        problem = await job_problem(self._restores, None, job_id, leftover.arn)
        if problem is not None:
            self._spared(leftover, problem)
            return False
        if await self._kind.delete_proven(leftover) != "DELETED":
            return False
        self._log.warning("sweeper.deleted", identifier=leftover.identifier)
        return True

    def _spared(self, leftover: Leftover[F], why: str) -> None:
        self._log.info("sweeper.spared", identifier=leftover.identifier, why=why)


def lease_live(item: LedgerItem, now: datetime) -> bool:
    """A worker holds the recovery point: its validation deletes the copy itself (or a successor resumes it).
    Within the clock margin (worker/leases.py) the lease still counts as held."""
    return item.lease_live(now.timestamp())
