"""Learning that restore jobs finished, at a cost that does not grow with the number of jobs.

Three sources, whichever comes first: `Restore Job State Change` events from the queue, one periodic
`ListRestoreJobs` sweep covering every job in flight (1,000 per page), and `DescribeRestoreJob` per job with
capped backoff as the fallback for when both are silent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TERMINAL = frozenset({"COMPLETED", "FAILED", "ABORTED"})


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    status: str
    created_resource_arn: str | None = None
    message: str = ""


class _Waiter:
    __slots__ = ("created_at", "future")

    def __init__(self, created_at: datetime, future: asyncio.Future[JobStatus]) -> None:
        self.created_at = created_at
        self.future = future


ListSince = Callable[[datetime], Awaitable[list[JobStatus]]]
DescribeOne = Callable[[str], Awaitable[JobStatus]]


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
    ) -> None:
        self._list_since = list_since
        self._describe = describe
        self.sweep_interval = sweep_interval
        self._fallback_initial = fallback_initial
        self._fallback_max = fallback_max
        self._waiters: dict[str, _Waiter] = {}
        # Terminal statuses seen before anyone waited (an event can beat the waiter); bounded.
        self._recent: OrderedDict[str, JobStatus] = OrderedDict()
        self.detected_by: dict[str, int] = {"event": 0, "sweep": 0, "describe": 0}
        self._on_detect = on_detect

    @property
    def in_flight(self) -> int:
        return len(self._waiters)

    def resolve(self, status: JobStatus, source: str = "event") -> bool:
        """Record a status; True when it finished a job someone here waits for."""
        if status.status not in TERMINAL:
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

    async def wait(self, job_id: str, created_at: datetime | None, limit_seconds: float) -> JobStatus:
        """The job's terminal status; raises TimeoutError after `limit_seconds`."""
        known = self._recent.pop(job_id, None)
        if known is not None:
            return known
        loop = asyncio.get_running_loop()
        waiter = _Waiter(created_at or datetime.now(UTC), loop.create_future())
        self._waiters[job_id] = waiter
        try:
            async with asyncio.timeout(limit_seconds):
                return await self._wait_with_fallback(job_id, waiter.future)
        finally:
            self._waiters.pop(job_id, None)

    async def _wait_with_fallback(self, job_id: str, future: asyncio.Future[JobStatus]) -> JobStatus:
        delay = self._fallback_initial
        while True:
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(future), timeout=delay)
            status = await self._describe(job_id)
            if status.status in TERMINAL:
                self.resolve(status, "describe")
                return await future
            delay = min(delay * 2, self._fallback_max)

    async def sweep_once(self) -> int:
        """One ListRestoreJobs pass over everything in flight; returns how many jobs it finished."""
        if not self._waiters:
            return 0
        oldest = min(waiter.created_at for waiter in self._waiters.values())
        finished = 0
        for status in await self._list_since(oldest - timedelta(minutes=5)):
            if status.job_id in self._waiters and self.resolve(status, "sweep"):
                finished += 1
        return finished

    async def run(self, on_error: Callable[[BaseException], None]) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep_once()
            except Exception as exc:  # noqa: BLE001 - a failed sweep must not stop the next one
                on_error(exc)
