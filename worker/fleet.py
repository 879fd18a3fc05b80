"""Fleet-wide restore slots and the one runner of periodic work, over the ports worker/adapters/fleet.py meets.

A restore that finds the fleet full waits here, its message kept invisible by the heartbeat and its ledger lease
renewed; it never fails for want of a slot. Only after `max_wait` does it give the message back (Retryable, with
a delay). Inside one worker, the restores that want the same counters take turns (in arrival order): only the
first polls the fleet, with growing, jittered pauses, and a slot this worker gives back wakes it at once. So the
fleet's counters see at most one taker per worker and set of counters, and a lost race (another worker took a
slot between our read and our write) backs off too, rather than every waiter reading and writing again. Across
workers, a freed slot goes to the worker whose restore has waited longest (the counters' lines, worker/fleet_limits.py),
so waking our own waiter first gives it the slot only when no other worker has waited longer.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from worker.errors import Retryable
from worker.fleet_limits import Attempt, Counter, FleetLimits, holder_key

FIRST_PAUSE = 0.5
LONGEST_PAUSE = 2.0  # one poller per worker and set of counters: cheap to poll often
LOST_RACE_PAUSE = 0.1  # the first pause after a lost race; doubled by each further loss in a row
CALL_TIMEOUT = 30.0
RELEASE_TIMEOUT = 10.0


class CounterStore(Protocol):
    async def try_take(self, counters: list[Counter], holder: str, since: float | None = None) -> Attempt: ...
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
        self._turns: dict[tuple[str, ...], asyncio.Lock] = {}  # per set of counters: whose turn it is to take
        self._freed = asyncio.Event()  # set (and replaced) when this worker gives a slot back

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
            try:
                with contextlib.suppress(Exception):
                    await asyncio.shield(asyncio.wait_for(self._release(counters, holder), RELEASE_TIMEOUT))
            finally:
                self._wake()

    async def _take(self, counters: list[Counter], holder: str) -> None:
        since = time.time()  # the fleet's line is by wall clock: workers compare their entries
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        turn = self._turns.setdefault(tuple(c.pk for c in counters), asyncio.Lock())
        try:
            await asyncio.wait_for(turn.acquire(), max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise self._gave_up() from None
        try:
            await self._poll(counters, holder, since, deadline)
        finally:
            turn.release()

    async def _poll(self, counters: list[Counter], holder: str, since: float, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        pause, losses, waited = FIRST_PAUSE, 0, False
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._gave_up()
            attempt = await asyncio.wait_for(self.store.try_take(counters, holder, since), CALL_TIMEOUT)
            if attempt.malformed:
                self.log.warning(
                    "fleet.counter_malformed",
                    counters=list(attempt.malformed),
                    detail="counter item without version or holders: counted as empty at version 0 and rewritten",
                )
            if attempt.taken:
                if waited:
                    self.log.info("fleet.slot_taken")
                return
            if attempt.taken is None:  # another worker wrote between our read and our write
                losses += 1
                await self._pause(min(remaining, LONGEST_PAUSE, LOST_RACE_PAUSE * 2 ** min(losses, 7)), spread=0.5)
                continue
            losses = 0
            if not waited:
                self.log.info("fleet.slot_waiting", counters=[c.pk for c in counters])
                waited = True
            await self._pause(min(remaining, pause), spread=0.3)
            pause = min(LONGEST_PAUSE, pause * 1.5)

    def _gave_up(self) -> Retryable:
        return Retryable(f"no fleet restore slot within {self.max_wait:.0f} s", delay_seconds=60)

    async def _pause(self, seconds: float, spread: float) -> None:
        """Sleep about `seconds` (jittered by +-spread), or until this worker gives a slot back."""
        freed = self._freed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(freed.wait(), seconds * random.uniform(1 - spread, 1 + spread))

    def _wake(self) -> None:
        self._freed.set()
        self._freed = asyncio.Event()

    async def _release(self, counters: list[Counter], holder: str) -> None:
        for counter in counters:
            await self.store.release(counter.pk, holder)

    async def renew(self) -> None:
        """Every slot this worker holds, for another lease; one lost is logged, the others still renewed."""
        for holder, counters in list(self.held.items()):
            for counter in counters:
                try:
                    renewed = await asyncio.wait_for(self.store.renew(counter.pk, holder), CALL_TIMEOUT)
                except Exception as exc:  # noqa: BLE001 - the next beat tries again
                    self.log.warning("fleet.slot_renew_failed", counter=counter.pk, error=type(exc).__name__)
                    continue
                if not renewed and holder in self.held:  # not merely given back while this pass ran
                    self.log.warning("fleet.slot_lost", counter=counter.pk)


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
