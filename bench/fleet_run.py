"""`python -m bench --fleet`: the stand, the seeded recovery points and the fleet scenarios in order."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from typing import Any

from bench import fleet, scenarios
from bench.fleet import FleetScale
from bench.stand import Stand, new_workdir, remove_workdir


def run(
    scale: FleetScale,
    chosen: list[str],
    say: Callable[[str], None],
    settings: dict[str, str] | None = None,
    fill_timeout: float = 3600,
) -> dict[str, Any]:
    """`settings`: worker settings for the inflight scenario (`lease_seconds=1800`: BV_LEASE_SECONDS);
    `fill_timeout`: its fill ends then, however many restores started."""
    workdir = new_workdir()
    stand = Stand(workdir)
    results: dict[str, Any] = {}
    prefix = f"f{uuid.uuid4().hex[:6]}"
    try:
        stand.start(["--max-db-work", "6", "--copy-seconds", "0.2", "--backup-seconds", "0.2"])
        os.environ.update(stand.env())
        base = asyncio.run(fleet.template(prefix))
        # The reconciler first: its incremental pass re-lists the last 10 minutes, which must hold only its own.
        if "reconcile" in chosen:
            say(f"reconcile: seeding {scale.history} recovery points")
            (ledger,) = asyncio.run(fleet.seeded_supplies(stand, base, workdir, f"{prefix}r", [0]))
            results["reconcile"] = asyncio.run(fleet.reconcile(stand, base, ledger, scale))
        if "fleet_cap" in chosen:
            one, three = asyncio.run(
                fleet.seeded_supplies(stand, base, workdir, f"{prefix}c", [scale.validations, scale.validations])
            )
            knobs = scenarios.Knobs(scale.restore_seconds)
            say(f"fleet_cap: one worker, cap {scale.cap}")
            single = fleet.fleet_cap(stand, one, 1, scale.cap, knobs, timeout=1800)
            say(f"fleet_cap: three workers, cap {scale.cap}")
            triple = fleet.fleet_cap(stand, three, 3, scale.cap, knobs, timeout=1800)
            results["fleet_cap"] = fleet.fleet_comparison(single, triple)
        if "inflight" in chosen:
            say(f"inflight: seeding {scale.inflight} recovery points")
            (waiting,) = asyncio.run(fleet.seeded_supplies(stand, base, workdir, f"{prefix}w", [scale.inflight]))
            say(f"inflight: {scale.inflight} restores in one worker")
            results["inflight"] = scenarios.waiting(
                stand,
                waiting,
                scenarios.Knobs("7200", lazy_restore=True),
                2,
                wait_s=scale.wait_s,
                fill_timeout=fill_timeout,
                settings=settings,
            )
        say("done")
    finally:
        stand.stop()
        if os.environ.get("BENCH_KEEP_WORKDIR"):
            say(f"logs kept in {workdir}")
        else:
            remove_workdir(workdir)
    return results


def table(results: dict[str, Any]) -> str:
    """What the fleet scenarios measured, one line each."""
    lines = []
    if "fleet_cap" in results:
        for key in ("one_worker", "three_workers"):
            f = results["fleet_cap"][key]
            lines.append(
                f"fleet_cap {f['workers']} worker(s): {f['validations']} in {f['wall_s']} s ({f['per_minute']}/min), "
                f"cap {f['cap']}, peak in flight {f['peak_in_flight']} (exceeded: {f['cap_exceeded']}), "
                f"mean {f['mean_in_flight']}, statuses {f['statuses']}, per worker {f.get('per_worker')}, "
                f"slot waits {f['slot_waits']}, DynamoDB per validation {f['dynamodb_per_validation']}"
            )
        lines.append(f"fleet_cap three vs one: {results['fleet_cap']['three_vs_one']}")
    if "reconcile" in results:
        for p in results["reconcile"]["passes"]:
            lines.append(
                f"reconcile {p['pass']} ({p['new_points']} new): {p['calls_total']} calls {p['calls']}, "
                f"{p['sources_known']} sources, {p['duration_s']} s"
            )
    if "inflight" in results:
        w = results["inflight"]
        lines.append(
            f"inflight: {w['validations']} restores, fill {w['fill_s']} s, peak RSS {w['peak_rss_mb']} MB, "
            f"{w['rss_kb_per_inflight']} KB each"
        )
    return "\n".join(lines)
