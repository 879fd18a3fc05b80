"""Fleet-wide restore slots and the one runner of periodic work, over the ports worker/adapters/fleet.py meets.

A restore that finds the fleet full waits here, its message kept invisible by the heartbeat and its ledger lease
renewed, polling with growing, jittered pauses; it never fails for want of a slot. Only after `max_wait` does it
give the message back (Retryable, with a delay).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from worker.errors import Retryable
from worker.fleet_limits import Counter, FleetLimits, holder_key

FIRST_PAUSE = 0.5
LONGEST_PAUSE = 10.0
RELEASE_TIMEOUT = 10.0


class CounterStore(Protocol):
    async def try_take(self, counters: list[Counter], holder: str) -> bool | None: ...
    async def renew(self, pk: str, holder: str) -> bool: ...
    async def release(self, pk: str, holder: str) -> None: ...


class Lease(Protocol):
    def held(self) -> bool: ...
    async def hold(self) -> bool: ...
    async def release(self) -> None: ...


class FleetSlots:
    def __init__(self, store: CounterStore, limits: FleetLimits, owner: str, max_wait: float, log: Any) -> None:
        self.store, self.limits, self.owner, self.max_wait, self.log = store, limits, owner, max_wait, log
        self.held: dict[str, list[Counter]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, account_region: str, kind: str, recovery_point_arn: str) -> AsyncIterator[None]:
        counters = self.limits.counters(account_region, kind)
        if not counters:
            yield
            return
        holder = holder_key(self.owner, recovery_point_arn)
        await self._take(counters, holder)
        self.held[holder] = counters
        try:
            yield
        finally:
            del self.held[holder]
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.wait_for(self._release(counters, holder), RELEASE_TIMEOUT))

    async def _take(self, counters: list[Counter], holder: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        pause = FIRST_PAUSE
        waited = False
        while True:
            taken = await self.store.try_take(counters, holder)
            if taken:
                if waited:
                    self.log.info("fleet.slot_taken")
                return
            if taken is None:  # another worker wrote between our read and our write: read again soon
                await asyncio.sleep(random.uniform(0.02, 0.2))
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise Retryable(f"no fleet restore slot within {self.max_wait:.0f} s", delay_seconds=60)
            if not waited:
                self.log.info("fleet.slot_waiting", counters=[c.pk for c in counters])
                waited = True
            await asyncio.sleep(min(remaining, pause * random.uniform(0.7, 1.3)))
            pause = min(LONGEST_PAUSE, pause * 1.5)

    async def _release(self, counters: list[Counter], holder: str) -> None:
        for counter in counters:
            await self.store.release(counter.pk, holder)

    async def renew(self) -> None:
        """Every slot this worker holds, for another lease; one lost is logged, the others still renewed."""
        for holder, counters in list(self.held.items()):
            for counter in counters:
                try:
                    if not await self.store.renew(counter.pk, holder):
                        self.log.warning("fleet.slot_lost", counter=counter.pk)
                except Exception as exc:  # noqa: BLE001 - the next beat tries again
                    self.log.warning("fleet.slot_renew_failed", counter=counter.pk, error=type(exc).__name__)


class Runner:
    """Runs periodic jobs only while this worker holds the fleet's runner lease."""

    def __init__(self, lease: Lease, log: Any) -> None:
        self.lease, self.log = lease, log
        self._was_held = False

    async def keep(self) -> None:
        """Take or renew the lease (one periodic job of its own); logs each change of hands."""
        try:
            held = await self.lease.hold()
        except Exception:
            self._note(self.lease.held())
            raise
        self._note(held)

    def _note(self, held: bool) -> None:
        if held != self._was_held:
            self.log.info("runner.acquired" if held else "runner.lost")
        self._was_held = held

    def gated(self, name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        async def run_if_runner() -> object:
            if not self.lease.held():
                return None
            self.log.debug("runner.job", job=name)
            return await job()

        return run_if_runner

    async def release(self) -> None:
        if self._was_held:
            await self.lease.release()
            self.log.info("runner.released")
