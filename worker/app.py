"""Running the worker until SIGTERM: the consumers, the background jobs and the HTTP probes over the services
`worker.wiring` builds."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry

import worker
from worker.adapters.dead_letters import DeadLetterQueue
from worker.adapters.sqs import Queue
from worker.background import periodic, queue_gauges, reconcile_incrementally, seal_evidence, sweep_leftovers
from worker.coverage import IncrementalReconciler
from worker.fleet_wiring import protection_jobs
from worker.http import build_app, start_server
from worker.intake import HAND_OVER_SECONDS, Consumer, Handler, Timing
from worker.policy import Policy
from worker.renewals import renew_leases
from worker.rescue import RESCUE_INTERVAL_SECONDS, Source, rescue_pass
from worker.restore_testing import RestoreTests
from worker.settings import Settings
from worker.slots import Holdings
from worker.wiring import Services, build_flow, open_services

EVENTS_IN_FLIGHT = 50
# Shutdown after the drain: hand-overs, then background jobs, then the runner lease; the sum is the grace a
# deployment must give beyond BV_DRAIN_SECONDS (ECS stopTimeout 120 s, so BV_DRAIN_SECONDS <= 100).
BACKGROUND_STOP_SECONDS = 3
RUNNER_RELEASE_SECONDS = 5
REDRIVE_READ_SECONDS = 10
SHUTDOWN_GRACE_SECONDS = HAND_OVER_SECONDS + BACKGROUND_STOP_SECONDS + RUNNER_RELEASE_SECONDS + 2


def in_flight_cap(max_restores: int) -> int:
    """Work-queue messages held at once: every restore slot, plus headroom so that a freed slot is taken at once
    and duplicates or (without an events queue) restore events do not each cost a slot."""
    return max_restores + max(2, max_restores // 10)


async def run_worker(
    settings: Settings,
    policy: Policy,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
    registry: CollectorRegistry | None = None,
) -> None:
    """The long-running worker: consumers, status sweep, heartbeats, sweeper, queue gauges, HTTP probes."""
    stop = stop or asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
    async with open_services(settings, policy, registry) as services:
        holdings = Holdings()
        flow = build_flow(services, holdings)
        restore_tests = RestoreTests(flow, services.backup, services.backup)
        handler = Handler(flow, services.watcher, services.log, restore_tests)
        timing = Timing(settings.visibility_seconds, settings.drain_seconds, settings.lease_seconds)
        cap = in_flight_cap(settings.max_concurrent_restores)
        notes, metrics, log = services.failures, services.metrics, services.log
        work = await _source(services.queue, log)
        consumers = [Consumer(services.queue, handler.handle, cap, timing, metrics, log, notes, work.max_receive_count)]
        sources = [work]
        if settings.events_queue_url:
            # Handled in milliseconds and never holding a restore slot: a fixed cap is plenty.
            events = await _source(services.queue.sibling(settings.events_queue_url), log)
            consumers.append(
                Consumer(
                    events.queue,
                    handler.handle,
                    EVENTS_IN_FLIGHT,
                    timing,
                    metrics,
                    log,
                    notes,
                    events.max_receive_count,
                )
            )
            sources.append(events)
        runner, port = await start_server(
            build_app(services.metrics.registry, lambda: _alive(consumers[0]), lambda: _ready(services)),
            settings.metrics_host,
            settings.metrics_port,
        )
        services.log.info("worker.started", metrics_port=port, version=worker.__version__, queue=settings.queue_url)
        jobs = [*_background_jobs(services, consumers, holdings), _restore_test_sweep(services, restore_tests)]
        if settings.dlq_url:
            jobs.append(_rescue(services, settings.dlq_url, sources))
        background = [asyncio.create_task(job) for job in jobs]
        try:
            # A TaskGroup: should one receive loop fail, the other is cancelled and the worker exits.
            async with asyncio.TaskGroup() as group:
                for each in consumers:
                    group.create_task(each.run(stop))
        finally:
            for task in background:
                task.cancel()
            await asyncio.wait(background, timeout=BACKGROUND_STOP_SECONDS)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(services.runner.release(), RUNNER_RELEASE_SECONDS)
            await runner.cleanup()
            services.log.info("worker.stopped")


def _background_jobs(
    services: Services, consumers: list[Consumer], holdings: Holdings
) -> list[Coroutine[Any, Any, None]]:
    settings, metrics, log = services.settings, services.metrics, services.log
    heartbeat = consumers[0].heartbeat_interval
    queues = {"main": services.queue}
    for name, url in (("events", settings.events_queue_url), ("dlq", settings.dlq_url)):
        if url:
            queues[name] = services.queue.sibling(url)
    ttl = timedelta(seconds=settings.resource_ttl_seconds)
    slo = settings.coverage_slo_hours * 3600
    lease_renewal = max(heartbeat, settings.lease_seconds / 3)
    runner = services.runner
    coverage = services.coverage
    reconciler = IncrementalReconciler(services.policy, services.backup, coverage, slo, store=coverage)
    return [
        *protection_jobs(settings, holdings, log),
        periodic(services.watcher.sweep_interval, services.watcher.sweep_once, log, "sweep.failed"),
        *(periodic(heartbeat, each.extend_visibility, log, "heartbeat.failed") for each in consumers),
        periodic(
            lease_renewal,
            lambda: renew_leases(holdings, services.lease_ledger, log),
            log,
            "lease.renew_failed",
        ),
        periodic(lease_renewal, services.fleet_slots.renew, log, "fleet.renew_failed"),
        # The sweeper and the reconciler: one worker of the fleet at a time, the runner-lease holder.
        periodic(settings.runner_lease_seconds / 3, runner.keep, log, "runner.lease_failed", at_start=True),
        periodic(
            settings.sweeper_interval_seconds,
            runner.gated("sweeper", lambda: sweep_leftovers(services.kinds, ttl, metrics)),
            log,
            "sweeper.failed",
        ),
        periodic(30, lambda: queue_gauges(queues, metrics, log), log, "queue.depth_failed", at_start=True),
        periodic(
            settings.reconcile_interval_seconds,
            runner.gated("reconciler", lambda: reconcile_incrementally(reconciler, metrics, log, services.log_sink)),
            log,
            "reconcile.failed",
            at_start=True,
        ),
        periodic(  # on every worker, not runner-gated: sealing is idempotent; a no-op without BV_EVIDENCE_KMS_KEY_ID
            settings.seal_interval_seconds,
            lambda: seal_evidence(services.evidence, log),
            log,
            "evidence.seal_failed",
            at_start=True,
        ),
    ]


async def _restore_test_sweep(services: Services, restore_tests: RestoreTests) -> None:
    """Restore testing jobs whose events were lost; nothing to do (no listing) when no selection names a plan."""
    interval = services.settings.restore_testing_sweep_seconds
    await periodic(interval, restore_tests.sweep_once, services.log, "restore_test.sweep_failed", at_start=True)


async def _source(queue: Queue, log: Any) -> Source:
    """The queue's ARN (as the DLQ names it) and redrive policy, for refreshing and rescuing messages that lost
    receives to nobody (worker/refresh.py, worker/rescue.py). Unreadable: no refreshes or rescues for it."""
    try:
        arn, max_receive_count = await asyncio.wait_for(queue.redrive(), REDRIVE_READ_SECONDS)
        return Source(queue, max_receive_count, arn)
    except Exception as exc:  # noqa: BLE001 - the worker runs without refreshes rather than not at all
        log.warning("queue.redrive_policy_unknown", queue=queue.url, error=type(exc).__name__)
        return Source(queue, None, None)


async def _rescue(services: Services, dlq_url: str, sources: list[Source]) -> None:
    """The rescue pass on the runner-lease holder (one worker of the fleet)."""
    dlq = DeadLetterQueue(services.queue.client, dlq_url)
    by_arn = {source.arn: source for source in sources if source.arn}
    job = services.runner.gated(
        "rescue",
        lambda: rescue_pass(dlq, services.failures, by_arn, sources[0], services.metrics, services.log),
    )
    await periodic(RESCUE_INTERVAL_SECONDS, job, services.log, "dlq.rescue_failed")


def _alive(consumer: Consumer) -> bool:
    # The receive loop comes round at least once per long poll while it has capacity.
    return len(consumer.in_flight) >= consumer.max_in_flight or time.monotonic() - consumer.last_loop_at < 90


async def _ready(services: Services) -> None:
    await services.queue.depth()
    await services.ledger.ping()
