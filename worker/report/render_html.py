"""The self-contained HTML page: inline CSS and SVG charts, nothing fetched when it opens."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from worker.report.formatting import age, minutes, moment, ratio, short_name
from worker.report.model import COVERED, Report
from worker.report.svg import Series, coverage_chart, pass_rate_chart, rto_chart

STYLE = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}
.COVERED,.PASSED{color:#176b17;font-weight:bold}
.OVERDUE,.NEVER_PASSED,.NEVER_TESTED,.FAILED,.RESTORE_FAILED,.ERROR,.NOT_VERIFIED,.BROKEN{color:#b00;font-weight:bold}
.VERIFIED{color:#176b17;font-weight:bold}
.cards{display:flex;gap:12px}.card{border:1px solid #ddd;padding:8px 14px;border-radius:4px}
.card b{display:block;font-size:20px}.charts svg{display:block;margin:10px 0;border:1px solid #eee}
"""


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[int] = ()) -> str:
    """Cells are escaped; the columns listed in `classes` also get their text as a CSS class (statuses)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            css = f' class="{escape(value)}"' if i in classes else ""
            cells.append(f"<td{css}>{escape(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, sections: Sequence[str]) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>" + "".join(sections) + "</body></html>\n"
    )


def summary_cards(report: Report) -> str:
    counts: dict[str, int] = defaultdict(int)
    for r in report.resources:
        counts[r.coverage] += 1
    runs = sum(r.runs for r in report.resources)
    passed = sum(r.passed for r in report.resources)
    cards = [
        ("resources", str(len(report.resources))),
        ("covered", str(counts[COVERED])),
        ("not covered", str(len(report.resources) - counts[COVERED])),
        ("validations", str(runs)),
        ("pass rate", ratio(passed, runs)),
        ("failures", str(len(report.failures))),
    ]
    return (
        '<div class="cards">' + "".join(f'<div class="card"><b>{v}</b>{escape(k)}</div>' for k, v in cards) + "</div>"
    )


def charts(report: Report) -> str:
    days = [(str(d["day"]), int(d["runs"]), int(d["passed"])) for d in report.daily]
    by_resource: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for point in report.rto_points:
        by_resource[short_name(point["source_resource_arn"])].append((point["finished"], float(point["rto_minutes"])))
    series = [Series(name, points) for name, points in sorted(by_resource.items())]
    coverage = [(short_name(r.resource), r.hours_since_pass, r.coverage, r.slo_hours) for r in report.resources]
    return (
        '<h2>Charts</h2><div class="charts">'
        + pass_rate_chart(days)
        + rto_chart(series)
        + coverage_chart(coverage, report.window.slo_hours)
        + "</div>"
    )


def resources_table(report: Report) -> str:
    rows = [
        [
            short_name(r.resource),
            r.engine or "-",
            r.selection or "-",
            r.coverage,
            f"{r.slo_hours:g}h",
            r.last_status or "-",
            moment(r.last_passed_at),
            age(r.hours_since_pass),
            f"{r.passed}/{r.runs}",
            minutes(r.rto_p50),
            minutes(r.rto_p95),
            minutes(r.gap_p50),
            minutes(r.gap_p95),
            r.last_reason or "",
            r.resource,
        ]
        for r in report.resources
    ]
    headers = [
        "resource",
        "engine",
        "selection",
        "coverage",
        "SLO",
        "last verdict",
        "last PASSED",
        "since",
        "passed",
        "RTO p50",
        "RTO p95",
        "gap p50",
        "gap p95",
        "last failure",
        "ARN",
    ]
    return "<h2>Resources</h2>" + html_table(headers, rows, classes=(3, 5))


def groups_table(groups: Sequence[dict[str, Any]]) -> str:
    rows = [
        [
            g["dimension"],
            g["value"],
            f"{g['covered']}/{g['resources']}",
            ratio(g["passed"], g["runs"]),
            minutes(g["rto_p50"]),
            minutes(g["rto_p95"]),
            minutes(g["gap_p50"]),
            minutes(g["gap_p95"]),
        ]
        for g in groups
    ]
    headers = ["by", "value", "covered", "pass rate", "RTO p50", "RTO p95", "gap p50", "gap p95"]
    return "<h2>By selection, account and engine</h2>" + html_table(headers, rows)


def failures_table(failures: Sequence[dict[str, Any]]) -> str:
    rows = [
        [
            moment(f["finished"]),
            short_name(f["source_resource_arn"]),
            f["status"],
            f["why"] or "",
            f["validation_id"] or "",
        ]
        for f in failures
    ]
    return f"<h2>Failures ({len(failures)})</h2>" + html_table(
        ["finished", "resource", "status", "why", "validation"], rows, classes=(2,)
    )


def notes(report: Report) -> str:
    items = [
        f"Records from {escape(report.source)}; window {moment(report.window.since)} to "
        f"{moment(report.window.until)}; coverage SLO {escape(report.window.describe_slo())}."
    ]
    if not report.inventory_used:
        items.append("Protected sources never validated are not listed: no inventory was read.")
    if report.unreadable:
        items.append(f"{len(report.unreadable)} object(s) under the prefix are not records and were skipped.")
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def render_html(report: Report) -> str:
    return page(
        "Backup validation report",
        [
            notes(report),
            summary_cards(report),
            charts(report),
            resources_table(report),
            groups_table(report.groups),
            failures_table(report.failures),
        ],
    )
