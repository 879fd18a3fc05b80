"""The incremental reconciler on the emulator: a later pass reads only the recovery points created since the
previous one (ByCreatedAfter), through aiobotocore and the real Backup adapter."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from harness.worker_stack import make_stack
from prometheus_client import CollectorRegistry

from worker.adapters.aws import open_clients
from worker.adapters.backup import Backup
from worker.coverage import IncrementalReconciler
from worker.metrics import Metrics
from worker.policy import load_policy


class Counting:
    """The real adapter, counting what each pass is handed."""

    def __init__(self, backup: Backup) -> None:
        self.backup, self.handed = backup, []

    async def sources_backed_up_since(self, after):
        found = await self.backup.sources_backed_up_since(after)
        self.handed.append(len(found))
        return found


class NeverPassed:
    async def last_passed_at(self, source_arn):
        return None


async def test_a_later_pass_reads_only_new_recovery_points(emulator):
    stack = await make_stack()
    try:
        sources = [await stack.add_source(engine) for engine in ("postgres", "mariadb")]
        for source in sources:
            await stack.backup_and_copy(source)
        async with open_clients(Metrics(CollectorRegistry())) as clients:
            listing = Counting(Backup(clients.backup))
            reconciler = IncrementalReconciler(
                load_policy(stack.policy_file), listing, NeverPassed(), 3600, overlap=timedelta(seconds=0)
            )
            first = await reconciler.run()
            await asyncio.sleep(1.5)
            second = await reconciler.run()
            await stack.backup_and_copy(sources[0])
            third = await reconciler.run()
        arns = sorted(s.arn for s in sources)
        assert sorted(first.uncovered) == arns == sorted(second.uncovered) == sorted(third.uncovered)
        assert listing.handed[0] >= 2, "the first pass lists the history"
        assert listing.handed[1] == 0, "nothing new: nothing read"
        assert listing.handed[2] == 1, "one new backup (and its copy) of one source"
    finally:
        await stack.close()
