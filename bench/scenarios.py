"""The worker scenarios: throughput (all validations finish) and waiting at scale (measured mid-wait)."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psutil

from bench.figures import Timing, scenario_figures, waiting_figures
from bench.probe import CpuSplit, Sampler, read_log, start_worker, stop_worker, timestamp
from bench.stand import Stand
from bench.supply import Supply, enqueue

# Requests the stand-ins count that are not the worker's: the emulator's events and the bench's own feed.
NOT_THE_WORKER = ("events:", "sqs:SendMessageBatch")


@dataclass(frozen=True)
class Knobs:
    restore_seconds: str
    event_delay_seconds: str = "0"
    lazy_restore: bool = False


def worker_calls(stand: Stand, emulator_before: Mapping[str, int]) -> dict[str, int]:
    """Calls since the last reset (moto) or since `emulator_before` (emulator), the worker's only."""
    calls: Counter[str] = Counter({k: v for k, v in stand.moto_counts().items() if not k.startswith(NOT_THE_WORKER)})
    now = stand.emulator_stats()["operations"]
    calls.update({k: v - emulator_before.get(k, 0) for k, v in now.items() if v - emulator_before.get(k, 0) > 0})
    return dict(calls)


def configure(stand: Stand, knobs: Knobs) -> None:
    stand.configure_emulator(
        restore_seconds=knobs.restore_seconds,
        event_delay_seconds=knobs.event_delay_seconds,
        lazy_restore=knobs.lazy_restore,
        password_apply_seconds=0,
        instance_available_seconds=0,
        # The benchmark measures the worker, not the account's DB instance quota (AWS's default is 40).
        max_db_instances=1_000_000,
    )


def records(bucket: str) -> dict[str, dict[str, Any]]:
    s3 = boto3.client("s3")
    found: dict[str, dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            record = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            found[record["recovery_point_arn"]] = record
    return found


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def timings(log: list[dict[str, Any]], by_arn: Mapping[str, dict[str, Any]]) -> tuple[list[Timing], Counter[str]]:
    finished: dict[str, float] = {}
    detected: dict[str, float] = {}
    for entry in log:
        arn = entry.get("recovery_point_arn")
        if entry.get("event") == "validation.finished" and arn:
            finished[arn] = timestamp(entry)
        elif entry.get("event") == "restore.finished" and arn:
            detected.setdefault(arn, timestamp(entry))
    found: list[Timing] = []
    statuses: Counter[str] = Counter()
    for arn, record in by_arn.items():
        statuses[record["status"]] += 1
        if arn not in finished or not record.get("restore_start_time") or not record.get("restore_end_time"):
            continue
        checks = sum(float(c.get("duration_seconds") or 0) for c in record.get("checks", []))
        found.append(
            Timing(
                restore_started=_epoch(record["restore_start_time"]),
                restore_ended=_epoch(record["restore_end_time"]),
                finished=finished[arn],
                check_s=checks,
                detected=detected.get(arn),
            )
        )
    return found, statuses


# A recovery point is done with when the worker logs one of these for it.
DONE_EVENTS = frozenset(
    {"validation.finished", "recovery_point.sampled_out", "recovery_point.unselected", "recovery_point.not_found"}
)


def finished_count(log_path: Any) -> int:
    return sum(1 for e in read_log(log_path) if e.get("event") in DONE_EVENTS)


def detections(log: list[dict[str, Any]]) -> dict[str, float]:
    """How the worker learnt that restores finished (event, sweep, describe): its Prometheus counter."""
    port = next((e.get("metrics_port") for e in log if e.get("event") == "worker.started"), None)
    if port is None:
        return {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("backup_validation_restore_detections_total{"):
            source = line.split('source="', 1)[1].split('"', 1)[0]
            found[source] = float(line.rsplit(" ", 1)[1])
    return found


def throughput(
    stand: Stand,
    supply: Supply,
    name: str,
    knobs: Knobs,
    concurrency: int,
    sweep_interval: float,
    timeout: float,
    baseline_cpu_ms: float | None = None,
) -> dict[str, Any]:
    """Every recovery point of `supply` through the worker; figures once all are validated."""
    configure(stand, knobs)
    process, log_path = start_worker(
        stand, supply, name, max_concurrent_restores=concurrency, sweep_interval_seconds=sweep_interval
    )
    sampler = Sampler(process.pid)
    split = CpuSplit({"worker": process.pid, **stand.pids()})
    try:
        sampler.start()
        time.sleep(1.0)
        stand.moto_counts(reset=True)
        emulator_before = dict(stand.emulator_stats()["operations"])
        cpu_before = sampler.read().cpu_s
        split.start()
        t0 = time.time()
        enqueue(supply.resources.queue_url, supply.central_vault, supply.recovery_points)
        deadline = time.monotonic() + timeout
        total = len(supply.recovery_points)
        while finished_count(log_path) < total and time.monotonic() < deadline:
            time.sleep(0.5)
        cpu_s = sampler.read().cpu_s - cpu_before
        cpu_split = split.stop()
        calls = worker_calls(stand, emulator_before)
        peak = sampler.peak_rss(t0)
        detected_by = detections(read_log(log_path))
    finally:
        stop_worker(process)
        sampler.stop()
    found, statuses = timings(read_log(log_path), records(supply.resources.bucket))
    figures = scenario_figures(
        found,
        t0=t0,
        concurrency=concurrency,
        cpu_s=cpu_s,
        peak_rss_bytes=peak,
        calls=calls,
        baseline_cpu_ms=baseline_cpu_ms,
        machine_cpu_s=cpu_split["machine"] - cpu_split["other"],
        cores=psutil.cpu_count() or 1,
        nominal_restore_s=sum(float(v) for v in knobs.restore_seconds.split(":"))
        / len(knobs.restore_seconds.split(":")),
    )
    figures["statuses"] = dict(statuses)
    figures["cpu_s_by_process"] = cpu_split
    figures["detected_by"] = detected_by
    figures["knobs"] = {**knobs.__dict__, "sweep_interval_s": sweep_interval}
    return figures


class EventCounter:
    """Counts one event in a growing JSON log, reading only what was added since the last call (re-parsing
    the whole log every second costs the bench seconds of CPU once it holds hundreds of thousands of lines)."""

    def __init__(self, path: Path, event: str) -> None:
        self.path, self.needle, self.offset, self.count = path, f'"event": "{event}"', 0, 0

    def __call__(self) -> int:
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        complete = chunk.rfind(b"\n") + 1  # a line still being written is counted next time
        self.offset += complete
        self.count += sum(1 for line in chunk[:complete].decode(errors="replace").splitlines() if self.needle in line)
        return self.count


def waiting(
    stand: Stand,
    supply: Supply,
    knobs: Knobs,
    sweep_interval: float,
    wait_s: float,
    fill_timeout: float,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Start every restore of `supply` (all long), then measure memory, CPU and API calls while they wait.
    `settings`: more of the worker's settings (e.g. `lease_seconds`), as for `start_worker`."""
    configure(stand, knobs)
    count = len(supply.recovery_points)
    process, log_path = start_worker(
        stand,
        supply,
        "worker-waiting",
        max_concurrent_restores=count,
        sweep_interval_seconds=sweep_interval,
        **(settings or {}),
    )
    started_count = EventCounter(log_path, "restore.started")
    # (seconds since t0, restores started, the machine's 1-minute load average), every 10 s of the fill
    progress: list[tuple[float, int, float]] = []
    sampler = Sampler(process.pid)
    try:
        sampler.start()
        time.sleep(1.0)
        idle_rss = sampler.read().rss_bytes
        stand.moto_counts(reset=True)
        emulator_before = dict(stand.emulator_stats()["operations"])
        cpu_before = sampler.read().cpu_s
        t0 = time.time()
        enqueue(supply.resources.queue_url, supply.central_vault, supply.recovery_points)
        deadline = time.monotonic() + fill_timeout
        started, progressed = 0, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - progressed < 30:
            now_started = started_count()
            if not progress or time.time() - t0 >= progress[-1][0] + 10:
                progress.append((round(time.time() - t0, 1), now_started, round(os.getloadavg()[0], 2)))
            if now_started >= count:
                break
            if now_started > started:
                started, progressed = now_started, time.monotonic()
            time.sleep(1.0)
        fill_s = time.time() - t0
        fill_cpu = sampler.read().cpu_s - cpu_before
        fill_calls = worker_calls(stand, emulator_before)
        stand.moto_counts(reset=True)
        emulator_mid = dict(stand.emulator_stats()["operations"])
        wait_start, cpu_mid = time.time(), sampler.read().cpu_s
        time.sleep(wait_s)
        wait_cpu = sampler.read().cpu_s - cpu_mid
        wait_calls = worker_calls(stand, emulator_mid)
        measured = time.time() - wait_start
        peak = sampler.peak_rss(t0)
        in_flight = started_count()
    finally:
        stop_worker(process, kill=True)
        sampler.stop()
    figures = waiting_figures(
        in_flight=in_flight,
        fill_s=fill_s,
        fill_cpu_s=fill_cpu,
        wait_s=measured,
        wait_cpu_s=wait_cpu,
        idle_rss_bytes=idle_rss,
        peak_rss_bytes=peak,
        fill_calls=fill_calls,
        wait_calls=wait_calls,
    )
    figures["knobs"] = {**knobs.__dict__, "sweep_interval_s": sweep_interval, **(settings or {})}
    figures["fill_progress"] = progress
    return figures
