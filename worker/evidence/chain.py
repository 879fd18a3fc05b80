"""Appending a record to its source's hash chain.

The chain's head (seq, digest) lives in one ledger item per source; a record is linked by a conditional write
that moves the head from exactly the value the record was sealed against. The order is: seal against the head,
write the record to S3, then link. So:
- a linked record is always durable (S3 first); a crash between the write and the link leaves an unlinked
  record that the redelivered message overwrites (same key) and links;
- two workers appending to one source at once: one link wins, the other re-seals against the new head and
  rewrites its own object;
- a redelivered message whose record is already linked writes nothing: the first linked version is final, so
  no later record's `previous_digest` is ever broken by a rewrite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from worker.errors import Retryable
from worker.evidence.digest import DIGEST_FIELD, chain_of, seal

MAX_ATTEMPTS = 25


@dataclass(frozen=True)
class ChainHead:
    seq: int
    digest: str


class ChainPort(Protocol):
    async def head(self, chain: str) -> ChainHead | None: ...

    async def linked(self, recovery_point_arn: str) -> ChainHead | None: ...

    async def link(self, chain: str, recovery_point_arn: str, new: ChainHead, expected: ChainHead | None) -> bool: ...


Write = Callable[[str, dict[str, Any]], Awaitable[None]]


class EvidenceChain:
    def __init__(self, port: ChainPort) -> None:
        self._port = port

    async def append(self, key: str, record: dict[str, Any], write: Write) -> dict[str, Any] | None:
        """Write `record` at `key` sealed into its chain; None when it was already linked (nothing written)."""
        chain = chain_of(record)
        for _ in range(MAX_ATTEMPTS):
            # Checked before every write, not once: a linked record must never be overwritten.
            if await self._port.linked(record["recovery_point_arn"]) is not None:
                return None
            head = await self._port.head(chain)
            sealed = seal(record, head.digest if head else None, head.seq + 1 if head else 1)
            await write(key, sealed)
            new = ChainHead(sealed["chain_seq"], sealed[DIGEST_FIELD])
            if await self._port.link(chain, record["recovery_point_arn"], new, head):
                return sealed
        raise Retryable(f"chain of {chain} busy: {MAX_ATTEMPTS} concurrent appends in a row")
