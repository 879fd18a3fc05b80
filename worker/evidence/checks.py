"""Pure checks over records and manifests; each finding names the record key(s) and what is wrong."""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker.evidence.digest import DIGEST_FIELD, PREVIOUS_FIELD, SEQ_FIELD, chain_of, record_digest
from worker.evidence.manifest import SIGNATURE_FIELD


@dataclass(frozen=True)
class Problem:
    kind: str  # edited | unsealed | chain_gap | chain_break | chain_fork | chain_tail | manifest_* | record_*
    subject: str  # the record key, chain or day the problem is about
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


@dataclass(frozen=True)
class Entry:
    key: str
    record: dict[str, Any]

    @property
    def seq(self) -> int | None:
        value = self.record.get(SEQ_FIELD)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @functools.cached_property
    def actual_digest(self) -> str:  # checked by the record, chain and manifest checks alike: computed once
        return record_digest(self.record)


def check_records(entries: Sequence[Entry]) -> list[Problem]:
    """Each record's own digest: an edit that did not recompute it shows here."""
    problems = []
    for entry in entries:
        stored = entry.record.get(DIGEST_FIELD)
        if stored is None or entry.seq is None:
            problems.append(Problem("unsealed", entry.key, "carries no digest or chain position"))
        elif stored != entry.actual_digest:
            problems.append(Problem("edited", entry.key, "content does not match its record_digest"))
    return problems


def check_chains(entries: Sequence[Entry]) -> list[Problem]:
    """Per source: consecutive positions, each record naming its predecessor's actual digest, no two records in
    one position. A record edited with its digest recomputed breaks its successor's link."""
    by_chain: dict[str, dict[int, list[Entry]]] = defaultdict(lambda: defaultdict(list))
    for entry in entries:
        if entry.seq is not None:
            by_chain[chain_of(entry.record)][entry.seq].append(entry)
    problems: list[Problem] = []
    for chain, positions in by_chain.items():
        problems.extend(_check_chain(chain, positions))
    return problems


def _check_chain(chain: str, positions: Mapping[int, list[Entry]]) -> list[Problem]:
    problems: list[Problem] = []
    seqs = sorted(positions)
    for before, after in itertools.pairwise(seqs):
        if after > before + 1:
            first, last = positions[before][0].key, positions[after][0].key
            missing = f"{before + 1}" if after == before + 2 else f"{before + 1}..{after - 1}"
            problems.append(Problem("chain_gap", chain, f"record(s) {missing} missing between {first} and {last}"))
    for seq in seqs:
        here = positions[seq]
        if len(here) > 1:
            keys = ", ".join(sorted(entry.key for entry in here))
            problems.append(Problem("chain_fork", chain, f"{len(here)} records hold position {seq}: {keys}"))
        if seq == 1:
            problems.extend(
                Problem("chain_break", e.key, "first record of its chain names a predecessor")
                for e in here
                if e.record.get(PREVIOUS_FIELD) is not None
            )
        elif seq - 1 in positions:
            actual = {previous.actual_digest for previous in positions[seq - 1]}
            names = ", ".join(previous.key for previous in positions[seq - 1])
            problems.extend(
                Problem("chain_break", e.key, f"previous_digest does not match its predecessor {names}")
                for e in here
                if e.record.get(PREVIOUS_FIELD) not in actual
            )
    return problems


def check_tail(entries: Sequence[Entry], heads: Mapping[str, int]) -> list[Problem]:
    """The newest records of a chain have no successor to vouch for them: the ledger's head does."""
    newest: dict[str, Entry] = {}
    for entry in entries:
        chain = chain_of(entry.record)
        if entry.seq is not None and (chain not in newest or entry.seq > (newest[chain].seq or 0)):
            newest[chain] = entry
    problems = []
    for chain, entry in newest.items():
        head = heads.get(chain)
        if head is not None and entry.seq is not None and head > entry.seq:
            missing = f"{entry.seq + 1}" if head == entry.seq + 1 else f"{entry.seq + 1}..{head}"
            problems.append(
                Problem("chain_tail", chain, f"record(s) {missing} missing after {entry.key} (ledger head at {head})")
            )
    return problems


def check_manifest(day: str, manifest: Mapping[str, Any], entries: Sequence[Entry]) -> list[Problem]:
    """The day's records against what was sealed; the signature is checked separately (it needs KMS)."""
    sealed = {item.get("key"): item.get("digest") for item in manifest.get("records", []) if isinstance(item, dict)}
    present = {entry.key: entry for entry in entries}
    problems = []
    for key, digest in sorted(sealed.items(), key=lambda pair: str(pair[0])):
        entry = present.get(str(key))
        if entry is None:
            problems.append(Problem("record_deleted", str(key), f"listed in the manifest of {day}, not in S3"))
        elif entry.actual_digest != digest:
            problems.append(Problem("record_edited", str(key), f"differs from the digest sealed on {day}"))
    problems.extend(
        Problem("record_unlisted", key, f"not in the manifest of {day} (written after the day was sealed)")
        for key in sorted(present)
        if key not in sealed
    )
    return problems


def signature_bytes(manifest: Mapping[str, Any]) -> bytes | None:
    raw = manifest.get(SIGNATURE_FIELD)
    if not isinstance(raw, str):
        return None
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
