"""Learning that restore jobs finished, at a cost that does not grow with the number of jobs.

Three sources, whichever comes first: `Restore Job State Change` events from the queue, one periodic
`ListRestoreJobs` sweep covering every job in flight (1,000 per page), and `DescribeRestoreJob` per job with
capped backoff as the fallback for when both are silent (not for a job a recent sweep listed as running).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from worker.model import RestoreJob

# An incremental sweep asks for jobs completed since the previous sweep began, less this margin (clock skew,
# listings that lag behind); a full sweep lists every job created since the oldest waiter.
COMPLETION_MARGIN = timedelta(seconds=30)


class _Waiter:
    __slots__ = ("created_at", "future", "seen_at")

    def __init__(self, created_at: datetime, future: asyncio.Future[RestoreJob]) -> None:
        self.created_at = created_at
        self.future = future
        self.seen_at = float("-inf")  # loop time of the last sweep that listed the job (still running)


ListSince = Callable[[datetime], Awaitable[list[RestoreJob]]]
DescribeOne = Callable[[str], Awaitable[RestoreJob]]


class RestoreWatcher:
    """Shared by every job of a worker; jobs await `wait`, the queue and the sweep call `resolve`."""

    def __init__(
        self,
        list_since: ListSince,
        describe: DescribeOne,
        sweep_interval: float,
        fallback_initial: float = 60.0,
        fallback_max: float = 600.0,
        on_detect: Callable[[str], None] | None = None,
        list_completed_since: ListSince | None = None,
        full_sweep_every: float = 45.0,  # under fallback_initial: a listed job is never described
    ) -> None:
        self._list_since = list_since
        self._list_completed_since = list_completed_since
        self._full_sweep_every = full_sweep_every
        self._next_full_sweep = float("-inf")
        self._last_sweep_start: datetime | None = None
        self._describe = describe
        self.sweep_interval = sweep_interval
        self._fallback_initial = fallback_initial
        self._fallback_max = fallback_max
        self._waiters: dict[str, _Waiter] = {}
        # Terminal statuses seen before anyone waited (an event can beat the waiter); bounded.
        self._recent: OrderedDict[str, RestoreJob] = OrderedDict()
        self.detected_by: dict[str, int] = {"event": 0, "sweep": 0, "describe": 0}
        self._on_detect = on_detect

    @property
    def in_flight(self) -> int:
        return len(self._waiters)

    def resolve(self, status: RestoreJob, source: str = "event") -> bool:
        """Record a status; True when it finished a job someone here waits for."""
        if not status.finished:
            return False
        waiter = self._waiters.get(status.job_id)
        if waiter is None or waiter.future.done():
            self._recent[status.job_id] = status
            while len(self._recent) > 10_000:
                self._recent.popitem(last=False)
            return False
        waiter.future.set_result(status)
        self.detected_by[source] = self.detected_by.get(source, 0) + 1
        if self._on_detect is not None:
            self._on_detect(source)
        return True

    async def wait(self, job_id: str, created_at: datetime | None, limit_seconds: float) -> RestoreJob:
        """The job's terminal status; raises TimeoutError after `limit_seconds`."""
        known = self._recent.pop(job_id, None)
        if known is not None:
            return known
        shared = self._waiters.get(job_id)
        if shared is not None:
            # Someone here already waits for this job: share its outcome instead of displacing it.
            async with asyncio.timeout(limit_seconds):
                return await asyncio.shield(shared.future)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(created_at or datetime.now(UTC), loop.create_future())
        self._waiters[job_id] = waiter
        try:
            async with asyncio.timeout(limit_seconds):
                return await self._wait_with_fallback(job_id, waiter)
        finally:
            self._waiters.pop(job_id, None)

    async def _wait_with_fallback(self, job_id: str, waiter: _Waiter) -> RestoreJob:
        future = waiter.future
        loop = asyncio.get_running_loop()
        delay = self._fallback_initial
        while True:
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(future), timeout=delay)
            if loop.time() - waiter.seen_at < delay:
                # A sweep listed the job as running since the last look: describing it would tell no more.
                delay = min(delay * 2, self._fallback_max)
                continue
            status = await self._describe(job_id)
            if status.finished:
                self.resolve(status, "describe")
                return await future
            delay = min(delay * 2, self._fallback_max)

    async def sweep_once(self) -> int:
        """One ListRestoreJobs pass over everything in flight; returns how many jobs it finished.

        A full pass (every job created since the oldest waiter) runs every `full_sweep_every` seconds; in
        between, only the jobs completed since the previous pass are listed, so a sweep's size follows the
        rate of completions rather than the number of jobs in flight."""
        if not self._waiters:
            return 0
        loop = asyncio.get_running_loop()
        now, began = loop.time(), datetime.now(UTC)
        full = self._list_completed_since is None or self._last_sweep_start is None or now >= self._next_full_sweep
        if full:
            oldest = min(waiter.created_at for waiter in self._waiters.values())
            statuses = await self._list_since(oldest - timedelta(minutes=5))
        else:
            assert self._list_completed_since is not None and self._last_sweep_start is not None
            statuses = await self._list_completed_since(self._last_sweep_start - COMPLETION_MARGIN)
        finished = 0
        for status in statuses:
            waiter = self._waiters.get(status.job_id)
            if waiter is None:
                continue
            waiter.seen_at = now
            if self.resolve(status, "sweep"):
                finished += 1
        self._last_sweep_start = began
        if full:
            self._next_full_sweep = now + self._full_sweep_every
        return finished
