"""Coverage: silence must not look like success.

Events can be lost, rules misconfigured, a worker down for a day. Periodically list what AWS Backup holds and
count the protected sources the policy selects that have no PASSED validation within the coverage SLO.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from worker.model import ProtectedSource, account_of
from worker.policy import Policy
from worker.ports import CoverageLedger, Inventory


def selected(policy: Policy, sources: Iterable[ProtectedSource]) -> list[ProtectedSource]:
    return [s for s in sources if policy.match(s.resource_type, s.arn, account_of(s.arn)) is not None]


async def uncovered_sources(
    policy: Policy, inventory: Inventory, history: CoverageLedger, slo_seconds: float, now: float | None = None
) -> list[str]:
    """ARNs of selected sources whose last PASSED validation is older than the SLO (or never happened)."""
    now = time.time() if now is None else now
    missing: list[str] = []
    for source in selected(policy, await inventory.protected_sources()):
        last_passed = await history.last_passed_at(source.arn)
        if last_passed is None or now - last_passed > slo_seconds:
            missing.append(source.arn)
    return missing
