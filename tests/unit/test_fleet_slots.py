"""How one worker waits for fleet slots (worker/fleet.py FleetSlots) over an in-memory counter store: its
restores take turns, a slot it gives back wakes the next at once, a lost race backs off, the wait has an end."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from worker import fleet
from worker.errors import Retryable
from worker.fleet import FleetSlots
from worker.fleet_limits import WAITER_SECONDS, Attempt, Counter, FleetLimits, Waiter, blocks

ARN = "arn:aws:backup:eu-west-1:111122223333:recovery-point:"


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))

    warning = info

    def named(self, event: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.events if name == event]


class Store:
    """One counter per pk in memory; `script` (if set) answers try_take instead, one Attempt per call."""

    def __init__(self, script: list[Attempt] | None = None) -> None:
        self.holders: dict[str, set[str]] = {}
        self.script = script
        self.takes = 0
        self.in_flight = 0
        self.most_in_flight = 0

    async def try_take(self, counters: list[Counter], holder: str, since: float | None = None) -> Attempt:
        self.takes += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)  # a read and a write, with other tasks running in between
            if self.script is not None:
                return self.script.pop(0) if self.script else Attempt(True)
            if any(len(self.holders.setdefault(c.pk, set())) >= c.limit for c in counters):
                return Attempt(False)
            for counter in counters:
                self.holders[counter.pk].add(holder)
            return Attempt(True)
        finally:
            self.in_flight -= 1

    async def renew(self, pk: str, holder: str) -> bool:
        return holder in self.holders.get(pk, set())

    async def release(self, pk: str, holder: str) -> None:
        self.holders.get(pk, set()).discard(holder)


def slots(store: Store, log: Log, max_wait: float = 60.0, total: int = 1) -> FleetSlots:
    return FleetSlots(store, FleetLimits(total=total), "w1", max_wait, log)


async def test_a_worker_s_waiters_take_turns_and_a_slot_given_back_wakes_the_next_at_once(monkeypatch):
    # Pauses far longer than the test may take: only a wake-up can hand the slot on in time.
    monkeypatch.setattr(fleet, "FIRST_PAUSE", 600.0)
    store, log = Store(), Log()
    fleet_slots = slots(store, log)
    order: list[int] = []

    async def restore(n: int) -> None:
        async with fleet_slots.hold("111/eu-west-1", "RDS", f"{ARN}{n}"):
            order.append(n)
            await asyncio.sleep(0.05)

    first = asyncio.create_task(restore(0))
    await asyncio.sleep(0.01)  # the first holds the only slot before the others arrive
    others = [asyncio.create_task(restore(n)) for n in range(1, 8)]
    await asyncio.wait_for(asyncio.gather(first, *others), 10)
    assert order == list(range(8)), "in arrival order"
    assert store.most_in_flight == 1, "one try at a time from this worker"
    assert store.takes <= 2 * 8, f"each waiter polls only on its turn, not all at once: {store.takes}"
    assert store.holders["fleet#total"] == set()


async def test_a_lost_race_backs_off_growing_and_the_slot_is_then_taken(monkeypatch):
    pauses: list[float] = []

    async def record(self: FleetSlots, seconds: float, spread: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(FleetSlots, "_pause", record)
    store, log = Store(script=[Attempt(None)] * 5), Log()
    async with slots(store, log).hold("111/eu-west-1", "RDS", f"{ARN}1"):
        pass
    assert pauses == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0]), "doubled, up to the longest pause"
    assert store.takes == 6
    assert log.named("fleet.slot_waiting") == [], "a lost race is no wait for a full fleet"


async def test_lost_races_do_not_outlast_the_wait(monkeypatch):
    monkeypatch.setattr(fleet, "LOST_RACE_PAUSE", 0.001)
    store = Store(script=[Attempt(None)] * 100_000)  # another worker always wins
    with pytest.raises(Retryable, match="no fleet restore slot"):
        async with slots(store, Log(), max_wait=0.2).hold("111/eu-west-1", "RDS", f"{ARN}1"):
            pass


async def test_a_waiter_behind_another_gives_up_at_its_own_deadline(monkeypatch):
    store, log = Store(), Log()
    fleet_slots = slots(store, log, max_wait=0.3)
    async with fleet_slots.hold("111/eu-west-1", "RDS", f"{ARN}0"):
        with pytest.raises(Retryable):
            await asyncio.wait_for(_take_and_leave(fleet_slots, f"{ARN}1"), 10)
        assert store.holders["fleet#total"] == {f"w1/{_digest(f'{ARN}0')}"}


async def _take_and_leave(fleet_slots: FleetSlots, arn: str) -> None:
    async with fleet_slots.hold("111/eu-west-1", "RDS", arn):
        pass


def _digest(arn: str) -> str:
    import hashlib

    return hashlib.sha256(arn.encode()).hexdigest()[:16]


async def test_a_malformed_counter_is_logged_and_the_take_goes_on():
    store, log = Store(script=[Attempt(True, ("fleet#total",))]), Log()
    async with slots(store, log).hold("111/eu-west-1", "RDS", f"{ARN}1"):
        pass
    assert [fields["counters"] for fields in log.named("fleet.counter_malformed")] == [["fleet#total"]]


async def test_a_slot_given_back_during_a_renewal_pass_is_not_reported_lost():
    store, log = Store(), Log()
    fleet_slots = slots(store, log, total=5)
    started, renewing = asyncio.Event(), asyncio.Event()

    async def slow_renew(pk: str, holder: str) -> bool:
        started.set()
        await renewing.wait()
        return holder in store.holders.get(pk, set())

    store.renew = slow_renew  # type: ignore[method-assign]
    async with fleet_slots.hold("111/eu-west-1", "RDS", f"{ARN}1"):
        renewal = asyncio.create_task(fleet_slots.renew())
        await started.wait()
    renewing.set()  # the slot was given back while its renewal was under way
    await renewal
    assert log.named("fleet.slot_lost") == []
    # A slot whose entry is really gone while it is held is reported.
    async with fleet_slots.hold("111/eu-west-1", "RDS", f"{ARN}2"):
        store.holders["fleet#total"].clear()
        await fleet_slots.renew()
    assert len(log.named("fleet.slot_lost")) == 1


def test_a_counter_s_free_slots_go_first_to_the_workers_that_waited_longest():
    now = 1_000.0
    line = {"a": Waiter(since=now - 30, seen=now - 1), "b": Waiter(since=now - 20, seen=now - 1)}
    # One free slot: owed to "a", the longest waiting; "b" and a newcomer wait, "a" takes it.
    assert not blocks(3, 2, line, "a", now - 30, now)
    assert blocks(3, 2, line, "b", now - 20, now)
    assert blocks(3, 2, line, "c", now, now)
    # Two free: "a" and "b" each have theirs; a newcomer still waits.
    assert not blocks(3, 1, line, "b", now - 20, now) and blocks(3, 1, line, "c", now, now)
    # Equal waits: the smaller name first, so two workers never both defer to each other.
    tie = {"x": Waiter(now - 5, now), "y": Waiter(now - 5, now)}
    assert not blocks(1, 0, tie, "x", now - 5, now) and blocks(1, 0, tie, "y", now - 5, now)
    # A worker that stopped looking (dead) holds no place once its entry is older than WAITER_SECONDS.
    gone = {"dead": Waiter(since=now - 600, seen=now - WAITER_SECONDS - 1)}
    assert not blocks(1, 0, gone, "c", now, now)
    assert blocks(1, 1, {}, "c", now, now), "full is full, line or not"
