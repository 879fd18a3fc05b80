"""`python -m bench [--quick] [--fleet]`: the real worker process against moto, the emulator and the local
PostgreSQL. `--fleet`: the fleet scenarios instead (three workers under one cap, the reconciler over a long
history, one worker with thousands of restores in flight).

Writes bench/results/latest.json (--fleet: fleet.json) and prints the table. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench import baseline_run, fleet_run, scenarios
from bench.figures import table
from bench.fleet import FLEET_FULL, FLEET_QUICK, FLEET_SCENARIOS
from bench.stand import Stand, new_workdir, remove_workdir
from bench.supply import Supply, make_supplies

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Scale:
    throughput: int
    concurrency: int
    waiting: int
    wait_s: float
    baseline: int
    event_delay: str
    sweep_interval: float


FULL = Scale(
    throughput=1000, concurrency=100, waiting=5000, wait_s=45, baseline=200, event_delay="5:20", sweep_interval=2
)
QUICK = Scale(
    throughput=200, concurrency=100, waiting=1000, wait_s=10, baseline=30, event_delay="2:6", sweep_interval=2
)
SCENARIOS = ("baseline", "throughput", "throughput_late_events", "waiting")
RESTORE_SECONDS = "2:4"


_STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def run(scale: Scale, chosen: list[str]) -> dict[str, Any]:
    workdir = new_workdir()
    stand = Stand(workdir)
    results: dict[str, Any] = {}
    try:
        stand.start(["--max-db-work", "6", "--copy-seconds", "0.2", "--backup-seconds", "0.2"])
        os.environ.update(stand.env())
        counts = {
            "baseline": scale.baseline,
            "throughput": scale.throughput,
            "throughput_late_events": scale.throughput,
            "waiting": scale.waiting,
        }
        wanted = [name for name in SCENARIOS if name in chosen]
        made = asyncio.run(
            make_supplies(
                workdir,
                f"b{uuid.uuid4().hex[:6]}",
                [counts[n] for n in wanted],
                4,
                events_queues=[name != "baseline" for name in wanted],  # the seed had one queue
            )
        )
        supplies: dict[str, Supply] = dict(zip(wanted, made, strict=True))
        say(f"{sum(counts[n] for n in wanted)} recovery points ready")
        late = scenarios.Knobs(RESTORE_SECONDS, scale.event_delay)
        base_cpu: float | None = None
        if "baseline" in supplies:
            say("baseline")
            results["baseline"] = baseline_run.run(stand, supplies["baseline"], late, scale.concurrency)
            base_cpu = results["baseline"]["cpu_ms_per_validation"]
        if "throughput" in supplies:
            say("throughput")
            results["throughput"] = scenarios.throughput(
                stand, supplies["throughput"], "worker-throughput", scenarios.Knobs(RESTORE_SECONDS),
                scale.concurrency, scale.sweep_interval, timeout=900, baseline_cpu_ms=base_cpu,
            )  # fmt: skip
        if "throughput_late_events" in supplies:
            say("throughput_late_events")
            results["throughput_late_events"] = scenarios.throughput(
                stand, supplies["throughput_late_events"], "worker-late-events", late,
                scale.concurrency, scale.sweep_interval, timeout=900, baseline_cpu_ms=base_cpu,
            )  # fmt: skip
        if "waiting" in supplies:
            say("waiting")
            results["waiting"] = scenarios.waiting(
                stand, supplies["waiting"], scenarios.Knobs("7200", lazy_restore=True),
                scale.sweep_interval, wait_s=scale.wait_s, fill_timeout=900,
            )  # fmt: skip
        say("done")
    finally:
        stand.stop()
        remove_workdir(workdir)
    return results


def machine() -> dict[str, Any]:
    return {
        "cpus": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts, under two minutes")
    parser.add_argument("--fleet", action="store_true", help="the fleet scenarios (docs/performance.md, Fleet)")
    parser.add_argument(
        "--only",
        help=f"comma list of {', '.join(SCENARIOS)} (default all); with --fleet, of {', '.join(FLEET_SCENARIOS)}",
    )
    parser.add_argument("--out", type=Path, help="default bench/results/latest.json (--fleet: fleet.json)")
    parser.add_argument("--inflight", type=int, help="with --fleet: restores in flight in one worker (default 10000)")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --fleet: a worker setting for the inflight scenario, e.g. lease_seconds=1800 (BV_LEASE_SECONDS)",
    )
    parser.add_argument(
        "--fill-timeout", type=float, default=3600, help="with --fleet: the inflight scenario's longest fill, s"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        help="restores at a time in the throughput scenarios (default 100); a lower one shows the overhead "
        "on a machine that is not saturated",
    )
    args = parser.parse_args(argv)
    names = FLEET_SCENARIOS if args.fleet else SCENARIOS
    chosen = [name.strip() for name in (args.only or ",".join(names)).split(",") if name.strip()]
    unknown = set(chosen) - set(names)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if args.fleet:
        return fleet_main(args, chosen, argv)
    scale = QUICK if args.quick else FULL
    if args.concurrency:
        scale = dataclasses.replace(scale, concurrency=args.concurrency)
    started = time.monotonic()
    results = run(scale, chosen)
    document = {
        "mode": "quick" if args.quick else "full",
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "duration_s": round(time.monotonic() - started, 1),
        "scale": scale.__dict__,
        "scenarios": results,
    }
    out = _write(args.out or RESULTS / "latest.json", document)
    print(table(results))
    print(f"\n{out} ({document['duration_s']} s)")
    return 0


def fleet_main(args: argparse.Namespace, chosen: list[str], argv: list[str] | None) -> int:
    scale = FLEET_QUICK if args.quick else FLEET_FULL
    if args.inflight:
        scale = dataclasses.replace(scale, inflight=args.inflight)
    started = time.monotonic()
    settings = dict(item.split("=", 1) for item in args.setting)
    results = fleet_run.run(scale, chosen, say, settings, args.fill_timeout)
    document = {
        "mode": "fleet-quick" if args.quick else "fleet",
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "load_average": os.getloadavg(),
        "duration_s": round(time.monotonic() - started, 1),
        "scale": scale.__dict__,
        "scenarios": results,
    }
    out = _write(args.out or RESULTS / "fleet.json", document)
    print(fleet_run.table(results))
    print(f"\n{out} ({document['duration_s']} s)")
    return 0


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
