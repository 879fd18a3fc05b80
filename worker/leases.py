"""The one rule every time-limited lease of the fleet follows when workers' clocks disagree.

A lease is stored as `expires_at`, a Unix time written by the holder from its own clock. Clocks of ECS tasks are
kept by NTP/chrony (Amazon Time Sync) within milliseconds, but we tolerate up to `CLOCK_SKEW_SECONDS` between any
two workers:

- another worker treats a lease as free only once its own clock reads `expires_at + CLOCK_SKEW_SECONDS`;
- the holder treats its lease as lost `CLOCK_SKEW_SECONDS` before `expires_at`, counted on its monotonic clock
  from the moment it sent the write (so a slow write or a clock step on the holder can only shorten it).

With skew below the margin the two windows never overlap. Where acting on a lost lease could do harm, the write
also carries a fencing token (the item's version) so a stale holder's write is refused by DynamoDB itself.
"""

from __future__ import annotations

CLOCK_SKEW_SECONDS = 10


def free_for_others(expires_at: float, now: float) -> bool:
    """Whether a lease written with `expires_at` may be taken by a worker whose clock reads `now`."""
    return now > expires_at + CLOCK_SKEW_SECONDS


def free_in(expires_at: float, now: float) -> float:
    """Seconds until a lease written with `expires_at` is free for a worker whose clock reads `now` (0 if it is)."""
    return max(0.0, expires_at + CLOCK_SKEW_SECONDS - now)


def holder_deadline(sent_at_monotonic: float, lease_seconds: float) -> float:
    """The monotonic time until which the holder may act on a lease it wrote at `sent_at_monotonic`."""
    return sent_at_monotonic + lease_seconds - CLOCK_SKEW_SECONDS
