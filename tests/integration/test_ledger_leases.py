"""The recovery-point claim on moto's DynamoDB follows the fleet's clock-skew rule (worker/leases.py): a lease is
taken over only once it ended more than `CLOCK_SKEW_SECONDS` ago by the taker's clock, whichever way that clock
is off; a released lease is free at once. Workers whose clocks are off are ledgers with a skewed clock."""

from __future__ import annotations

import time
import uuid

import pytest
from prometheus_client import CollectorRegistry

from emulator.bootstrap import create_resources
from worker.adapters.aws import open_clients
from worker.adapters.ledger import Ledger
from worker.leases import CLOCK_SKEW_SECONDS
from worker.metrics import Metrics

ARN = "arn:aws:backup:us-east-1:123456789012:recovery-point:skew"
LEASE = 60


@pytest.fixture
def ledger_table(moto_server) -> str:
    return create_resources(f"t{uuid.uuid4().hex[:8]}").ledger_table


def skewed(seconds: float):
    return lambda: time.time() + seconds


async def test_a_worker_whose_clock_runs_ahead_waits_out_the_margin_before_taking_over(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:

        def ledger(owner: str, skew: float = 0) -> Ledger:
            return Ledger(clients.dynamodb, ledger_table, owner, LEASE, 1, clock=skewed(skew))

        assert (await ledger("holder").claim(ARN, "m-1", "v")).outcome == "claimed"
        # By this worker's clock the holder's lease ended 5 s ago: within the margin, the holder may still be
        # working by its own clock. Its own message stays invisible until the margin has passed by its clock.
        ahead = ledger("ahead", LEASE + CLOCK_SKEW_SECONDS - 5)
        own = await ahead.claim(ARN, "m-1", "v")
        assert own.outcome == "held" and own.held_by_message("m-1") and own.item.owner == "holder"
        assert 5 <= own.retry_after <= 7
        assert (await ahead.claim(ARN, "m-2", "v")).outcome == "held", "another message: a duplicate"
        # Past the margin by its clock, the lease is free: the same message resumes the recorded validation.
        further = ledger("further", LEASE + CLOCK_SKEW_SECONDS + 2)
        taken = await further.claim(ARN, "m-1", "v")
        assert taken.outcome == "claimed" and taken.item.owner == "further" and taken.item.validation_id == "v"


async def test_a_lease_written_by_a_clock_behind_is_judged_by_the_same_rule(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        behind = Ledger(clients.dynamodb, ledger_table, "behind", LEASE, 1, clock=skewed(-(CLOCK_SKEW_SECONDS - 2)))
        assert (await behind.claim(ARN, "m-1", "v")).outcome == "claimed"
        # The holder's clock is 8 s slow, so its lease ends 8 s early in true time. The holder stops acting on it
        # the margin before its end (worker/leases.py holder_deadline): others, on true time, take it no earlier
        # than the margin after its end. True time just past the lease's end: still held.
        on_time = Ledger(clients.dynamodb, ledger_table, "on-time", LEASE, 1, clock=skewed(LEASE - 6))
        assert (await on_time.claim(ARN, "m-1", "v")).outcome == "held"
        await behind.release(ARN)
        # A released lease (a stopping worker's hand-over) is free at once, whatever the taker's clock says.
        slow = Ledger(clients.dynamodb, ledger_table, "slow", LEASE, 1, clock=skewed(-(CLOCK_SKEW_SECONDS - 1)))
        assert (await slow.claim(ARN, "m-1", "v")).outcome == "claimed"


async def test_the_sweeper_treats_a_lease_within_the_margin_as_live(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        holder = Ledger(clients.dynamodb, ledger_table, "holder", LEASE, 1)
        await holder.claim(ARN, "m-1", "v")
        item = await holder.item(ARN)
        assert item is not None
        assert item.lease_live(time.time() + LEASE + CLOCK_SKEW_SECONDS - 2), "expired by this clock, within margin"
        assert not item.lease_live(time.time() + LEASE + CLOCK_SKEW_SECONDS + 2)


async def test_a_claim_tells_a_crashed_holder_from_a_released_one(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        holder = Ledger(clients.dynamodb, ledger_table, "holder", LEASE, 1)
        first = await holder.claim(ARN, "m-1", "v")
        assert first.outcome == "claimed" and not first.after_crash, "nobody held it"
        # The holder died: its lease ran out unreleased. The claim that takes it over says so.
        later = Ledger(clients.dynamodb, ledger_table, "later", LEASE, 1, clock=skewed(LEASE + CLOCK_SKEW_SECONDS + 2))
        taken = await later.claim(ARN, "m-1", "v")
        assert taken.after_crash and taken.item.taken_from == "holder"
        await later.hand_over(ARN)
        # The fresh copy (another message id) takes the released lease at once: no crash this time.
        resumed = await Ledger(clients.dynamodb, ledger_table, "fresh", LEASE, 1).claim(ARN, "m-2", "v")
        assert resumed.outcome == "claimed" and not resumed.after_crash
        assert resumed.item.crash_hand_overs == 1 and resumed.item.validation_id == "v"
