"""The cleanup stage has a bound of its own: a kind's cleanup that never ends (an RDS call hanging, a cluster that
never becomes deletable) is recorded FAILED for the sweeper, never waited on for ever."""

from __future__ import annotations

import asyncio
from typing import Any

from worker.flow_support import CLEANUP_SECONDS, cleanup_within


class Log:
    def __init__(self) -> None:
        self.errors: list[tuple[str, dict[str, Any]]] = []

    def error(self, event: str, **fields: Any) -> None:
        self.errors.append((event, fields))


async def test_a_cleanup_that_never_ends_is_failed_at_its_bound():
    log = Log()
    never = asyncio.get_running_loop().create_future()

    async def hanging() -> str:
        await never
        return "DELETED"

    assert await cleanup_within(hanging(), log, seconds=0.2) == "FAILED"
    assert log.errors == [("cleanup.timed_out", {"seconds": 0.2})]


async def test_a_cleanup_within_its_bound_keeps_its_status():
    log = Log()

    async def quick() -> str:
        await asyncio.sleep(0.01)
        return "NOT_OURS"

    assert await cleanup_within(quick(), log, seconds=5) == "NOT_OURS"
    assert log.errors == []


def test_the_bound_covers_an_aurora_clusters_deletion_wait():
    from worker.kinds.aurora_ownership import CLUSTER_DELETE_BOUND

    assert CLEANUP_SECONDS > CLUSTER_DELETE_BOUND
