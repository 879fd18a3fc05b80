"""The evidence pack (`report --evidence DIR`): what an auditor asks for, for a period, as HTML plus the CSV behind
it. The verification of the records themselves (hash chains, signed manifests, `worker.evidence`) is run by the
caller and handed in; without one the pack says "not verified", never more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from worker.report import queries
from worker.report.formatting import cell, minutes, moment, short_name
from worker.report.model import QueryEngine, Report, ResourceSummary, Window
from worker.report.render_html import charts, html_table, notes, page, summary_cards
from worker.report.render_text import RESOURCE_COLUMNS, rows_csv

NOT_VERIFIED = "NOT_VERIFIED"
VERIFIED = "VERIFIED"
BROKEN = "BROKEN"

VALIDATION_COLUMNS = (
    "finished", "source_resource_arn", "selection", "engine", "account_id", "status", "why", "rto_minutes",
    "rto_target_minutes", "rto_target_met", "data_gap_minutes", "rpo_target_minutes", "rpo_target_met",
    "cleanup_status", "validation_id", "recovery_point_arn", "restore_job_id", "origin", "restore_testing_plan_arn",
)  # fmt: skip
GAP_COLUMNS = ("resource", "uncovered_from", "uncovered_until", "hours", "why")


@dataclass(frozen=True)
class Verification:
    """The verification of the evidence: are the records complete and unedited? `problems` names each gap/edit."""

    status: str  # VERIFIED | BROKEN | NOT_VERIFIED
    detail: str
    problems: tuple[str, ...] = ()


def not_verified(window: Window) -> Verification:
    return Verification(
        NOT_VERIFIED,
        "No check of the records' integrity (hash chains, signed manifests) was run for this pack: "
        "the figures below are what the records say, not proof that the records are complete and unedited.",
    )


@dataclass(frozen=True)
class CoverageGap:
    resource: str
    uncovered_from: datetime
    uncovered_until: datetime
    why: str

    @property
    def hours(self) -> float:
        return round((self.uncovered_until - self.uncovered_from).total_seconds() / 3600.0, 2)


def coverage_gaps(
    resource: str, passes: Sequence[datetime], window: Window, slo_hours: float | None = None
) -> list[CoverageGap]:
    """The stretches of the period in which the resource had no PASSED validation within its SLO before them
    (`slo_hours`: its selection's, else the deployment's)."""
    slo = timedelta(hours=window.slo_hours if slo_hours is None else slo_hours)
    gaps: list[CoverageGap] = []
    covered_until: datetime | None = None
    for when in sorted(passes):
        start = window.since if covered_until is None else covered_until
        if when > start and when > window.since:
            why = "no PASSED validation yet" if covered_until is None else "next PASSED validation came late"
            gaps.append(CoverageGap(resource, max(start, window.since), min(when, window.until), why))
        covered_until = when + slo
    start = window.since if covered_until is None else max(covered_until, window.since)
    if start < window.until:
        why = "never PASSED in the period" if covered_until is None else "no PASSED validation since"
        gaps.append(CoverageGap(resource, start, window.until, why))
    return [g for g in gaps if g.uncovered_until > g.uncovered_from]


def all_gaps(engine: QueryEngine, report: Report) -> list[CoverageGap]:
    passes: dict[str, list[datetime]] = {}
    for row in engine.query(queries.PASS_TIMES, report.window.parameters):
        passes.setdefault(row["source_resource_arn"], []).append(row["finished"])
    gaps: list[CoverageGap] = []
    for resource in report.resources:
        gaps.extend(
            coverage_gaps(resource.resource, passes.get(resource.resource, []), report.window, resource.slo_hours)
        )
    return gaps


def write_evidence(
    directory: Path, engine: QueryEngine, report: Report, verification: Verification | None = None
) -> list[Path]:
    """evidence.html, resources.csv, validations.csv, coverage_gaps.csv; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    shown = {r.resource for r in report.resources}
    validations = [
        v for v in engine.query(queries.VALIDATIONS, report.window.parameters) if v["source_resource_arn"] in shown
    ]
    gaps = all_gaps(engine, report)
    verification = verification or not_verified(report.window)
    files = {
        "resources.csv": rows_csv(RESOURCE_COLUMNS, [asdict(r) for r in report.resources]),
        "validations.csv": rows_csv(VALIDATION_COLUMNS, validations),
        "coverage_gaps.csv": rows_csv(GAP_COLUMNS, [{**asdict(g), "hours": g.hours} for g in gaps]),
        "evidence.html": evidence_html(report, validations, gaps, verification),
    }
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _per_resource_rows(resources: Sequence[ResourceSummary]) -> list[list[str]]:
    return [
        [short_name(r.resource), r.selection or "-", str(r.runs), str(r.passed), str(r.runs - r.passed),
         r.coverage, moment(r.last_passed_at), minutes(r.rto_p95), cell(r.rto_target_minutes), str(r.rto_misses),
         minutes(r.gap_p95), cell(r.rpo_target_minutes), str(r.rpo_misses), r.resource]
        for r in resources
    ]  # fmt: skip


def evidence_html(
    report: Report, validations: Sequence[dict[str, Any]], gaps: Sequence[CoverageGap], verification: Verification
) -> str:
    period = f"{moment(report.window.since)} to {moment(report.window.until)}"
    per_resource = html_table(
        ["resource", "selection", "tested", "passed", "not passed", "coverage", "last PASSED", "RTO p95 min",
         "RTO target", "RTO misses", "RPO p95 min", "RPO target", "RPO misses", "ARN"],
        _per_resource_rows(report.resources), classes=(5,),
    )  # fmt: skip
    tests = html_table(
        ["finished", "resource", "status", "RTO min", "RTO met", "data gap min", "RPO met", "why"],
        [[moment(v["finished"]), short_name(v["source_resource_arn"]), v["status"], minutes(v["rto_minutes"]),
          cell(v["rto_target_met"]) or "-", minutes(v["data_gap_minutes"]), cell(v["rpo_target_met"]) or "-",
          v["why"] or ""] for v in validations],
        classes=(2,),
    )  # fmt: skip
    gap_table = html_table(
        ["resource", "uncovered from", "until", "hours", "why"],
        [[short_name(g.resource), moment(g.uncovered_from), moment(g.uncovered_until), f"{g.hours:g}", g.why]
         for g in gaps],
    )  # fmt: skip
    problems = "".join(f"<li>{escape(p)}</li>" for p in verification.problems)
    verification_html = (
        f'<h2>Verification of the evidence</h2><p>Result: <span class="{escape(verification.status)}">'
        f"{escape(verification.status)}</span>. {escape(verification.detail)}</p>"
        + (f"<ul>{problems}</ul>" if problems else "")
    )
    return page(
        f"Backup restore testing evidence, {period}",
        [notes(report), verification_html, summary_cards(report),
         "<h2>Per protected resource</h2>" + per_resource, charts(report),
         f"<h2>Coverage gaps ({len(gaps)})</h2>" + gap_table,
         f"<h2>Every validation in the period ({len(validations)})</h2>" + tests,
         "<p>The CSV files next to this page hold the same figures: resources.csv, validations.csv, "
         "coverage_gaps.csv.</p>"],
    )  # fmt: skip
