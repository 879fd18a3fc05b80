"""The fleet scenarios (`python -m bench --fleet`): a fleet-wide restore cap shared by three worker processes,
the reconciler's calls per pass over a long retained history, and one worker with tens of thousands of
restores in flight. Recovery points are seeded in the emulator from one real backup (they share its snapshot),
so that a history of 100,000 takes seconds, not hours of copy jobs. See docs/performance.md."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from bench.fleet_figures import cap_figures, fleet_ratio, listing_calls, seed_calls, throughput_figures
from bench.probe import process_cpu, read_log, start_worker, stop_worker
from bench.scenarios import DONE_EVENTS, Knobs, configure, records, worker_calls
from bench.stand import REGION, Stand
from bench.supply import Supply, back_up, enqueue, supplies_of, wait_events_sent
from emulator.client import ControlClient
from emulator.traffic import Source, Traffic
from worker.adapters.aws import open_clients
from worker.adapters.backup import Backup
from worker.adapters.coverage_store import CoverageStore
from worker.coverage import IncrementalReconciler
from worker.metrics import Metrics
from worker.policy import load_policy

FLEET_SCENARIOS = ("fleet_cap", "reconcile", "inflight")
SEED_CHUNK = 20_000  # recovery points per seeding call


@dataclass(frozen=True)
class FleetScale:
    validations: int  # per run of fleet_cap (one worker, then three)
    cap: int  # BV_FLEET_MAX_RESTORES, and each worker's BV_MAX_CONCURRENT_RESTORES
    restore_seconds: str
    history: int  # recovery points retained, for the reconciler
    history_sources: int
    new_points: int
    inflight: int  # restores in flight in one worker
    wait_s: float


FLEET_FULL = FleetScale(240, 20, "4:6", 100_000, 1_000, 500, 10_000, 30)
FLEET_QUICK = FleetScale(60, 10, "2:4", 10_000, 100, 50, 1_000, 10)


@dataclass
class Template:
    """One real source and its backup: every seeded recovery point restores as this one does."""

    traffic: Traffic
    source: Source
    arn: str

    @property
    def account(self) -> str:
        return self.traffic.central_vault_arn.split(":")[4]


async def template(prefix: str) -> Template:
    traffic = Traffic(source_vault=f"{prefix}-prod", central_vault=f"{prefix}-central")
    await traffic.prepare_vaults()
    source = await traffic.create_source(f"{prefix}-pg-0", "postgres")
    await traffic.write_rows(source, 40, timedelta(minutes=30))
    arn = await back_up(traffic, source)
    await asyncio.to_thread(wait_events_sent)
    return Template(traffic, source, arn)


def seed(
    control: ControlClient,
    base: Template,
    vault: str,
    count: int,
    sources: int,
    source_prefix: str,
    span: tuple[datetime, datetime] | None = None,
) -> list[str]:
    """`count` recovery points of `sources` sources round robin, evenly over `span` (default: now)."""
    start, end = span or (datetime.now(UTC), datetime.now(UTC))
    arns: list[str] = []
    for size, first, last in seed_calls(count, sources, start, end, SEED_CHUNK):
        arns += control.seed_recovery_points(
            base.arn, vault, size, sources=min(sources, size), source_prefix=source_prefix,
            created_from=first.isoformat(), created_to=last.isoformat(),
        )  # fmt: skip
    return arns


async def seeded_supplies(stand: Stand, base: Template, workdir: Path, prefix: str, counts: list[int]) -> list[Supply]:
    """Recovery points in the central vault of sources `<prefix>-src-<n>` (the supplies' policy selects them)."""
    source_prefix = f"arn:aws:rds:{REGION}:{base.account}:db:{prefix}-src-"
    control = ControlClient(stand.emulator_url)
    total = sum(counts)
    arns = seed(control, base, base.traffic.central_vault, total, min(total, 1000), source_prefix)
    return await supplies_of(workdir, prefix, base.traffic, [base.source], arns, counts)


def _finished(logs: list[Path]) -> int:
    return sum(1 for log in logs for e in read_log(log) if e.get("event") in DONE_EVENTS)


def fleet_cap(stand: Stand, supply: Supply, workers: int, cap: int, knobs: Knobs, timeout: float) -> dict[str, Any]:
    """`workers` processes on one queue under BV_FLEET_MAX_RESTORES=cap; the emulator counts restores in flight
    at every job transition (the cap check) and the bench samples them (how fully the cap was used)."""
    configure(stand, knobs)
    control = ControlClient(stand.emulator_url)
    settings = {"max_concurrent_restores": cap, "fleet_max_restores": cap, "sweep_interval_seconds": 2}
    started = [start_worker(stand, supply, f"worker-fleet{workers}-{n}", **settings) for n in range(workers)]
    processes, logs = [p for p, _ in started], [log for _, log in started]
    samples: list[int] = []
    try:
        time.sleep(1.0)
        control.restores_in_flight(reset=True)
        stand.moto_counts(reset=True)
        emulator_before = dict(stand.emulator_stats()["operations"])
        cpu_before = sum(process_cpu(p.pid) for p in processes)
        t0 = time.time()
        enqueue(supply.resources.queue_url, supply.central_vault, supply.recovery_points)
        deadline, total = time.monotonic() + timeout, len(supply.recovery_points)
        while time.monotonic() < deadline:
            samples.append(control.restores_in_flight()["in_flight"])
            if len(samples) % 8 == 0 and _finished(logs) >= total:
                break
            time.sleep(0.25)
        wall = time.time() - t0
        peak = control.restores_in_flight()["peak"]
        cpu_s = sum(process_cpu(p.pid) for p in processes) - cpu_before
        calls = worker_calls(stand, emulator_before)
    finally:
        for process in processes:
            stop_worker(process)
    statuses: dict[str, int] = {}
    for record in records(supply.resources.bucket).values():
        statuses[record["status"]] = statuses.get(record["status"], 0) + 1
    events = [e.get("event") for log in logs for e in read_log(log)]
    done = sum(statuses.values())
    return {
        "workers": workers,
        **throughput_figures(done, wall),
        **cap_figures(samples, peak, cap),
        "statuses": statuses,
        "slot_waits": events.count("fleet.slot_waiting"),
        "slots_lost": events.count("fleet.slot_lost"),
        # how the slots were shared: validations finished by each worker (slots are not fair across workers)
        "per_worker": [_finished([log]) for log in logs],
        # the fleet counters' take is a consistent GetItem + TransactWriteItems, retried when another took first
        "dynamodb_per_validation": {
            op: round(calls.get(f"dynamodb:{op}", 0) / max(1, done), 2)
            for op in ("TransactWriteItems", "GetItem", "UpdateItem")
        },
        "workers_cpu_s": round(cpu_s, 1),
        "knobs": {**knobs.__dict__, "sweep_interval_s": 2},
    }


def fleet_comparison(one: dict[str, Any], three: dict[str, Any]) -> dict[str, Any]:
    return {"one_worker": one, "three_workers": three, "three_vs_one": fleet_ratio(one, three)}


async def reconcile(stand: Stand, base: Template, supply: Supply, scale: FleetScale) -> dict[str, Any]:
    """The worker's reconciler, in this process over the worker's own adapters, against `scale.history`
    recovery points retained (one a day per source, the newest an hour old), then `scale.new_points` new, then
    nothing new, then a second runner's first pass (a hand-over: the state read from the ledger table)."""
    control = ControlClient(stand.emulator_url)
    vault = f"{supply.prefix}-history"
    await asyncio.to_thread(base.traffic.backup.create_backup_vault, BackupVaultName=vault)
    sources = f"arn:aws:rds:{REGION}:{base.account}:db:{supply.prefix}-h-"
    now = datetime.now(UTC)
    span = timedelta(days=scale.history / scale.history_sources)
    seeded_at = time.monotonic()
    history = (now - span - timedelta(hours=1), now - timedelta(hours=1))
    await asyncio.to_thread(seed, control, base, vault, scale.history, scale.history_sources, sources, history)
    seed_s = time.monotonic() - seeded_at
    passes = []
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        store = CoverageStore(clients.dynamodb, supply.resources.ledger_table)
        policy = load_policy(supply.policy_file)

        def runner() -> IncrementalReconciler:  # a runner's reconciler: its state in memory and in the ledger
            return IncrementalReconciler(policy, Backup(clients.backup), store, 26 * 3600, store=store)

        reconciler = runner()
        vaults = await clients.backup.list_backup_vaults()
        sizes = [v["NumberOfRecoveryPoints"] for v in vaults["BackupVaultList"]]
        for name, new in (("first", 0), ("incremental", scale.new_points), ("nothing_new", 0), ("hand_over", 0)):
            if new:
                await asyncio.to_thread(seed, control, base, vault, new, new, sources)
            if name == "hand_over":
                reconciler = runner()  # another worker takes the runner lease: nothing in its memory
            passes.append(await _one_pass(stand, reconciler, name, new))
    passes[0]["listing_calls_expected"] = listing_calls(sizes)
    return {
        "history": scale.history,
        "history_sources": scale.history_sources,
        "vaults": len(sizes),
        "seed_s": round(seed_s, 1),
        "passes": passes,
    }


async def _one_pass(stand: Stand, reconciler: IncrementalReconciler, name: str, new: int) -> dict[str, Any]:
    await asyncio.to_thread(stand.moto_counts, True)
    before = dict((await asyncio.to_thread(stand.emulator_stats))["operations"])
    started = time.monotonic()
    result = await reconciler.run()
    duration = time.monotonic() - started
    calls = await asyncio.to_thread(worker_calls, stand, before)
    return {
        "pass": name,
        "new_points": new,
        "calls": calls,
        "calls_total": sum(calls.values()),
        "sources_known": len(reconciler.sources),
        "uncovered": len(result.uncovered),
        "resumed": result.resumed,
        "stopped": len(result.stopped),
        "duration_s": round(duration, 1),
    }
