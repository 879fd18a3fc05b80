"""`verify-evidence`: read a period's records and manifests and check them. Returns a typed result that the
CLI prints and the evidence pack embeds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from worker.evidence.checks import (
    Entry,
    Problem,
    check_chains,
    check_manifest,
    check_records,
    check_tail,
    signature_bytes,
)
from worker.evidence.digest import chain_of
from worker.evidence.manifest import EvidenceStore, Signer, day_prefix, manifest_key, signed_statement

READ_CONCURRENCY = 16
# Records are partitioned by claim day but chained when they finish, so a record claimed the day before the
# period may sit between two of the period's records in its chain: read one such day for context.
CONTEXT_DAYS = 1


class Heads(Protocol):
    async def head_seq(self, chain: str) -> int | None: ...


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    problems: tuple[Problem, ...]
    records_checked: int
    chains_checked: int
    days_sealed: tuple[str, ...] = ()
    days_unsealed: tuple[str, ...] = ()  # not yet due for a manifest: chains checked, no signature yet
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": [{"kind": p.kind, "subject": p.subject, "detail": p.detail} for p in self.problems],
            "records_checked": self.records_checked,
            "chains_checked": self.chains_checked,
            "days_sealed": list(self.days_sealed),
            "days_unsealed": list(self.days_unsealed),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Period:
    since: date
    until: date
    now: datetime
    grace: timedelta

    def days(self, extra_before: int = 0) -> list[date]:
        first = self.since - timedelta(days=extra_before)
        return [first + timedelta(days=n) for n in range((self.until - first).days + 1)]

    def sealable(self, day: date) -> bool:
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
        return self.now.astimezone(UTC) - self.grace >= day_end


async def verify_evidence(
    store: EvidenceStore,
    signer: Signer | None,
    heads: Heads | None,
    records_prefix: str,
    manifest_prefix: str,
    period: Period,
) -> VerifyResult:
    by_day = await _read_days(store, records_prefix, period.days(CONTEXT_DAYS))
    window = {day: by_day[day] for day in period.days()}
    in_window = [entry for entries in window.values() for entry in entries]
    everything = [entry for entries in by_day.values() for entry in entries]
    window_keys = {entry.key for entry in in_window}
    problems = check_records(in_window)
    problems += [p for p in check_chains(everything) if _touches(p, window_keys)]
    notes: list[str] = []
    if heads is not None and period.until >= period.now.astimezone(UTC).date():
        problems += check_tail(in_window, await _head_seqs(heads, in_window))
    sealed, unsealed = [], []
    for day, entries in window.items():
        manifest = await store.get_json(manifest_key(manifest_prefix, day))
        if manifest is not None:  # sealed, perhaps early by hand: then checked like any other
            sealed.append(day.isoformat())
            problems += await _check_day(signer, manifest_key(manifest_prefix, day), manifest, day, entries)
        elif period.sealable(day):
            problems.append(Problem("manifest_missing", day.isoformat(), "no manifest for a finished day"))
        else:
            unsealed.append(day.isoformat())
    if signer is None:
        notes.append("no KMS key configured (BV_EVIDENCE_KMS_KEY_ID): manifest signatures not checked")
    return VerifyResult(
        ok=not problems,
        problems=tuple(problems),
        records_checked=len(in_window),
        chains_checked=len({chain_of(entry.record) for entry in in_window}),
        days_sealed=tuple(sealed),
        days_unsealed=tuple(unsealed),
        notes=tuple(notes),
    )


def _touches(problem: Problem, window_keys: set[str]) -> bool:
    """A chain problem counts when it names a record of the period, not only records of the context day."""
    return problem.subject in window_keys or any(key in problem.detail for key in window_keys)


async def _check_day(
    signer: Signer | None, key: str, manifest: dict[str, Any], day: date, entries: list[Entry]
) -> list[Problem]:
    problems = []
    if manifest.get("day") != day.isoformat():
        problems.append(Problem("manifest_forged", key, f"manifest is for day {manifest.get('day')!r}"))
    if signer is not None:
        signature = signature_bytes(manifest)
        if signature is None or not await signer.verify(signed_statement(manifest), signature):
            problems.append(Problem("manifest_forged", key, f"signature does not verify with KMS key {signer.key_id}"))
    return problems + check_manifest(day.isoformat(), manifest, entries)


async def _read_days(store: EvidenceStore, records_prefix: str, days: list[date]) -> dict[date, list[Entry]]:
    limit = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(key: str) -> Entry | None:
        async with limit:
            record = await store.get_json(key)
        return Entry(key, record) if record is not None else None

    result: dict[date, list[Entry]] = {}
    for day in days:
        keys = await store.keys(day_prefix(records_prefix, day))
        found = await asyncio.gather(*(read(key) for key in keys))
        result[day] = [entry for entry in found if entry is not None]
    return result


async def _head_seqs(heads: Heads, entries: list[Entry]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chain in sorted({chain_of(entry.record) for entry in entries}):
        seq = await heads.head_seq(chain)
        if seq is not None:
            found[chain] = seq
    return found
