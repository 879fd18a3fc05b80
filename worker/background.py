"""The worker's background jobs, each a call of one periodic helper: the restore-status sweep, message
heartbeats and lease renewal, the sweeper, the coverage reconciler, the queue gauges and the evidence sealer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.coverage import CoveragePass, IncrementalReconciler
from worker.emf import coverage_document
from worker.evidence.service import Evidence
from worker.kinds import Kinds
from worker.metrics import Metrics
from worker.ports import JsonSink, QueuePort


async def periodic(
    period: float, job: Callable[[], Awaitable[object]], log: Any, failed: str, *, at_start: bool = False
) -> None:
    """Run `job` every `period` seconds until cancelled, at a fixed rate (a run's own duration does not delay
    the next), first at once when `at_start`. A failure is logged as `failed` and the next period tries again."""
    loop = asyncio.get_running_loop()
    due = loop.time() - (period if at_start else 0)
    while True:
        due = max(due + period, loop.time())
        await asyncio.sleep(due - loop.time())
        try:
            await job()
        except Exception as exc:  # noqa: BLE001 - one failed run must not stop the next
            log.warning(failed, error=type(exc).__name__, detail=str(exc)[:200])


async def sweep_leftovers(kinds: Kinds, ttl: timedelta, metrics: Metrics) -> list[str]:
    """One sweeper pass over every kind; the names it deleted."""
    deleted: list[str] = []
    for kind in kinds.all:
        swept = await kind.sweep(ttl)
        if swept:
            metrics.swept.labels(kind.name).inc(len(swept))
        deleted += swept
    return deleted


async def reconcile_incrementally(
    reconciler: IncrementalReconciler, metrics: Metrics, log: Any, sink: JsonSink | None = None
) -> None:
    result = await reconciler.run()
    log.info(
        "coverage.pass",
        sources=len(reconciler.sources),
        listed=result.listed,
        uncovered=len(result.uncovered),
        stopped=len(result.stopped),
        resumed=result.resumed,
        state=result.state,
    )
    if result.state == "conflict":
        log.warning("coverage.state_conflict")  # another runner saved since: read again next pass
    metrics.coverage_missing.set(len(result.uncovered))
    if sink is not None:
        await publish_coverage(result, sink)
    if result.uncovered:
        log.warning("coverage.missing", sources=result.uncovered[:20], count=len(result.uncovered))
    if result.newly_stopped:
        log.warning("coverage.backups_stopped", sources=result.newly_stopped[:20], count=len(result.newly_stopped))


async def publish_coverage(result: CoveragePass, sink: JsonSink) -> None:
    """The pass as EMF lines: the deployment's totals (the alarm's metric), then one line per selection."""
    stamp = int(time.time() * 1000)
    totals = {
        "UncoveredSources": len(result.uncovered),
        "SelectedSources": sum(count.selected for count in result.by_selection.values()),
        "BackupsStoppedSources": len(result.stopped),
    }
    await sink.put(coverage_document(totals, None, stamp))
    for name, count in result.by_selection.items():
        values = {"UncoveredSources": count.uncovered, "SelectedSources": count.selected}
        await sink.put(coverage_document({**values, "BackupsStoppedSources": count.stopped}, name, stamp))


async def queue_gauges(queues: Mapping[str, QueuePort], metrics: Metrics, log: Any) -> None:
    for name, queue in queues.items():
        try:
            visible, in_flight = await queue.depth()
        except Exception as exc:  # noqa: BLE001 - a gauge can wait for the next round
            log.warning("queue.depth_failed", error=type(exc).__name__, detail=str(exc)[:200])
            continue
        metrics.queue_messages.labels(name, "visible").set(visible)
        metrics.queue_messages.labels(name, "in_flight").set(in_flight)


async def seal_evidence(evidence: Evidence, log: Any) -> None:
    """Signs each finished day's manifest that has none; any worker may, it is idempotent."""
    for outcome in await evidence.seal_due(datetime.now(UTC)):
        if outcome.written:
            log.info("evidence.sealed", day=str(outcome.day), records=outcome.records)
