"""Lease renewal: every ledger lease this worker holds, renewed each heartbeat, several at a time."""

from __future__ import annotations

import asyncio
from typing import Any

from worker.ports import LeaseLedger
from worker.slots import Holdings

# Lease renewals in flight at once, and how long one may take.
RENEWALS_AT_ONCE = 32
RENEW_TIMEOUT_SECONDS = 30


async def renew_leases(holdings: Holdings, ledger: LeaseLedger, log: Any) -> None:
    """Renew every lease this worker holds, `RENEWALS_AT_ONCE` at a time: one after the other, a pass over
    thousands of leases takes longer than a lease lasts (50,000 at 6 ms a write: 300 s). One that cannot be
    renewed (taken over, throttled, no answer within `RENEW_TIMEOUT_SECONDS`) must not cost the others theirs."""
    pending = iter(list(holdings.held))

    async def lane() -> None:
        for arn in pending:  # the lanes share one iterator: each lease is renewed once per pass
            if arn not in holdings.held:  # finished while the pass was under way: nothing left to renew
                continue
            try:
                await asyncio.wait_for(ledger.renew(arn), RENEW_TIMEOUT_SECONDS)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                log.warning("lease.renew_failed", recovery_point_arn=arn, error=type(exc).__name__)

    await asyncio.gather(*(lane() for _ in range(RENEWALS_AT_ONCE)))
