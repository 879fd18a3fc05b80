"""Building the worker from settings (every component gets exactly the ports it uses) and running it until
SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

import worker
from worker.adapters.aws import open_clients
from worker.adapters.backup import Backup
from worker.adapters.database import DatabaseOpener
from worker.adapters.dead_letters import FailureNotes
from worker.adapters.dynamodb_tables import DynamoDbTables
from worker.adapters.ledger import Ledger
from worker.adapters.rds import Rds
from worker.adapters.rds_clusters import RdsClusters
from worker.adapters.results import LogSink, ResultStore
from worker.adapters.sqs import Queue
from worker.background import periodic, queue_gauges, reconcile_incrementally, seal_evidence, sweep_leftovers
from worker.coverage import IncrementalReconciler
from worker.evidence.service import Evidence
from worker.evidence_ops import build_chain, build_evidence
from worker.fleet import FleetSlots, Runner
from worker.fleet_wiring import fleet_slots, periodic_runner, protection_jobs
from worker.flow import Flow
from worker.http import build_app, start_server
from worker.intake import HAND_OVER_SECONDS, Consumer, Handler, Timing, renew_leases
from worker.kinds import Kinds
from worker.kinds.aurora import AuroraCluster
from worker.kinds.dynamodb import DynamoDbTable
from worker.kinds.rds_instance import RdsInstance
from worker.kinds.rds_metadata import Network
from worker.log import get_logger
from worker.metrics import Metrics
from worker.model import RestoreJob
from worker.policy import Policy
from worker.reporting import Reporter
from worker.restore_testing import RestoreTests
from worker.settings import Settings
from worker.slots import Holdings, RestoreSlots
from worker.watcher import RestoreWatcher

EVENTS_IN_FLIGHT = 50
# Shutdown after the drain: hand-overs, then background jobs, then the runner lease; the sum is the grace a
# deployment must give beyond BV_DRAIN_SECONDS (ECS stopTimeout 120 s, so BV_DRAIN_SECONDS <= 100).
BACKGROUND_STOP_SECONDS = 3
RUNNER_RELEASE_SECONDS = 5
SHUTDOWN_GRACE_SECONDS = HAND_OVER_SECONDS + BACKGROUND_STOP_SECONDS + RUNNER_RELEASE_SECONDS + 2


def worker_identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Services:
    """The adapters and shared parts of one worker process."""

    settings: Settings
    policy: Policy
    metrics: Metrics
    log: Any
    queue: Queue
    ledger: Ledger
    backup: Backup
    watcher: RestoreWatcher
    reporter: Reporter
    kinds: Kinds
    evidence: Evidence  # manifests and verification (docs/evidence.md)
    failures: FailureNotes  # why a message failed, for `backup-validator dlq`
    store: ResultStore  # the records, read back by `validate --wait`
    fleet_slots: FleetSlots
    runner: Runner
    log_sink: LogSink | None  # the records' log group: records and the coverage lines (EMF)


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, policy: Policy, registry: CollectorRegistry | None = None
) -> AsyncIterator[Services]:
    metrics = Metrics(registry or CollectorRegistry())
    metrics.build.info({"version": worker.__version__})
    log = get_logger("worker")
    pool = min(max(20, settings.max_concurrent_restores // 4), 200)
    async with open_clients(metrics, max_pool=pool, region=settings.aws_region) as clients:
        backup = Backup(clients.backup)
        identity = worker_identity()
        ledger = Ledger(
            clients.dynamodb, settings.ledger_table, identity, settings.lease_seconds, settings.record_ttl_days
        )
        store = ResultStore(clients.s3, settings.results_bucket)
        sink = _log_sink(clients.logs, settings, identity, log)
        rds_port = Rds(clients.rds, clients.ec2)
        opener = DatabaseOpener(settings.tls_required, str(settings.db_ca_file) if settings.db_ca_file else None)
        network = Network(settings.subnet_group, settings.security_groups)
        attempts = settings.db_connect_attempts
        rds = RdsInstance(rds_port, ledger, backup, opener, network=network, connect_attempts=attempts, log=log)
        aurora = AuroraCluster(
            RdsClusters(clients.rds),
            rds_port,
            ledger,
            backup,
            opener,
            network=network,
            connect_attempts=attempts,
            log=log,
        )
        services = Services(
            settings=settings,
            policy=policy,
            metrics=metrics,
            log=log,
            queue=Queue(clients.sqs, settings.queue_url),
            ledger=ledger,
            backup=backup,
            watcher=_watcher(backup, settings, metrics),
            reporter=Reporter(store, sink, backup, metrics, log, build_chain(clients, settings)),
            kinds=Kinds((rds, aurora, DynamoDbTable(DynamoDbTables(clients.dynamodb), ledger, backup, log=log))),
            evidence=build_evidence(clients, settings),
            failures=FailureNotes(clients.dynamodb, settings.ledger_table),
            store=store,
            fleet_slots=await fleet_slots(settings, clients.dynamodb, rds_port, identity, log),
            runner=periodic_runner(settings, clients.dynamodb, identity, log),
            log_sink=sink,
        )
        try:
            yield services
        finally:
            if sink is not None:
                await sink.close()  # the buffered log lines, before the clients close


def _log_sink(client: Any, settings: Settings, identity: str, log: Any) -> LogSink | None:
    if not settings.log_group:
        return None
    on_error = lambda exc: log.warning("report.logs_failed", error=type(exc).__name__)  # noqa: E731
    return LogSink(client, settings.log_group, identity, on_error=on_error)


def _watcher(backup: Backup, settings: Settings, metrics: Metrics) -> RestoreWatcher:
    async def list_since(moment: datetime) -> list[RestoreJob]:
        return await backup.list_restore_jobs(moment)

    async def list_completed_since(moment: datetime) -> list[RestoreJob]:
        return await backup.list_restore_jobs(completed_after=moment)

    return RestoreWatcher(
        list_since,
        backup.describe_restore_job,
        settings.sweep_interval_seconds,
        on_detect=lambda source: metrics.restore_detections.labels(source).inc(),
        list_completed_since=list_completed_since,
    )


def build_flow(services: Services, holdings: Holdings) -> Flow:
    settings = services.settings
    return Flow(
        policy=services.policy,
        recovery_points=services.backup,
        restores=services.backup,
        watcher=services.watcher,
        ledger=services.ledger,
        kinds=services.kinds,
        publisher=services.reporter,
        slots=RestoreSlots(settings.max_concurrent_restores, settings.max_restores_per_account, services.fleet_slots),
        holdings=holdings,
        metrics=services.metrics,
        log=services.log,
        results_prefix=settings.results_prefix,
        restore_role_arn=settings.restore_role_arn,
        region=settings.aws_region,
    )


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
        notes = services.failures
        consumers = [Consumer(services.queue, handler.handle, cap, timing, services.metrics, services.log, notes)]
        if settings.events_queue_url:
            # Handled in milliseconds and never holding a restore slot: a fixed cap is plenty.
            events = services.queue.sibling(settings.events_queue_url)
            consumers.append(
                Consumer(events, handler.handle, EVENTS_IN_FLIGHT, timing, services.metrics, services.log, notes)
            )
        runner, port = await start_server(
            build_app(services.metrics.registry, lambda: _alive(consumers[0]), lambda: _ready(services)),
            settings.metrics_host,
            settings.metrics_port,
        )
        services.log.info("worker.started", metrics_port=port, version=worker.__version__, queue=settings.queue_url)
        jobs = [*_background_jobs(services, consumers, holdings), _restore_test_sweep(services, restore_tests)]
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
    reconciler = IncrementalReconciler(services.policy, services.backup, services.ledger, slo)
    return [
        *protection_jobs(settings, holdings, log),
        periodic(services.watcher.sweep_interval, services.watcher.sweep_once, log, "sweep.failed"),
        *(periodic(heartbeat, each.extend_visibility, log, "heartbeat.failed") for each in consumers),
        periodic(
            lease_renewal,
            lambda: renew_leases(holdings, services.ledger, log),
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


def _alive(consumer: Consumer) -> bool:
    # The receive loop comes round at least once per long poll while it has capacity.
    return len(consumer.in_flight) >= consumer.max_in_flight or time.monotonic() - consumer.last_loop_at < 90


async def _ready(services: Services) -> None:
    await services.queue.depth()
    await services.ledger.ping()
