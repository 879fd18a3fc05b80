"""Building the worker's services from settings: the adapters, and every component with exactly the ports it
uses (`open_services`), and the flow over them (`build_flow`). `worker.app` runs them."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry

import worker
from worker.adapters.aws import open_clients
from worker.adapters.backup import Backup
from worker.adapters.coverage_store import CoverageStore
from worker.adapters.database import DatabaseOpener
from worker.adapters.dead_letters import FailureNotes
from worker.adapters.dynamodb_tables import DynamoDbTables
from worker.adapters.ledger import Ledger
from worker.adapters.rds import Rds
from worker.adapters.rds_clusters import RdsClusters
from worker.adapters.results import LogSink, ResultStore
from worker.adapters.sqs import Queue
from worker.evidence.service import Evidence
from worker.evidence_ops import build_chain, build_evidence
from worker.fleet import FleetSlots, Runner
from worker.fleet_wiring import fleet_slots, periodic_runner
from worker.flow import Flow
from worker.kinds import Kinds
from worker.kinds.aurora import AuroraCluster
from worker.kinds.dynamodb import DynamoDbTable
from worker.kinds.rds_instance import RdsInstance
from worker.kinds.rds_metadata import Network
from worker.log import get_logger
from worker.metrics import Metrics
from worker.model import RestoreJob
from worker.policy import Policy
from worker.renewals import RENEWALS_AT_ONCE
from worker.reporting import Reporter
from worker.settings import Settings
from worker.slots import Holdings, RestoreSlots
from worker.watcher import RestoreWatcher


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
    lease_ledger: Ledger  # the same ledger on the lease connections (`AwsClients.leases`): renewals only
    coverage: CoverageStore  # the reconciler's reads of the ledger and its state between runners
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
    lease_pool = RENEWALS_AT_ONCE + 8  # the renewals, fleet slot renewals and the runner lease
    async with open_clients(metrics, max_pool=pool, lease_pool=lease_pool, region=settings.aws_region) as clients:
        backup = Backup(clients.backup)
        identity = worker_identity()
        ledger_table, lease_s, ttl_days = settings.ledger_table, settings.lease_seconds, settings.record_ttl_days
        ledger = Ledger(clients.dynamodb, ledger_table, identity, lease_s, ttl_days)
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
            lease_ledger=Ledger(clients.leases, ledger_table, identity, lease_s, ttl_days),
            coverage=CoverageStore(clients.dynamodb, settings.ledger_table),
            backup=backup,
            watcher=_watcher(backup, settings, metrics),
            reporter=Reporter(store, sink, backup, metrics, log, build_chain(clients, settings)),
            kinds=Kinds((rds, aurora, DynamoDbTable(DynamoDbTables(clients.dynamodb), ledger, backup, log=log))),
            evidence=build_evidence(clients, settings),
            failures=FailureNotes(clients.dynamodb, settings.ledger_table),
            store=store,
            fleet_slots=await fleet_slots(settings, clients.leases, rds_port, identity, log),
            runner=periodic_runner(settings, clients.leases, identity, log),
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
