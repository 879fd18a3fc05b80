"""What one worker process holds: restore slots (in this process: total and per account+region; then, when
fleet limits are set, a slot in the fleet's shared counters), the recovery points it handles and the ledger
leases it renews."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from worker.fleet import FleetSlots


class RestoreSlots:
    def __init__(self, total: int, per_account: int | None, fleet: FleetSlots | None = None) -> None:
        self._fleet = fleet
        self._total = asyncio.Semaphore(total)
        self._per_account_limit = per_account or total
        self._per_account: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def hold(self, account_region: str, kind: str = "", recovery_point_arn: str = "") -> AsyncIterator[None]:
        if account_region not in self._per_account:
            self._per_account[account_region] = asyncio.Semaphore(self._per_account_limit)
        async with self._total, self._per_account[account_region]:
            if self._fleet is None:
                yield
                return
            # The process's own slot first: a worker never waits on the fleet for more restores than it may run.
            async with self._fleet.hold(account_region, kind, recovery_point_arn):
                yield


@dataclass
class Holdings:
    # Recovery points whose ledger lease this worker renews (the heartbeat reads it).
    held: set[str] = field(default_factory=set)
    # Recovery points a message of this process is handling, claim included: the ledger's conditional write
    # settles races between processes, this settles them inside one before the write is even sent.
    busy: set[str] = field(default_factory=set)
