"""Building the worker from settings and running it until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry

import worker
from worker.adapters.aws import open_clients
from worker.adapters.backup import Backup, RestoreJob
from worker.adapters.ledger import Ledger
from worker.adapters.rds import Rds
from worker.adapters.results import LogSink, ResultStore
from worker.adapters.sqs import Queue
from worker.consumer import Consumer
from worker.http import build_app, start_server
from worker.log import get_logger
from worker.metrics import Metrics
from worker.pipeline import Pipeline
from worker.policy import Policy
from worker.reconciler import uncovered_sources
from worker.reporting import Reporter
from worker.runtime import Runtime
from worker.settings import Settings
from worker.stages.wait import JobStatus, RestoreWatcher
from worker.sweeper import sweep


def _job_status(job: RestoreJob) -> JobStatus:
    return JobStatus(
        job.job_id, job.status, job.created_resource_arn, job.status_message, job.created_at, job.completed_at
    )


def worker_identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@contextlib.asynccontextmanager
async def build_runtime(
    settings: Settings, policy: Policy, registry: CollectorRegistry | None = None
) -> AsyncIterator[Runtime]:
    metrics = Metrics(registry or CollectorRegistry())
    metrics.build.info({"version": worker.__version__})
    log = get_logger("worker")
    pool = min(max(20, settings.max_concurrent_restores // 4), 200)
    async with open_clients(metrics, max_pool=pool, region=settings.aws_region) as clients:
        backup = Backup(clients.backup)

        async def list_since(moment: Any) -> list[JobStatus]:
            return [_job_status(job) for job in await backup.list_restore_jobs(moment)]

        async def list_completed_since(moment: Any) -> list[JobStatus]:
            return [_job_status(job) for job in await backup.list_restore_jobs(completed_after=moment)]

        async def describe(job_id: str) -> JobStatus:
            return _job_status(await backup.describe_restore_job(job_id))

        identity = worker_identity()
        store = ResultStore(clients.s3, settings.results_bucket)
        sink = (
            LogSink(
                clients.logs,
                settings.log_group,
                identity,
                on_error=lambda exc: log.warning("report.logs_failed", error=type(exc).__name__),
            )
            if settings.log_group
            else None
        )
        runtime = Runtime(
            settings=settings,
            policy=policy,
            metrics=metrics,
            log=log,
            queue=Queue(clients.sqs, settings.queue_url),
            ledger=Ledger(
                clients.dynamodb,
                settings.ledger_table,
                identity,
                settings.lease_seconds,
                settings.record_ttl_days,
            ),
            backup=backup,
            rds=Rds(clients.rds, clients.ec2),
            store=store,
            sink=sink,
            watcher=RestoreWatcher(
                list_since,
                describe,
                settings.sweep_interval_seconds,
                on_detect=lambda source: metrics.restore_detections.labels(source).inc(),
                list_completed_since=list_completed_since,
            ),
            reporter=Reporter(store, sink, backup, metrics, log),
            restore_slots=asyncio.Semaphore(settings.max_concurrent_restores),
        )
        try:
            yield runtime
        finally:
            if sink is not None:
                await sink.close()  # the buffered log lines, before the clients close


async def run_worker(
    settings: Settings,
    policy: Policy,
    stop: asyncio.Event | None = None,
    *,
    handle_signals: bool = True,
    registry: CollectorRegistry | None = None,
) -> None:
    """The long-running worker: consumer, status sweep, heartbeats, sweeper, queue gauges, HTTP probes."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
    async with build_runtime(settings, policy, registry) as rt:
        pipeline = Pipeline(rt)
        consumer = Consumer(rt, pipeline, max_in_flight=in_flight_cap(settings.max_concurrent_restores))
        consumers = [consumer]
        if settings.events_queue_url:
            # Handled in milliseconds and never holding a restore slot: a fixed cap is plenty.
            events = rt.queue.sibling(settings.events_queue_url)
            consumers.append(Consumer(rt, pipeline, max_in_flight=EVENTS_IN_FLIGHT, queue=events))
        runner, port = await start_server(
            build_app(rt.metrics.registry, lambda: _alive(consumer), lambda: _ready(rt)),
            settings.metrics_host,
            settings.metrics_port,
        )
        rt.log.info("worker.started", metrics_port=port, version=worker.__version__, queue=settings.queue_url)
        background = [
            asyncio.create_task(rt.watcher.run(lambda exc: _log_error(rt, "sweep.failed", exc))),
            asyncio.create_task(consumer.heartbeat()),
            *(asyncio.create_task(other.heartbeat(renew_leases=False)) for other in consumers[1:]),
            asyncio.create_task(_periodic_sweeper(rt)),
            asyncio.create_task(_queue_gauges(rt)),
            asyncio.create_task(_reconcile(rt)),
        ]
        try:
            # A TaskGroup: should one receive loop fail, the other is cancelled and the worker exits.
            async with asyncio.TaskGroup() as group:
                for each in consumers:
                    group.create_task(each.run(stop))
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await runner.cleanup()
            rt.log.info("worker.stopped")


EVENTS_IN_FLIGHT = 50


def in_flight_cap(max_restores: int) -> int:
    """Work-queue messages held at once: every restore slot, plus headroom so that a freed slot is taken at once
    and duplicates or (without an events queue) restore events do not each cost a slot."""
    return max_restores + max(2, max_restores // 10)


def _alive(consumer: Consumer) -> bool:
    # The receive loop comes round at least once per long poll while it has capacity.
    return consumer.in_flight.__len__() >= consumer.max_in_flight or time.monotonic() - consumer.last_loop_at < 90


async def _ready(rt: Runtime) -> None:
    await rt.queue.depth()
    await rt.ledger.ping()


def _log_error(rt: Runtime, event: str, exc: BaseException) -> None:
    rt.log.warning(event, error=type(exc).__name__, detail=str(exc)[:200])


async def _periodic_sweeper(rt: Runtime) -> None:
    while True:
        await asyncio.sleep(rt.settings.sweeper_interval_seconds)
        try:
            await sweep(
                rt.rds, rt.ledger, rt.backup, rt.metrics, timedelta(seconds=rt.settings.resource_ttl_seconds), rt.log
            )
        except Exception as exc:  # noqa: BLE001 - next period tries again
            _log_error(rt, "sweeper.failed", exc)


async def _reconcile(rt: Runtime) -> None:
    slo = rt.settings.coverage_slo_hours * 3600
    while True:
        try:
            missing = await uncovered_sources(rt.policy, rt.backup, rt.ledger, slo)
        except Exception as exc:  # noqa: BLE001 - the gauge keeps its last value until the next pass
            _log_error(rt, "reconcile.failed", exc)
        else:
            rt.metrics.coverage_missing.set(len(missing))
            if missing:
                rt.log.warning("coverage.missing", sources=missing[:20], count=len(missing))
        await asyncio.sleep(rt.settings.reconcile_interval_seconds)


async def _queue_gauges(rt: Runtime) -> None:
    queues = {"main": rt.queue}
    if rt.settings.events_queue_url:
        queues["events"] = rt.queue.sibling(rt.settings.events_queue_url)
    if rt.settings.dlq_url:
        queues["dlq"] = rt.queue.sibling(rt.settings.dlq_url)
    while True:
        for name, queue in queues.items():
            try:
                visible, in_flight = await queue.depth()
            except Exception as exc:  # noqa: BLE001 - a gauge can wait for the next round
                _log_error(rt, "queue.depth_failed", exc)
                continue
            rt.metrics.queue_messages.labels(name, "visible").set(visible)
            rt.metrics.queue_messages.labels(name, "in_flight").set(in_flight)
        await asyncio.sleep(30)
