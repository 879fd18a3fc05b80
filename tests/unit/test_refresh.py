"""Receives for nobody: the rule (worker/refresh.py) and the consumer applying it before any work."""

import asyncio
import json

import pytest
from memory_ports import RP_ARN, Log
from prometheus_client import CollectorRegistry
from test_intake import SendingQueue, message

from worker.intake import Consumer, Timing
from worker.metrics import Metrics
from worker.model import Outcome
from worker.ports import Message
from worker.refresh import MAX_REFRESHES, Receives, rescue_due, well_formed

BODY = json.dumps({"recoveryPointArn": RP_ARN})


@pytest.mark.parametrize(
    ("receive_count", "decided", "refreshes", "due"),
    [
        (5, 0, 0, True),  # the last receive, four lost: refresh
        (5, 3, 0, True),  # one of the four lost
        (4, 2, 0, True),  # the one before the last, one of three lost
        (5, 4, 0, False),  # every earlier receive ended in an outcome of ours (retried errors): left to the DLQ
        (3, 0, 0, False),  # receives to spare: not yet
        (1, 0, 0, False),  # the first receive lost nothing
        (5, 0, MAX_REFRESHES - 1, True),
        (5, 0, MAX_REFRESHES, False),  # the bound: a message that kills every worker ends in the DLQ
        (9, 0, 0, True),  # past the count (SQS's count is approximate)
    ],
)
def test_a_message_near_its_last_receive_with_receives_for_nobody_is_refreshed(receive_count, decided, refreshes, due):
    assert Receives(receive_count, 5, refreshes).refresh_due(decided, well_formed=True) is due


def test_no_refresh_without_a_redrive_policy_or_for_a_malformed_body():
    assert not Receives(5, None, 0).worth_counting
    assert not Receives(5, 5, 0).refresh_due(0, well_formed=False)
    assert not well_formed("not json") and well_formed(BODY)


def test_with_a_max_receive_count_of_one_nothing_is_ever_refreshed():
    # The first receive is also the last, and it lost nothing before it.
    assert not Receives(1, 1, 0).worth_counting


@pytest.mark.parametrize(
    ("decided", "refreshes", "body", "due"),
    [
        (0, 0, BODY, True),  # every receive went to nobody
        (4, 0, BODY, True),  # the last one did
        (5, 0, BODY, False),  # every receive ended in an outcome of ours: a real failure, it stays
        (0, MAX_REFRESHES, BODY, False),  # the bound
        (0, 0, "not json", False),  # malformed: stays
    ],
)
def test_a_dead_letter_that_lost_receives_to_nobody_is_rescued(decided, refreshes, body, due):
    assert rescue_due(decided, 5, refreshes, well_formed(body)) is due


def test_no_rescue_without_a_redrive_policy():
    assert not rescue_due(0, None, 0, True)


class Notes:
    def __init__(self, decided: int) -> None:
        self.count = decided
        self.asked: list[str] = []

    async def note(self, message_id: str, reason: str, detail: str, receive_count: int) -> None:
        self.count += 1

    async def decided(self, message_id: str) -> int:
        self.asked.append(message_id)
        return self.count


VALIDATED = Outcome("ack", "validated")


async def consume(
    queue: SendingQueue,
    notes: Notes,
    handled: list[str],
    max_receive_count: int | None = 5,
    outcome: Outcome = VALIDATED,
) -> None:
    async def handle(m: Message) -> Outcome:
        handled.append(m.body)
        return outcome

    metrics = Metrics(CollectorRegistry())
    consumer = Consumer(queue, handle, 4, Timing(60, 5), metrics, Log(), notes, max_receive_count)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    for _ in range(500):
        if queue.deleted or queue.visibility:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_the_consumer_refreshes_before_any_work_and_the_copy_counts_the_refresh():
    queue = SendingQueue([Message("m-1", "r-1", BODY, 5, refreshes=2)])
    handled: list[str] = []
    await consume(queue, Notes(decided=1), handled)
    assert handled == [], "no work on the spent receive"
    assert queue.sent == [(BODY, 0)] and queue.refreshes == [3] and queue.deleted == ["r-1"]


async def test_a_message_whose_receives_all_ended_in_our_outcomes_is_handled_not_refreshed():
    queue = SendingQueue([message(BODY, receive_count=5)])
    handled: list[str] = []
    await consume(queue, Notes(decided=4), handled)
    assert handled == [BODY] and queue.sent == [] and queue.deleted == ["r-1"]


async def test_at_the_bound_or_without_a_redrive_policy_the_message_is_handled_as_it_is():
    for refreshes, most in ((MAX_REFRESHES, 5), (0, None)):
        queue = SendingQueue([Message("m-1", "r-1", BODY, 5, refreshes=refreshes)])
        handled: list[str] = []
        await consume(queue, Notes(decided=0), handled, most)
        assert handled == [BODY] and queue.sent == []


async def test_a_hand_over_keeps_the_refresh_count():
    queue = SendingQueue([Message("m-1", "r-1", BODY, 2, refreshes=4)])
    await consume(queue, Notes(0), [], 5, Outcome("hand_over", "crash_hand_over"))
    assert queue.refreshes == [4], "a hand-over is no refresh, but must not reset the bound"
