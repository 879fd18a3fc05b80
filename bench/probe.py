"""The worker under test as a real `backup-validator run` process, and a sampler of its CPU and memory."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from bench.stand import Stand, free_port
from bench.supply import Supply


def worker_env(supply: Supply, **settings: Any) -> dict[str, str]:
    values: dict[str, Any] = {
        "QUEUE_URL": supply.resources.queue_url,
        "EVENTS_QUEUE_URL": supply.resources.events_queue_url,
        "DLQ_URL": supply.resources.dlq_url,
        "RESULTS_BUCKET": supply.resources.bucket,
        "LEDGER_TABLE": supply.resources.ledger_table,
        "LOG_GROUP": supply.resources.log_group,
        "POLICY_FILE": str(supply.policy_file),
        "RESTORE_ROLE_ARN": supply.restore_role_arn,
        "DB_TLS": "disable",
        "METRICS_HOST": "127.0.0.1",
        "METRICS_PORT": free_port(),
        "LOG_FORMAT": "json",
        "SWEEPER_INTERVAL_SECONDS": 3600,
        "RECONCILE_INTERVAL_SECONDS": 3600,
        "DRAIN_SECONDS": 2,
    }
    values.update({k.upper(): v for k, v in settings.items()})
    return {f"BV_{name}": str(value) for name, value in values.items() if value is not None}


@dataclass
class Sample:
    at: float
    cpu_s: float
    rss_bytes: int


@dataclass
class Sampler:
    """CPU (user + system) and RSS of one process, every `interval` seconds, in a thread."""

    pid: int
    interval: float = 0.25
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def read(self) -> Sample:
        process = psutil.Process(self.pid)
        with process.oneshot():
            times = process.cpu_times()
            return Sample(time.time(), times.user + times.system, process.memory_info().rss)

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.samples.append(self.read())
                except psutil.Error:
                    return

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def peak_rss(self, since: float = 0.0) -> int:
        return max((s.rss_bytes for s in self.samples if s.at >= since), default=0)


def process_cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


@dataclass
class CpuSplit:
    """Machine CPU in a window, split into the worker, the stand-in processes and the rest (PostgreSQL, bench)."""

    pids: dict[str, int]
    started: dict[str, float] = field(default_factory=dict)
    postgres_started: float = 0.0
    machine_started: float = 0.0

    @staticmethod
    def _postgres() -> float:
        """PostgreSQL's CPU: its live processes, plus what exited backends left in the postmaster's children."""
        total = 0.0
        for process in psutil.process_iter(["name", "cpu_times", "ppid"]):
            if process.info["name"] != "postgres" or process.info["cpu_times"] is None:
                continue
            times = process.info["cpu_times"]
            total += times.user + times.system
            if process.info["ppid"] == 1 or _parent_name(process) != "postgres":
                total += times.children_user + times.children_system
        return total

    @staticmethod
    def _machine() -> float:
        times = psutil.cpu_times()
        return float(times.user + times.system + getattr(times, "nice", 0.0) + getattr(times, "softirq", 0.0))

    def start(self) -> None:
        self.started = {name: process_cpu(pid) for name, pid in self.pids.items()}
        self.postgres_started = self._postgres()
        self.machine_started = self._machine()

    def stop(self) -> dict[str, float]:
        used = {name: round(process_cpu(pid) - self.started[name], 2) for name, pid in self.pids.items()}
        used["postgres"] = round(self._postgres() - self.postgres_started, 2)
        total = self._machine() - self.machine_started
        used["other"] = round(total - sum(used.values()), 2)
        used["machine"] = round(total, 2)
        return used


def _parent_name(process: psutil.Process) -> str:
    try:
        parent = process.parent()
        return parent.name() if parent is not None else ""
    except psutil.Error:
        return ""


def start_worker(stand: Stand, supply: Supply, name: str, **settings: Any) -> tuple[Any, Path]:
    env = {**stand.env(), **worker_env(supply, **settings)}
    argv = [sys.executable, "-m", "worker.cli", "run"]
    if os.environ.get("BENCH_WORKER_UVLOOP"):
        # An experiment: the same worker on uvloop's event loop.
        argv = [sys.executable, "-c", "import uvloop; uvloop.install(); from worker.cli import main; main(['run'])"]
    process, log = stand.spawn(name, argv, env)
    profile = os.environ.get("BENCH_PROFILE_DIR")
    if profile:
        # py-spy (pip install py-spy) samples the worker without slowing it; one flame graph per scenario.
        out = Path(profile) / f"{name}.txt"
        stand.spawn(
            f"py-spy-{name}",
            ["py-spy", "record", "-p", str(process.pid), "-o", str(out), "-r", "200", "-f", "raw", "--gil"],
            {},
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(e.get("event") == "worker.started" for e in read_log(log)):
            return process, log
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")


def read_log(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
    return entries


def timestamp(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(entry["timestamp"])).timestamp()


def stop_worker(process: Any, timeout: float = 60, *, kill: bool = False) -> None:
    """SIGTERM (drain, hand over), or SIGKILL when what is in flight does not matter any more."""
    if process.poll() is None:
        (process.kill if kill else process.terminate)()
        process.wait(timeout)
