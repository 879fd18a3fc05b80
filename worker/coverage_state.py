"""The reconciler's state, as kept between passes and stored in the ledger table so that a new runner (a
restart, a hand-over) continues incrementally instead of listing the whole retained history again.

What it must keep: where the last listing ended (the `ByCreatedAfter` watermark), which vaults that listing covered
(a vault it did not, one created or shared since, is listed whole: its recovery points may be older than the
watermark), every source seen with the creation time of its newest recovery point (a source whose newest backup is
older than the watermark is never listed again, yet must still be judged), and which sources were already reported
as stopped. The sources and vaults are stored as one zlib-compressed JSON document, cut into parts of at most
`PART_BYTES` (DynamoDB items are at most 400 KB), at most `MAX_PARTS` of them, so that the whole state is written in
one `TransactWriteItems` (4 MB). About 20 bytes per source after compression (measured with a random account per
source; ARNs share their prefixes), so about 180,000 sources fit. A state that does not fit is not stored
(`encode_sources` returns None): the next runner then lists everything once, as before.
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


@dataclass(frozen=True)
class Listing:
    """What one pass's listing found: per source its newest recovery point, and every vault it listed."""

    sources: list[SourceBackup]
    vaults: frozenset[str]


@dataclass
class SavedState:
    """What a pass leaves for the next; `version` is the stored item's (0: nothing stored yet)."""

    listed_until: datetime | None = None
    sources: dict[str, SourceBackup] = field(default_factory=dict)
    reported_stopped: set[str] = field(default_factory=set)
    vaults: set[str] = field(default_factory=set)  # listed up to `listed_until` (the rest: listed whole)
    version: int = 0
    parts: int = 0  # how many parts the stored sources take


def encode_sources(
    sources: dict[str, SourceBackup], reported_stopped: set[str], vaults: set[str]
) -> list[bytes] | None:
    """The sources and vaults as stored parts (sorted, so equal states encode alike); None when over
    `MAX_PARTS`."""
    rows = [
        [s.arn, s.resource_type, s.newest.timestamp(), 1 if s.arn in reported_stopped else 0]
        for s in sorted(sources.values(), key=lambda s: s.arn)
    ]
    document = {"sources": rows, "vaults": sorted(vaults)}
    blob = zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 9)
    parts = [blob[start : start + PART_BYTES] for start in range(0, len(blob), PART_BYTES)] or [blob]
    return parts if len(parts) <= MAX_PARTS else None


def decode_sources(parts: list[bytes]) -> tuple[dict[str, SourceBackup], set[str], set[str]]:
    """Sources, those reported stopped, vaults. A state stored before vaults were kept (a bare array) names
    none, so the next pass lists every vault whole once."""
    document = json.loads(zlib.decompress(b"".join(parts)))
    rows = document if isinstance(document, list) else document["sources"]
    vaults = set() if isinstance(document, list) else {str(name) for name in document["vaults"]}
    sources: dict[str, SourceBackup] = {}
    stopped: set[str] = set()
    for arn, resource_type, newest, reported in rows:
        sources[str(arn)] = SourceBackup(str(arn), str(resource_type), datetime.fromtimestamp(float(newest), UTC))
        if reported:
            stopped.add(str(arn))
    return sources, stopped, vaults
