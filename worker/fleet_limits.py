"""Fleet-wide restore limits as data (pure): which counters a restore takes a slot in, and who holds one.

A counter is one ledger item `fleet#<scope>` holding `holders`, a map of holder -> lease expiry, and a `version`
that every take bumps (compare-and-set; renewals and releases touch only their own entry). A restore takes one
slot in each counter that applies to it: the fleet's total, its source account and region, its resource kind.
Holders whose lease is free by the rule of worker/leases.py are not counted, and the next take drops them: a
killed worker's slots come back by themselves.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from worker.leases import free_for_others


@dataclass(frozen=True)
class Counter:
    pk: str
    limit: int


@dataclass(frozen=True)
class Attempt:
    """One try at a slot in every counter that applies."""

    # True: ours in every counter. False: one is full. None: another worker took a slot (or dropped or renewed an
    # entry we would drop) between our read and our write; nothing was written.
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
