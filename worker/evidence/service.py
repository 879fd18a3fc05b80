"""One object the worker, the CLI and the evidence pack share: seal due days, verify a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from worker.evidence.manifest import EvidenceStore, SealOutcome, Signer, seal_day, seal_due
from worker.evidence.verify import Heads, Period, VerifyResult, verify_evidence


@dataclass(frozen=True)
class Evidence:
    store: EvidenceStore
    signer: Signer | None
    heads: Heads | None
    records_prefix: str
    manifest_prefix: str
    grace: timedelta

    async def seal_due(self, now: datetime, lookback_days: int = 3) -> list[SealOutcome]:
        if self.signer is None:
            return []
        return await seal_due(
            self.store, self.signer, self.records_prefix, self.manifest_prefix, now, self.grace, lookback_days
        )

    async def seal_day(self, day: date, now: datetime) -> SealOutcome | None:
        if self.signer is None:
            return None
        return await seal_day(self.store, self.signer, self.records_prefix, self.manifest_prefix, day, now)

    async def verify(self, since: date, until: date | None = None, now: datetime | None = None) -> VerifyResult:
        """The evidence pack calls this: `ok` and the problems, each naming the record, chain or day."""
        moment = now or datetime.now(UTC)
        period = Period(since, until or moment.date(), moment, self.grace)
        return await verify_evidence(
            self.store, self.signer, self.heads, self.records_prefix, self.manifest_prefix, period
        )
