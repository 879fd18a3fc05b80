"""What one worker process holds: restore slots (fleet-wide in this process, per account+region), the
recovery points it handles and the ledger leases it renews."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


class RestoreSlots:
    def __init__(self, total: int, per_account: int | None) -> None:
        self._total = asyncio.Semaphore(total)
        self._per_account_limit = per_account or total
        self._per_account: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def hold(self, account_region: str) -> AsyncIterator[None]:
        if account_region not in self._per_account:
            self._per_account[account_region] = asyncio.Semaphore(self._per_account_limit)
        async with self._total, self._per_account[account_region]:
            yield


@dataclass
class Holdings:
    # Recovery points whose ledger lease this worker renews (the heartbeat reads it).
    held: set[str] = field(default_factory=set)
    # Recovery points a message of this process is handling, claim included: the ledger's conditional write
    # settles races between processes, this settles them inside one before the write is even sent.
    busy: set[str] = field(default_factory=set)
