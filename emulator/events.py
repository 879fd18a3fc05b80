"""EventBridge delivery of AWS Backup job events, off the request path.

``emit`` never blocks: an event is dropped (drop-rate knob) or scheduled after its delay into a bounded
queue; sender tasks batch up to 10 entries per ``PutEvents`` call, the EventBridge maximum.

An event goes to the default bus of the account it happened in (AWS Backup reports a job in the account that
runs it). Events of an account other than the emulator's own are put with moto's ``x-moto-account-id`` header,
which is how moto in server mode selects an account without credentials of it (other stand-ins ignore it).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from collections import Counter, deque
from typing import Any

from emulator.faults import Faults
from emulator.state import now
from emulator.wire import iso8601

log = logging.getLogger("emulator.events")

SOURCE = "aws.backup"
BATCH = 10
SENDERS = 4
# The account whose bus a PutEvents call is for (set by the sender task making the call).
_PUT_ACCOUNT: contextvars.ContextVar[str | None] = contextvars.ContextVar("put_account", default=None)


class EventBus:
    def __init__(
        self, url: str | None, region: str, faults: Faults, queue_size: int, account: str = "123456789012"
    ) -> None:
        self.url = url
        self.region = region
        self.account = account
        self.faults = faults
        self.counts: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=1000)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._client_cm: Any = None
        self._client: Any = None

    async def start(self) -> None:
        if not self.url:
            return
        from aiobotocore.session import get_session

        # Fixed throwaway credentials: the events endpoint is a local stand-in, never the caller's AWS.
        self._client_cm = get_session().create_client(
            "events",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id="emulator",
            aws_secret_access_key="emulator",  # noqa: S106
        )
        self._client = await self._client_cm.__aenter__()
        self._client.meta.events.register("before-sign.events.PutEvents", self._account_header)
        self._tasks = [asyncio.create_task(self._sender()) for _ in range(SENDERS)]

    async def stop(self, flush_seconds: float = 2.0) -> None:
        for timer in self._timers:
            timer.cancel()
        self.counts["undelivered"] += len(self._timers)
        self._timers.clear()
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), flush_seconds)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client_cm is not None:
            await self._client_cm.__aexit__(None, None, None)

    def emit(self, detail_type: str, account: str, resources: list[str], detail: dict[str, Any]) -> None:
        self.counts["emitted"] += 1
        event = {
            "version": "0",
            "detail-type": detail_type,
            "source": SOURCE,
            "account": account,
            "time": iso8601(now()).split(".")[0] + "Z",
            "region": self.region,
            "resources": resources,
            "detail": detail,
        }
        self.recent.append(event)
        knobs = self.faults.knobs
        if self.faults.chance(knobs.event_drop_rate):
            self.counts["dropped"] += 1
            return
        copies = 2 if self.faults.chance(knobs.event_duplicate_rate) else 1
        self.counts["duplicated"] += copies - 1
        for _ in range(copies):
            self._schedule(event, self.faults.seconds(knobs.event_delay_seconds))

    def _schedule(self, event: dict[str, Any], delay: float) -> None:
        if delay <= 0:
            self._enqueue(event)
            return
        loop = asyncio.get_running_loop()
        holder: list[asyncio.TimerHandle] = []

        def fire() -> None:
            self._timers.discard(holder[0])
            self._enqueue(event)

        holder.append(loop.call_later(delay, fire))
        self._timers.add(holder[0])

    def _enqueue(self, event: dict[str, Any]) -> None:
        if not self.url:
            self.counts["not_sent"] += 1
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.counts["dropped_overflow"] += 1

    async def _sender(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                for account in dict.fromkeys(e["account"] for e in batch):
                    await self._put([e for e in batch if e["account"] == account], account)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _account_header(self, request: Any, **_: Any) -> None:
        account = _PUT_ACCOUNT.get()
        if account and account != self.account:
            request.headers["x-moto-account-id"] = account

    async def _put(self, batch: list[dict[str, Any]], account: str) -> None:
        entries = [
            {
                "Source": e["source"],
                "DetailType": e["detail-type"],
                "Detail": json.dumps(e["detail"]),
                "Resources": e["resources"],
            }
            for e in batch
        ]
        try:
            _PUT_ACCOUNT.set(account)  # this sender task's own context: read by _account_header below
            result = await self._client.put_events(Entries=entries)
        except Exception as exc:  # noqa: BLE001 - delivery is best effort, as in AWS
            log.warning("PutEvents to %s failed: %s", self.url, exc)
            self.counts["failed"] += len(batch)
            return
        failed = int(result.get("FailedEntryCount", 0))
        self.counts["failed"] += failed
        self.counts["delivered"] += len(batch) - failed

    def stats(self) -> dict[str, int]:
        data = {k: self.counts.get(k, 0) for k in ("emitted", "dropped", "delivered", "failed")}
        data.update({k: v for k, v in self.counts.items() if k not in data})
        data["pending"] = len(self._timers) + self._queue.qsize()
        return data
