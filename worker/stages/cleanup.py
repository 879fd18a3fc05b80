"""Deleting what we restored, and only that: the ledger, the `bv-` name and our tag must all agree."""

from __future__ import annotations

from typing import Any, Protocol

from worker.adapters.rds import OWNER_TAG, DbInstance
from worker.errors import NotOurs
from worker.stages.restore import NAME_PREFIX


class LedgerPort(Protocol):
    async def get(self, pk: str) -> dict[str, Any] | None: ...


class DeletePort(Protocol):
    async def describe(self, identifier: str) -> DbInstance | None: ...
    async def delete(self, identifier: str) -> bool: ...


async def ownership_problem(instance: DbInstance, ledger: LedgerPort, *, in_ledger: bool = False) -> str | None:
    """None when the instance is provably ours, else why not. `in_ledger`: the caller holds the ledger entry
    that names this instance (a validation cleaning up its own restore), so the ledger need not be read."""
    if not instance.identifier.startswith(NAME_PREFIX):
        return f"name {instance.identifier} lacks the {NAME_PREFIX} prefix"
    if instance.tags.get(OWNER_TAG) != "true":
        return f"{instance.identifier} lacks the {OWNER_TAG} tag"
    if not in_ledger and await ledger.get(f"res#{instance.identifier}") is None:
        return f"{instance.identifier} is not in the ledger"
    return None


async def delete_ours(
    rds: DeletePort, ledger: LedgerPort, identifier: str, known: DbInstance | None = None, *, in_ledger: bool = False
) -> str:
    """DELETED, ALREADY_GONE; raises NotOurs rather than touch anything else. `known`: the instance as the
    caller described it (saves a describe; ownership is checked on it all the same)."""
    instance = known if known is not None and known.identifier == identifier else await rds.describe(identifier)
    if instance is None:
        return "ALREADY_GONE"
    problem = await ownership_problem(instance, ledger, in_ledger=in_ledger)
    if problem is not None:
        raise NotOurs(problem)
    return "DELETED" if await rds.delete(identifier) else "ALREADY_GONE"
