"""Receives for nobody: when a message is sent again as a fresh copy before its receive count dead-letters it.

SQS counts every receive towards the redrive policy's maxReceiveCount, including receives no worker acted on: a
worker killed between the receive and its outcome, or a killed (or stopping) worker's long poll that stays open
at SQS for up to 20 s and takes messages for nobody. The worker notes every outcome it decides without
acknowledging the message (worker/adapters/dead_letters.py counts them per message id), so a message received
for the N-th time had N - 1 earlier receives, of which `decided` ended in an outcome of ours; the rest were lost.

Near the end of its receives (the last two: a receive lost at the second-to-last is caught at the last), a
message with such lost receives is sent again as a fresh copy (receive count 0) and the original deleted, before
any work. Each copy carries how many times this happened (a message attribute) and the bound is
`MAX_REFRESHES`: a message whose handling kills every worker still ends in the DLQ. A malformed message is never
refreshed, and a message whose earlier receives all ended in outcomes we decided (retried errors) is left to
its receive count.

What the window cannot catch (a message whose last receives all went to nobody) ends in the DLQ; there the
rescue pass (worker/rescue.py) finds it by the same count and sends it back, within the same bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.errors import MalformedMessage
from worker.events import parse_body

MAX_REFRESHES = 10
REFRESH_ATTRIBUTE = "bv-refreshes"
# The last this-many receives of a message may refresh it (2: the last and the one before it).
REFRESH_WINDOW = 2


@dataclass(frozen=True)
class Receives:
    """What the worker knows of one message's receives when it arrives."""

    receive_count: int  # SQS's ApproximateReceiveCount, this receive included
    max_receive_count: int | None  # the queue's redrive policy (None: no DLQ, nothing to protect)
    refreshes: int  # fresh copies already made in this message's line

    @property
    def worth_counting(self) -> bool:
        """Whether to read the decided count at all: near the end, with earlier receives and refreshes to spare."""
        if self.max_receive_count is None or self.refreshes >= MAX_REFRESHES or self.receive_count < 2:
            return False
        return self.receive_count > self.max_receive_count - REFRESH_WINDOW

    def for_nobody(self, decided: int) -> int:
        """Earlier receives that ended in no outcome of ours (a crash, a dead long poll)."""
        return max(0, self.receive_count - 1 - decided)

    def refresh_due(self, decided: int, well_formed: bool) -> bool:
        return well_formed and self.worth_counting and self.for_nobody(decided) > 0


def rescue_due(decided: int, max_receive_count: int | None, refreshes: int, well_formed: bool) -> bool:
    """A dead letter whose receives were not all ours to decide: SQS moved it after `max_receive_count` receives,
    of which only `decided` ended in an outcome of ours, so at least one went to nobody (its last ones, or a
    refresh would have caught it). It goes back to its queue as a fresh copy, within the same bound."""
    if max_receive_count is None or refreshes >= MAX_REFRESHES or not well_formed:
        return False
    return decided < max_receive_count


def well_formed(body: str) -> bool:
    """Whether the body parses (a malformed message is left to the DLQ, never refreshed)."""
    try:
        parse_body(body)
    except MalformedMessage:
        return False
    return True
