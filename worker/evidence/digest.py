"""A record's own digest: sha256 over its canonical JSON (docs/record.md, "Digests")."""

from __future__ import annotations

import hashlib
import json
from typing import Any

DIGEST_FIELD = "record_digest"
PREVIOUS_FIELD = "previous_digest"
SEQ_FIELD = "chain_seq"
CHAIN_FIELD = "source_resource_arn"
DIGEST_PREFIX = "sha256:"


def canonical_json(document: dict[str, Any]) -> bytes:
    """UTF-8, keys sorted at every level, no whitespace. Values go through JSON once first (as they do on their
    way to S3), so a record digested before it is written has the digest of what a reader parses back."""
    plain = json.loads(json.dumps(document, default=str))
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return DIGEST_PREFIX + hashlib.sha256(data).hexdigest()


def record_digest(record: dict[str, Any]) -> str:
    """Everything in the record except the digest field itself (the chain fields are covered)."""
    return sha256_hex(canonical_json({k: v for k, v in record.items() if k != DIGEST_FIELD}))


def seal(record: dict[str, Any], previous: str | None, seq: int) -> dict[str, Any]:
    """The record as written: its place in its source's chain, then its own digest over all of it."""
    sealed = {k: v for k, v in record.items() if k != DIGEST_FIELD}
    sealed[SEQ_FIELD] = seq
    sealed[PREVIOUS_FIELD] = previous
    sealed[DIGEST_FIELD] = record_digest(sealed)
    return sealed


def chain_of(record: dict[str, Any]) -> str:
    """One chain per source resource; a record without a source (none today) shares the `unknown` chain."""
    return str(record.get(CHAIN_FIELD) or "unknown")
