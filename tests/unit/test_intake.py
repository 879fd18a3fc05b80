"""Intake on in-memory ports: body -> event -> outcome, and what the consumer does with each outcome and
each class of error (decided from the class alone)."""

import asyncio
import json
from pathlib import Path

from memory_ports import RP_ARN, Log, world
from prometheus_client import CollectorRegistry

from worker.errors import LeaseHeld, RequestRefused, ServiceUnavailable
from worker.intake import Consumer, Handler, Timing
from worker.leases import CLOCK_SKEW_SECONDS
from worker.metrics import Metrics
from worker.model import Outcome
from worker.ports import Message
from worker.watcher import RestoreWatcher

EVENTS = Path(__file__).parent.parent / "fixtures" / "events"


class MemoryQueue:
    def __init__(self, messages: list[Message]) -> None:
        self.waiting = list(messages)
        self.deleted: list[str] = []
        self.visibility: dict[str, int] = {}
        self.windows: list[tuple[str, int]] = []  # (receive or extend, the visibility asked for)

    async def receive(self, max_messages: int, wait_seconds: int, visibility_seconds: int) -> list[Message]:
        taken, self.waiting = self.waiting[:max_messages], self.waiting[max_messages:]
        if taken:
            self.windows.append(("receive", visibility_seconds))
        if not taken:
            await asyncio.sleep(0.01)
        return taken

    async def delete(self, receipt_handle: str) -> None:
        self.deleted.append(receipt_handle)

    async def set_visibility(self, receipt_handle: str, seconds: int) -> None:
        self.visibility[receipt_handle] = seconds

    async def send(self, body: str, delay_seconds: int = 0, refreshes: int = 0) -> str:
        raise ConnectionError("this queue takes no new messages")

    async def extend_many(self, receipt_handles, seconds):
        self.windows.append(("extend", seconds))
        return []

    async def depth(self):
        return len(self.waiting), 0


def message(body: str, n: int = 1, receive_count: int = 1) -> Message:
    return Message(f"m-{n}", f"r-{n}", body, receive_count)


def handler() -> tuple[Handler, RestoreWatcher]:
    async def never(*_):
        raise AssertionError("no AWS call expected")

    watcher = RestoreWatcher(never, never, 60)
    w = world()
    return Handler(w.flow, watcher, Log()), watcher


async def test_a_body_that_is_not_an_event_is_left_for_the_dead_letter_queue():
    outcome = await handler()[0].handle(message("not json"))
    assert outcome == Outcome("dead_letter", "malformed")
    assert outcome.detail  # the reason `dlq` shows


async def test_an_event_we_do_not_act_on_is_acknowledged():
    body = json.dumps({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}})
    assert await handler()[0].handle(message(body)) == Outcome("ack", "ignored")


async def test_a_restore_event_resolves_the_waiting_validation():
    h, watcher = handler()
    body = (EVENTS / "restore_job_completed.json").read_text()
    waiting = asyncio.create_task(watcher.wait("9C4E3B2A-1D0F-4E5A-8B7C-6D5E4F3A2B1C", None, 5))
    await asyncio.sleep(0)
    assert await h.handle(message(body)) == Outcome("ack", "restore_event")
    assert (await waiting).status == "COMPLETED"


async def test_an_on_demand_request_is_validated():
    h, _ = handler()
    assert await h.handle(message(json.dumps({"recoveryPointArn": RP_ARN}))) == Outcome("ack", "validated")


async def run_consumer(handle, messages: list[Message]) -> MemoryQueue:
    queue = MemoryQueue(messages)
    consumer = Consumer(
        queue, handle, 4, Timing(visibility_seconds=60, drain_seconds=5), Metrics(CollectorRegistry()), Log()
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    for _ in range(200):
        if len(queue.deleted) + len(queue.visibility) >= len(messages):
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    return queue


async def test_the_consumer_applies_each_outcome_and_classifies_errors_by_class():
    async def handle(m: Message) -> Outcome:
        match m.body:
            case "ack":
                return Outcome("ack", "validated")
            case "poison":
                return Outcome("dead_letter", "malformed")
            case "lease":
                raise LeaseHeld("held", delay_seconds=42)
            case "throttled":
                raise ServiceUnavailable("Throttling")
            case _:
                raise RequestRefused("ValidationException")

    bodies = ["ack", "poison", "lease", "throttled", "refused"]
    queue = await run_consumer(handle, [message(body, n, receive_count=1) for n, body in enumerate(bodies)])
    assert queue.deleted == ["r-0"]
    assert queue.visibility["r-1"] == 0, "back at once: its receive count sends it to the DLQ"
    assert queue.visibility["r-2"] == 42, "after the previous holder's lease"
    assert 12 <= queue.visibility["r-3"] <= 18 and 12 <= queue.visibility["r-4"] <= 18


async def test_a_stopped_consumer_hands_unfinished_messages_back_at_once():
    started = asyncio.Event()

    async def handle(m: Message) -> Outcome:
        started.set()
        await asyncio.sleep(60)
        return Outcome("ack", "validated")

    queue = MemoryQueue([message("slow")])
    timing = Timing(visibility_seconds=60, drain_seconds=0.05)
    consumer = Consumer(queue, handle, 4, timing, Metrics(CollectorRegistry()), Log())
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert queue.visibility == {"r-1": 0} and queue.deleted == []


def test_a_message_in_hand_stays_invisible_until_its_lease_is_free_to_others():
    # The lease is renewed at most one heartbeat after the message's last extension, and is free to others only
    # the skew margin after it ends: a dead worker's message must not come back before, or it spends a receive.
    timing = Timing(visibility_seconds=30, drain_seconds=5, lease_seconds=300)
    assert timing.hold_seconds > 300 + CLOCK_SKEW_SECONDS + timing.heartbeat_interval
    assert Timing(visibility_seconds=600, drain_seconds=5, lease_seconds=60).hold_seconds == 600
    assert Timing(visibility_seconds=60, drain_seconds=5, lease_seconds=50_000).hold_seconds == 43200, "SQS's most"


async def test_the_consumer_receives_and_extends_for_the_hold_window():
    extended = asyncio.Event()

    async def handle(m: Message) -> Outcome:
        await asyncio.wait_for(extended.wait(), 5)
        return Outcome("ack", "validated")

    queue = MemoryQueue([message("held")])
    timing = Timing(visibility_seconds=15, drain_seconds=1, lease_seconds=20)
    consumer = Consumer(queue, handle, 4, timing, Metrics(CollectorRegistry()), Log())
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    for _ in range(500):
        if consumer.in_flight:
            break
        await asyncio.sleep(0.01)
    await consumer.extend_visibility()
    extended.set()
    for _ in range(500):
        if queue.deleted:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    hold = 20 + CLOCK_SKEW_SECONDS + 5 + 1
    assert queue.windows == [("receive", hold), ("extend", hold)] and queue.deleted == ["r-1"]


class SendingQueue(MemoryQueue):
    def __init__(self, messages: list[Message]) -> None:
        super().__init__(messages)
        self.sent: list[tuple[str, int]] = []
        self.refreshes: list[int] = []

    async def send(self, body: str, delay_seconds: int = 0, refreshes: int = 0) -> str:
        self.sent.append((body, delay_seconds))
        self.refreshes.append(refreshes)
        return "copy"


async def test_a_crash_hand_over_sends_a_fresh_copy_and_deletes_the_spent_message():
    async def handle(m: Message) -> Outcome:
        return Outcome("hand_over", "crash_hand_over")

    queue = SendingQueue([message("body", receive_count=4)])
    consumer = Consumer(queue, handle, 4, Timing(60, 5), Metrics(CollectorRegistry()), Log())
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    for _ in range(500):
        if queue.deleted:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert queue.sent == [("body", 0)] and queue.deleted == ["r-1"] and queue.visibility == {}
