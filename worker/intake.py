"""Intake: an SQS body becomes an event, an event an outcome, and the outcome is applied to the message.

The receive loop long-polls only while there is capacity, runs one task per message, keeps messages invisible
by heartbeat and drains on shutdown. Shutdown follows arq: stop receiving, let in-flight jobs finish for
`drain_seconds`, then cancel the rest; a cancelled job hands its recovery point over (ledger lease released,
the message sent again as a fresh copy; see `Consumer._hand_over`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from worker.errors import MalformedMessage, Retryable
from worker.events import Irrelevant, parse_body
from worker.flow import Flow
from worker.leases import CLOCK_SKEW_SECONDS
from worker.metrics import Metrics
from worker.model import Outcome, RestoreJob
from worker.ports import FailureNotesPort, Message, QueuePort
from worker.refresh import Receives, well_formed
from worker.restore_testing import RestoreTests
from worker.watcher import RestoreWatcher

LONG_POLL_SECONDS = 20
MAX_RETRY_DELAY = 900
MAX_VISIBILITY_SECONDS = 43200  # SQS's longest visibility timeout (12 h)
FAILURE_NOTE_SECONDS = 5
# After the drain, cancelled jobs get this long to hand their recovery points over.
HAND_OVER_SECONDS = 5


def retry_delay(receive_count: int) -> int:
    """Growing visibility delay for retryable failures, with jitter so retries don't arrive in lockstep."""
    base = min(MAX_RETRY_DELAY, 15 * 2 ** max(0, receive_count - 1))
    return int(base * random.uniform(0.8, 1.2))


def failure_detail(exc: BaseException) -> str:
    """What `dlq` shows: the AWS error code where the adapters kept one (else the class), and the message."""
    return f"{getattr(exc, 'code', None) or type(exc).__name__}: {str(exc)[:300]}"


@dataclass(frozen=True)
class Handler:
    """One message: body -> event -> outcome. Never touches SQS itself: the consumer applies the outcome."""

    flow: Flow
    watcher: RestoreWatcher
    log: Any
    restore_tests: RestoreTests | None = None

    async def handle(self, message: Message) -> Outcome:
        try:
            event = parse_body(message.body)
        except MalformedMessage as exc:
            self.log.warning("message.malformed", message_id=message.message_id, problem=str(exc))
            return Outcome("dead_letter", "malformed", detail=str(exc)[:300])
        if isinstance(event, Irrelevant):
            self.log.info("message.ignored", reason=event.reason)
            return Outcome("ack", "ignored")
        if isinstance(event, RestoreJob):
            if self.restore_tests is not None and self.restore_tests.wanted(event):
                return await self.restore_tests.validate(event.job_id, message.message_id)
            self.watcher.resolve(event, "event")
            return Outcome("ack", "restore_event")
        return await self.flow.validate(event, message.message_id)


@dataclass(frozen=True)
class Timing:
    visibility_seconds: int
    drain_seconds: float
    lease_seconds: int = 0  # the ledger lease a message's validation holds (BV_LEASE_SECONDS)

    @property
    def heartbeat_interval(self) -> float:
        return max(5.0, self.visibility_seconds / 3)

    @property
    def hold_seconds(self) -> int:
        """How long a message in hand stays invisible, from the receive and again at every heartbeat.

        At least the visibility window, and long enough that, should this worker die, the message comes back only
        once the ledger lease its validation holds is free to others: the lease is written at most one heartbeat
        after the message's last extension, and is free `CLOCK_SKEW_SECONDS` after it ends. So a crash costs the
        message one receive (towards maxReceiveCount), not a second one spent meeting the dead holder's lease."""
        cover = self.lease_seconds + CLOCK_SKEW_SECONDS + math.ceil(self.heartbeat_interval) + 1
        return min(MAX_VISIBILITY_SECONDS, max(self.visibility_seconds, cover))


class Consumer:
    """One queue's receive loop. The worker runs one for the work queue and, when restore events have their own
    queue, a second one for it, so that those events are received however full the work queue's intake is."""

    def __init__(
        self,
        queue: QueuePort,
        handle: Callable[[Message], Awaitable[Outcome]],
        max_in_flight: int,
        timing: Timing,
        metrics: Metrics,
        log: Any,
        failures: FailureNotesPort | None = None,
        max_receive_count: int | None = None,
    ) -> None:
        self.queue = queue
        self.handle = handle
        self.max_in_flight = max_in_flight
        self.timing = timing
        self.metrics = metrics
        self.log = log
        self.failures = failures
        self.max_receive_count = max_receive_count  # the queue's redrive policy, read at start-up
        self.in_flight: dict[asyncio.Task[None], Message] = {}
        self.last_loop_at = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        stop_waiter: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                self.last_loop_at = time.monotonic()
                capacity = self.max_in_flight - len(self.in_flight)
                if capacity <= 0:
                    waitables: list[asyncio.Future[Any]] = [stop_waiter, *self.in_flight]
                    await asyncio.wait(waitables, return_when=asyncio.FIRST_COMPLETED)
                    continue
                messages = await self._receive(capacity, stop_waiter)
                for message in messages:
                    task = asyncio.create_task(self._process(message))
                    self.in_flight[task] = message
                    task.add_done_callback(self._forget)
        finally:
            stop_waiter.cancel()
        await self.drain()

    async def _receive(self, capacity: int, stop_waiter: asyncio.Future[Any]) -> list[Message]:
        receive = asyncio.ensure_future(self.queue.receive(capacity, LONG_POLL_SECONDS, self.timing.hold_seconds))
        await asyncio.wait([receive, stop_waiter], return_when=asyncio.FIRST_COMPLETED)
        if not receive.done():
            # Stopping: a long poll in progress may still hand us messages; SQS re-delivers them later.
            receive.cancel()
            return []
        try:
            return receive.result()
        except Exception as exc:  # noqa: BLE001 - an unreachable queue must not kill the loop
            self.log.warning("queue.receive_failed", error=type(exc).__name__)
            await asyncio.sleep(2)
            return []

    def _forget(self, task: asyncio.Task[None]) -> None:
        self.in_flight.pop(task, None)

    async def drain(self) -> None:
        if not self.in_flight:
            return
        self.log.info("worker.draining", in_flight=len(self.in_flight))
        _, pending = await asyncio.wait(list(self.in_flight), timeout=self.timing.drain_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=HAND_OVER_SECONDS)

    async def _process(self, message: Message) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(message_id=message.message_id)
        self.metrics.jobs_in_flight.inc()
        try:
            if await self.refresh_if_due(message):
                return
            outcome = await self._outcome(message)
            await self._apply(message, outcome)
        except asyncio.CancelledError:
            await asyncio.shield(self._hand_over(message))
            raise
        finally:
            self.metrics.jobs_in_flight.dec()

    async def _outcome(self, message: Message) -> Outcome:
        try:
            return await self.handle(message)
        except Retryable as exc:
            delay = exc.delay_seconds if exc.delay_seconds is not None else retry_delay(message.receive_count)
            self.log.info("message.retry", reason=str(exc), delay=delay)
            return Outcome("retry", "retried", delay, detail=failure_detail(exc))
        except Exception as exc:
            self.log.error("message.error", error=type(exc).__name__, detail=str(exc)[:300], exc_info=True)
            return Outcome("retry", "error", retry_delay(message.receive_count), detail=failure_detail(exc))

    async def _apply(self, message: Message, outcome: Outcome) -> None:
        self.metrics.sqs_messages.labels(outcome.reason).inc()
        if outcome.action not in ("ack", "hand_over"):
            await self._note_failure(message, outcome)
        try:
            if outcome.action == "ack":
                await self.queue.delete(message.receipt_handle)
            elif outcome.action == "hand_over":
                await self._resend(message, 0)
            elif outcome.action == "retry":
                await self.queue.set_visibility(message.receipt_handle, outcome.delay_seconds)
            else:
                # Back at once: each receive counts towards the redrive policy's maxReceiveCount.
                await self.queue.set_visibility(message.receipt_handle, 0)
        except Exception as exc:  # noqa: BLE001 - the message comes back by itself when visibility lapses
            self.log.warning("message.settle_failed", action=outcome.action, error=type(exc).__name__)

    async def _note_failure(self, message: Message, outcome: Outcome) -> None:
        """The reason `dlq` shows should this message end in the DLQ (the last note wins)."""
        if self.failures is None:
            return
        try:
            await asyncio.wait_for(
                self.failures.note(message.message_id, outcome.reason, outcome.detail, message.receive_count),
                FAILURE_NOTE_SECONDS,
            )
        except Exception as exc:  # noqa: BLE001 - a missing note only makes the DLQ listing less helpful
            self.log.warning("message.note_failed", error=type(exc).__name__)

    async def refresh_if_due(self, message: Message) -> bool:
        """A message near its last receive that lost earlier receives to nobody (a crash, a dead long poll) goes
        back as a fresh copy before any work, the original deleted (worker/refresh.py has the rule and its bound).
        False, and the message is handled as usual, when no refresh is due or the copy cannot be sent."""
        receives = Receives(message.receive_count, self.max_receive_count, message.refreshes)
        if self.failures is None or not receives.worth_counting:
            return False
        try:
            decided = await asyncio.wait_for(self.failures.decided(message.message_id), FAILURE_NOTE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - without the count the message is handled as it is
            self.log.warning("message.decided_unknown", error=type(exc).__name__)
            return False
        if not receives.refresh_due(decided, well_formed(message.body)):
            return False
        try:
            await asyncio.wait_for(self.queue.send(message.body, 0, message.refreshes + 1), FAILURE_NOTE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - then this receive does the work
            self.log.warning("message.refresh_failed", error=type(exc).__name__)
            return False
        self.metrics.sqs_messages.labels("refreshed").inc()
        self.log.info(
            "message.refreshed",
            reason="receives_for_nobody",
            receive_count=message.receive_count,
            for_nobody=receives.for_nobody(decided),
            refreshes=message.refreshes + 1,
        )
        with contextlib.suppress(Exception):  # a copy whose original survives is a duplicate the ledger settles
            await asyncio.wait_for(self.queue.delete(message.receipt_handle), FAILURE_NOTE_SECONDS)
        return True

    async def _hand_over(self, message: Message) -> None:
        """Give an interrupted job to the next worker. A hand-over is no failed attempt, so it goes back as a fresh
        copy (receive count 0) rather than by visibility 0, which would count towards the DLQ's maxReceiveCount;
        if the copy cannot be sent, visibility 0 still hands it over. A copy sent whose original is not deleted is
        a duplicate the ledger settles. The copy is delayed by one long poll: our own receive, cancelled when we
        stopped, may still be open at SQS and would take it (and count a receive) as it is sent."""
        self.metrics.sqs_messages.labels("handed_over").inc()
        await self._resend(message, LONG_POLL_SECONDS + 1)

    async def _resend(self, message: Message, delay_seconds: int) -> None:
        """The message again as a fresh copy (receive count 0), the original deleted; visibility 0 if no copy."""
        try:
            await self.queue.send(message.body, delay_seconds, message.refreshes)
        except Exception:  # noqa: BLE001 - fall back to the plain hand-over
            with contextlib.suppress(Exception):
                await self.queue.set_visibility(message.receipt_handle, 0)
            return
        with contextlib.suppress(Exception):
            await self.queue.delete(message.receipt_handle)

    async def extend_visibility(self) -> None:
        """Keep every in-flight message invisible for another window, in batches."""
        handles = [message.receipt_handle for message in self.in_flight.values()]
        await self.queue.extend_many(handles, self.timing.hold_seconds)

    @property
    def heartbeat_interval(self) -> float:
        return self.timing.heartbeat_interval
