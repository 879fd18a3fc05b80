"""The reconciler's state, as kept between passes and stored in the ledger table so that a new runner (a
restart, a hand-over) continues incrementally instead of listing the whole retained history again.

What it must keep: where the last listing ended (the `ByCreatedAfter` watermark), every source seen with the
creation time of its newest recovery point (a source whose newest backup is older than the watermark is never
listed again, yet must still be judged), and which sources were already reported as stopped. The sources are
stored as one zlib-compressed JSON array, cut into parts of at most `PART_BYTES` (DynamoDB items are at most
400 KB), at most `MAX_PARTS` of them, so that the whole state is written in one `TransactWriteItems` (4 MB).
About 20 bytes per source after compression (measured with a random account per source; ARNs share their
prefixes), so about 180,000 sources fit. A state that does not fit is not stored (`encode_sources` returns
None): the next runner then lists everything once, as before.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

PART_BYTES = 350_000
MAX_PARTS = 10


@dataclass(frozen=True)
class SourceBackup:
    arn: str
    resource_type: str
    newest: datetime  # creation time of its newest recovery point seen


@dataclass
class SavedState:
    """What a pass leaves for the next; `version` is the stored item's (0: nothing stored yet)."""

    listed_until: datetime | None = None
    sources: dict[str, SourceBackup] = field(default_factory=dict)
    reported_stopped: set[str] = field(default_factory=set)
    version: int = 0
    parts: int = 0  # how many parts the stored sources take


def encode_sources(sources: dict[str, SourceBackup], reported_stopped: set[str]) -> list[bytes] | None:
    """The sources as stored parts (sorted, so equal states encode alike); None when over `MAX_PARTS`."""
    rows = [
        [s.arn, s.resource_type, s.newest.timestamp(), 1 if s.arn in reported_stopped else 0]
        for s in sorted(sources.values(), key=lambda s: s.arn)
    ]
    blob = zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 9)
    parts = [blob[start : start + PART_BYTES] for start in range(0, len(blob), PART_BYTES)] or [blob]
    return parts if len(parts) <= MAX_PARTS else None


def decode_sources(parts: list[bytes]) -> tuple[dict[str, SourceBackup], set[str]]:
    rows = json.loads(zlib.decompress(b"".join(parts)))
    sources: dict[str, SourceBackup] = {}
    stopped: set[str] = set()
    for arn, resource_type, newest, reported in rows:
        sources[str(arn)] = SourceBackup(str(arn), str(resource_type), datetime.fromtimestamp(float(newest), UTC))
        if reported:
            stopped.add(str(arn))
    return sources, stopped
