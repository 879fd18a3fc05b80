"""The terminal table, and the JSON and CSV for pipes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from worker.report.formatting import age, cell, minutes, moment, ratio, short_name
from worker.report.model import Report, ResourceSummary

RESOURCE_COLUMNS = (
    "resource",
    "resource_type",
    "engine",
    "account_id",
    "region",
    "selection",
    "coverage",
    "slo_hours",
    "last_status",
    "last_at",
    "last_reason",
    "last_passed_at",
    "hours_since_pass",
    "runs",
    "passed",
    "rto_p50",
    "rto_p95",
    "gap_p50",
    "gap_p95",
    "rto_target_minutes",
    "rpo_target_minutes",
    "rto_misses",
    "rpo_misses",
)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
    return "\n".join(line.rstrip() for line in lines)


def _resource_line(r: ResourceSummary) -> list[str]:
    return [
        short_name(r.resource),
        r.engine or "-",
        r.selection or "-",
        r.coverage,
        f"{r.slo_hours:g}h",
        r.last_status or "-",
        age(r.hours_since_pass),
        f"{r.passed}/{r.runs}",
        f"{minutes(r.rto_p50)}/{minutes(r.rto_p95)}",
        f"{minutes(r.gap_p50)}/{minutes(r.gap_p95)}",
    ]


def render_text(report: Report) -> str:
    w = report.window
    parts = [
        f"Backup validations {moment(w.since)} .. {moment(w.until)}"
        f"  (coverage SLO {w.describe_slo()}; {report.source})",
        "",
        table(
            [
                "RESOURCE",
                "ENGINE",
                "SELECTION",
                "COVERAGE",
                "SLO",
                "LAST",
                "LAST PASSED",
                "PASSED",
                "RTO p50/p95 min",
                "GAP p50/p95 min",
            ],
            [_resource_line(r) for r in report.resources],
        ),
    ]
    if report.groups:
        rows = [
            [
                g["dimension"],
                g["value"],
                f"{g['covered']}/{g['resources']}",
                ratio(g["passed"], g["runs"]),
                f"{minutes(g['rto_p50'])}/{minutes(g['rto_p95'])}",
                f"{minutes(g['gap_p50'])}/{minutes(g['gap_p95'])}",
            ]
            for g in report.groups
        ]
        parts += ["", table(["BY", "VALUE", "COVERED", "PASS RATE", "RTO p50/p95", "GAP p50/p95"], rows)]
    if report.failures:
        rows = [
            [moment(f["finished"]), short_name(f["source_resource_arn"]), f["status"], f["why"] or "-"]
            for f in report.failures
        ]
        parts += ["", f"Failures ({len(report.failures)})", table(["FINISHED", "RESOURCE", "STATUS", "WHY"], rows)]
    if not report.inventory_used:
        parts += ["", "Protected sources never validated are not listed (no inventory read)."]
    if report.unreadable:
        parts += ["", f"{len(report.unreadable)} object(s) under the prefix are not records: {report.unreadable[:5]}"]
    return "\n".join(parts) + "\n"


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, default=cell) + "\n"


def render_csv(report: Report) -> str:
    """One row per resource: the figures of the table, unabbreviated."""
    return rows_csv(RESOURCE_COLUMNS, [asdict(r) for r in report.resources])


def rows_csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(name)) for name in columns])
    return out.getvalue()
