"""Durations as people write them in the policy: `0s`, `45s`, `80m`, `6h`, `2d`, `1h30m`.

Units are days, hours, minutes and seconds, largest first, whole numbers only. A bare number is refused on
purpose: "60" could mean seconds or minutes, and guessing wrong would silently change an alarm threshold.
"""

from __future__ import annotations

import re
from datetime import timedelta

DURATION_HINT = "use e.g. 30s, 80m, 6h, 2d"

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def parse_duration(text: str) -> timedelta:
    """`"1h30m"` -> `timedelta(minutes=90)`; raises ValueError (with a hint) on anything else."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f'invalid duration "{text}" ({DURATION_HINT})')
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    try:
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        raise ValueError(f'duration "{text}" is too long (at most {timedelta.max.days} days)') from None


def format_duration(value: timedelta) -> str:
    """The canonical spelling, the inverse of `parse_duration`: 90 minutes -> `"1h30m"`, zero -> `"0s"`.

    Fractions of a second are dropped; the policy cannot express them anyway.
    """
    remaining = int(value.total_seconds())
    if remaining < 0:
        return "-" + format_duration(-value)
    parts = []
    for unit, seconds in _UNITS:
        count, remaining = divmod(remaining, seconds)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
