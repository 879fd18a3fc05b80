"""The ledger's items as types, and the rules read from them (pure; worker/adapters/ledger.py stores them).

rp#<recovery point arn>   one validation: CLAIMED -> RESTORING -> CHECKED -> DONE (see docs/architecture.md)
res#<identifier>          the recovery point a restored resource belongs to (the sweeper's proof of ours)
src#<source arn>          sampling clock, previous row counts, last PASSED validation per source
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from worker.leases import free_for_others, free_in

CLAIMED = "CLAIMED"
RESTORING = "RESTORING"
CHECKED = "CHECKED"
DONE = "DONE"
# Fresh messages a validation is given after crashes of its holders, at most (see `ClaimResult.after_crash`).
CRASH_HAND_OVERS = 10


@dataclass(frozen=True)
class LedgerItem:
    recovery_point_arn: str
    state: str = CLAIMED
    owner: str | None = None
    message_id: str | None = None
    lease_expires_at: int = 0
    claimed_at: int = 0
    validation_id: str | None = None
    restore_job_id: str | None = None
    restore_started_at: int | None = None
    resource_id: str | None = None
    engine: str | None = None
    record: dict[str, Any] | None = None  # the draft checkpointed before cleanup
    status: str | None = None
    generation: int = 0  # how many times `--force` reopened it (part of the idempotency token)
    updated_at: int = 0
    # What the last claim found: the previous owner and its lease (0: released, or none), and how many times the
    # validation was given a fresh message after its holder died (see `ClaimResult.after_crash`).
    taken_from: str | None = None
    taken_lease: int = 0
    crash_hand_overs: int = 0

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any]) -> LedgerItem:
        """From a stored item (values already plain Python: str, int)."""
        raw_record = attributes.get("record")
        return cls(
            recovery_point_arn=str(attributes.get("pk", "rp#"))[3:],
            state=str(attributes.get("state") or CLAIMED),
            owner=_text(attributes.get("owner")),
            message_id=_text(attributes.get("message_id")),
            lease_expires_at=int(attributes.get("lease_expires_at") or 0),
            claimed_at=int(attributes.get("claimed_at") or 0),
            validation_id=_text(attributes.get("validation_id")),
            restore_job_id=_text(attributes.get("restore_job_id")),
            restore_started_at=_number(attributes.get("restore_started_at")),
            resource_id=_text(attributes.get("resource_id")),
            engine=_text(attributes.get("engine")),
            record=json.loads(raw_record) if isinstance(raw_record, str) else None,
            status=_text(attributes.get("status")),
            generation=int(attributes.get("generation") or 0),
            updated_at=int(attributes.get("updated_at") or 0),
            taken_from=_text(attributes.get("taken_from")),
            taken_lease=int(attributes.get("taken_lease") or 0),
            crash_hand_overs=int(attributes.get("crash_hand_overs") or 0),
        )

    @property
    def fresh(self) -> bool:
        """Claimed for the first time: no restore started yet (only then is the sampling clock consulted)."""
        return self.state == CLAIMED and not self.restore_job_id

    @property
    def forced(self) -> bool:
        """Reopened by an on-demand `--force`: validated whatever the sampling clock says."""
        return self.generation > 0

    @property
    def checked(self) -> bool:
        """A previous worker finished the checks: only cleanup and the report remain."""
        return self.record is not None

    def lease_remaining(self, now: float | None = None) -> int:
        return max(0, self.lease_expires_at - int(time.time() if now is None else now))

    def free_in(self, now: float | None = None) -> float:
        """Seconds until another worker may take the item over by the clock-skew rule (worker/leases.py)."""
        return free_in(self.lease_expires_at, time.time() if now is None else now)

    def lease_live(self, now: float | None = None) -> bool:
        """Someone holds the recovery point, as far as any worker whose clock is within the margin can tell."""
        return self.state != DONE and not free_for_others(self.lease_expires_at, time.time() if now is None else now)


@dataclass(frozen=True)
class ClaimResult:
    outcome: Literal["claimed", "done", "held"]
    item: LedgerItem
    read_at: float | None = None  # the claiming worker's clock when it read the item (None: now)

    @property
    def retry_after(self) -> int:
        """How long our own message stays invisible behind a previous holder's lease: until any worker may take
        it over by the clock-skew rule, and a second more (the claim compares whole seconds)."""
        return math.ceil(self.item.free_in(self.read_at)) + 1

    @property
    def after_crash(self) -> bool:
        """Claimed from a holder that died (its lease ran out, never released), fewer than `CRASH_HAND_OVERS` times.

        Each crash of a worker holding the message cost it a receive towards the queue's maxReceiveCount, through
        no fault of its own; the claimer then hands it over to a fresh copy of the message (receive count 0)
        rather than carry on with the spent one. The bound keeps a recovery point whose validation kills every
        worker from circulating for ever: past it, its receives count towards the DLQ again."""
        item = self.item
        died = item.taken_from is not None and item.taken_from != item.owner and item.taken_lease > 0
        return self.outcome == "claimed" and died and item.crash_hand_overs < CRASH_HAND_OVERS

    def held_by_message(self, message_id: str) -> bool:
        """Our own message back while a (probably dead) previous holder's lease runs out."""
        return self.outcome == "held" and self.item.message_id == message_id


@dataclass(frozen=True)
class ResourceEntry:
    identifier: str
    recovery_point_arn: str
    created_at: int


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and value else None
