"""The daily manifest: every record digest of one day's partition, signed with a KMS asymmetric key.

KMS signs at most 4096 bytes of RAW message, and a day of a large fleet is more, so what is signed is a short
statement naming the sha256 of the manifest's canonical JSON (every field but the signature). A manifest is
written once per day, after the day plus a grace period has passed (validations claimed late in a day finish
after midnight), and never rewritten.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from worker.evidence.digest import DIGEST_FIELD, PREVIOUS_FIELD, SEQ_FIELD, canonical_json, chain_of, sha256_hex

VERSION = 1
SIGNATURE_FIELD = "signature"
STATEMENT_PREFIX = b"backup-validator evidence manifest v1 "


class Signer(Protocol):
    key_id: str
    algorithm: str

    async def sign(self, message: bytes) -> bytes: ...

    async def verify(self, message: bytes, signature: bytes) -> bool: ...


class EvidenceStore(Protocol):
    async def keys(self, prefix: str) -> list[str]: ...

    async def get_json(self, key: str) -> dict[str, Any] | None: ...

    async def put_json(self, key: str, document: dict[str, Any]) -> None: ...


def day_prefix(records_prefix: str, day: date) -> str:
    return f"{records_prefix}dt={day:%Y-%m-%d}/"


def manifest_key(manifest_prefix: str, day: date) -> str:
    return f"{manifest_prefix}dt={day:%Y-%m-%d}/manifest.json"


def signed_statement(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != SIGNATURE_FIELD}
    return STATEMENT_PREFIX + sha256_hex(canonical_json(body)).encode()


def build_manifest(
    day: date, records_prefix: str, records: Sequence[tuple[str, dict[str, Any]]], signer: Signer, now: datetime
) -> dict[str, Any]:
    """Unsigned: one entry per record key, sorted, with the digest the record carries."""
    return {
        "version": VERSION,
        "day": day.isoformat(),
        "records_prefix": day_prefix(records_prefix, day),
        "created_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "kms_key_id": signer.key_id,
        "signing_algorithm": signer.algorithm,
        "records": [
            {
                "key": key,
                "digest": record.get(DIGEST_FIELD),
                "chain": chain_of(record),
                SEQ_FIELD: record.get(SEQ_FIELD),
                PREVIOUS_FIELD: record.get(PREVIOUS_FIELD),
            }
            for key, record in sorted(records, key=lambda pair: pair[0])
        ],
    }


@dataclass(frozen=True)
class SealOutcome:
    day: date
    written: bool
    records: int
    key: str


async def seal_day(
    store: EvidenceStore, signer: Signer, records_prefix: str, manifest_prefix: str, day: date, now: datetime
) -> SealOutcome:
    """Write the day's signed manifest unless one exists (a day with no records gets an empty one: proof that
    there were none, so deleting a whole day is caught)."""
    key = manifest_key(manifest_prefix, day)
    if await store.get_json(key) is not None:
        return SealOutcome(day, False, 0, key)
    records: list[tuple[str, dict[str, Any]]] = []
    for record_key in await store.keys(day_prefix(records_prefix, day)):
        record = await store.get_json(record_key)
        if record is not None:
            records.append((record_key, record))
    manifest = build_manifest(day, records_prefix, records, signer, now)
    signature = await signer.sign(signed_statement(manifest))
    manifest[SIGNATURE_FIELD] = base64.b64encode(signature).decode()
    await store.put_json(key, manifest)
    return SealOutcome(day, True, len(records), key)


def due_days(now: datetime, grace: timedelta, lookback_days: int) -> list[date]:
    """Days that ended at least `grace` ago, newest `lookback_days` of them, oldest first."""
    last = (now.astimezone(UTC) - grace).date() - timedelta(days=1)
    return [last - timedelta(days=back) for back in reversed(range(lookback_days))]


async def seal_due(
    store: EvidenceStore,
    signer: Signer,
    records_prefix: str,
    manifest_prefix: str,
    now: datetime,
    grace: timedelta,
    lookback_days: int = 3,
) -> list[SealOutcome]:
    """What the worker's periodic task and `backup-validator seal-evidence` run: idempotent, any worker may."""
    return [
        await seal_day(store, signer, records_prefix, manifest_prefix, day, now)
        for day in due_days(now, grace, lookback_days)
    ]
