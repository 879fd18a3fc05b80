"""Fleet-wide restore limits as data (pure): which counters a restore takes a slot in, and who holds one.

A counter is one ledger item `fleet#<scope>` holding `holders`, a map of holder -> lease expiry, and a `version`
that every take bumps (compare-and-set; renewals and releases touch only their own entry). A restore takes one
slot in each counter that applies to it: the fleet's total, its source account and region, its resource kind.
Holders whose lease is free by the rule of worker/leases.py are not counted, and the next take drops them: a
killed worker's slots come back by themselves.

Turns across workers: a worker that finds a counter it needs full (or its free slots all owed to workers that have
waited longer) writes itself into that counter's line, an attribute `w#<worker>` holding when its first waiting
restore began to wait and when it last looked; it takes a slot only when fewer workers that have waited longer are
in line than there are free slots. So a slot a worker gives back goes to the worker that has waited longest, not
to the giver's own next restore. A worker leaves a line when it takes, or when that counter no longer blocks it
(so it holds no place in a line it cannot use); an entry not refreshed for `WAITER_SECONDS` (a dead worker) is
not counted, and the next take drops it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from worker.leases import CLOCK_SKEW_SECONDS, free_for_others

# A waiting worker looks again at least every 2 s (worker/fleet.py); beyond this its entry counts as gone.
WAITER_SECONDS = 5 + CLOCK_SKEW_SECONDS
WAITER_PREFIX = "w#"


@dataclass(frozen=True)
class Counter:
    pk: str
    limit: int


@dataclass(frozen=True)
class Attempt:
    """One try at a slot in every counter that applies."""

    # True: ours in every counter. False: one is full, or its free slots are owed to workers in line before us.
    # None: another worker took a slot (or dropped or renewed an entry we would drop) between our read and our
    # write; nothing was written.
    taken: bool | None
    # Counters found without `version` or `holders` (the worker never writes one): taken as empty, version 0, and
    # repaired by this attempt's write when it succeeds.
    malformed: tuple[str, ...] = ()


@dataclass(frozen=True)
class FleetLimits:
    total: int | None = None
    per_account: int | None = None
    per_kind: dict[str, int] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.total is not None or self.per_account is not None or bool(self.per_kind)

    def counters(self, account_region: str, kind: str) -> list[Counter]:
        """The counters a restore of `kind` from `account_region` takes a slot in, in a fixed order."""
        counters = []
        if self.total is not None:
            counters.append(Counter("fleet#total", self.total))
        if self.per_account is not None:
            counters.append(Counter(f"fleet#account#{account_region}", self.per_account))
        if kind in self.per_kind:
            counters.append(Counter(f"fleet#kind#{kind}", self.per_kind[kind]))
        return counters


# Which RDS account quota (DescribeAccountAttributes) bounds the restores of a kind.
QUOTA_OF_KIND = {"RDS": "DBInstances", "Aurora": "DBClusters"}


def with_quota_defaults(limits: FleetLimits, quotas: Mapping[str, int], headroom: int) -> FleetLimits:
    """A kind with no limit of its own gets its account quota minus `headroom` (what the account's other
    instances and clusters, and a margin, need); a limit set by hand is never raised."""
    per_kind = dict(limits.per_kind)
    for kind, quota in QUOTA_OF_KIND.items():
        if kind not in per_kind and quota in quotas:
            per_kind[kind] = max(1, quotas[quota] - headroom)
    return dataclasses.replace(limits, per_kind=per_kind)


def parse_kind_limits(text: str) -> dict[str, int]:
    """`RDS=30,Aurora=10` -> {"RDS": 30, "Aurora": 10}; ValueError naming the part that is wrong."""
    limits: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"{part!r} is not KIND=N with N >= 1 (e.g. RDS=30,Aurora=10)")
        limits[name.strip()] = int(value)
    return limits


def holder_key(owner: str, recovery_point_arn: str) -> str:
    """Short, so that thousands of holders fit in one 400 KB item: the worker, then a digest of the point."""
    return f"{owner}/{hashlib.sha256(recovery_point_arn.encode()).hexdigest()[:16]}"


def live_holders(holders: dict[str, int], now: float) -> dict[str, int]:
    return {holder: expires for holder, expires in holders.items() if not free_for_others(expires, now)}


@dataclass(frozen=True)
class Waiter:
    since: float  # when its longest-waiting restore began to wait (its clock)
    seen: float  # when it last looked (its clock)


def owner_of(holder: str) -> str:
    """The worker of a holder key (`holder_key`)."""
    return holder.rsplit("/", 1)[0]


def live_waiters(waiters: Mapping[str, Waiter], now: float) -> dict[str, Waiter]:
    return {owner: w for owner, w in waiters.items() if now - w.seen <= WAITER_SECONDS}


def blocks(limit: int, holders: int, waiters: Mapping[str, Waiter], me: str, since: float, now: float) -> bool:
    """Whether a counter with `holders` live holders keeps worker `me`, waiting since `since`, from a slot: no
    slot is free for it once the workers in line before it (waiting longer; on a tie, the smaller name) have
    theirs."""
    before = sum(1 for owner, w in live_waiters(waiters, now).items() if owner != me and (w.since, owner) < (since, me))
    return limit - holders <= before
