"""`backup-validator report`: the arguments, and reading, building and writing the report."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worker.adapters.record_reads import report_clients
from worker.evidence_ops import pack_verification
from worker.policy import PolicyError, load_policy
from worker.report.collect import StderrProgress, collect_inventory, collect_records, parse_moment
from worker.report.evidence import write_evidence
from worker.report.model import Filters, Window, build_report
from worker.report.render_html import render_html
from worker.report.render_text import render_csv, render_json, render_text
from worker.settings import ConfigError, ReportSettings, load_report_settings

EXIT_CONFIG = 2
EXIT_FAILED = 1  # the records could not be read, or the files not written


def add_report_command(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="what the records say: last verdict, coverage, failures, RTO/data-gap trends per resource",
        description="Reads the records from S3 (BV_RESULTS_BUCKET, BV_RESULTS_PREFIX), or through Athena when "
        "BV_ATHENA_WORKGROUP and BV_ATHENA_DATABASE are set, into an embedded DuckDB, and lists every protected "
        "source AWS Backup holds recovery points of (selected by BV_POLICY_FILE when set). Coverage is judged "
        "against each resource's selection's coverage_slo (BV_POLICY_FILE), else BV_COVERAGE_SLO_HOURS. Progress "
        "goes to stderr.",
    )
    report.add_argument("--since", default="7d", help="start of the window: 7d, 36h or an ISO-8601 time (default 7d)")
    report.add_argument("--until", default=None, help="end of the window, ISO-8601 (default: now)")
    report.add_argument("--resource", action="append", default=[], help="source ARN glob or substring (repeatable)")
    report.add_argument(
        "--status",
        action="append",
        default=[],
        help="last verdict (PASSED, FAILED, RESTORE_FAILED, ERROR) or coverage (COVERED, OVERDUE, NEVER_PASSED, "
        "NEVER_TESTED); repeatable or comma-separated",
    )
    report.add_argument("--selection", action="append", default=[], help="policy selection name (repeatable)")
    report.add_argument("--format", choices=("table", "json", "csv"), default="table", help="stdout format")
    report.add_argument("--html", type=Path, help="also write a self-contained HTML page with charts to FILE")
    report.add_argument("--evidence", type=Path, metavar="DIR", help="also write the auditor's evidence pack to DIR")
    report.add_argument(
        "--no-inventory", action="store_true", help="do not list AWS Backup's protected sources (records only)"
    )


def _statuses(values: list[str]) -> tuple[str, ...]:
    return tuple(part.strip().upper() for value in values for part in value.split(",") if part.strip())


def run_report(args: argparse.Namespace) -> int:
    try:
        settings = load_report_settings()
        policy = load_policy(settings.policy_file) if settings.policy_file else None
        now = datetime.now(UTC)
        until = parse_moment(args.until, now) if args.until else now
        since = parse_moment(args.since, until)
    except (ConfigError, PolicyError, ValueError) as exc:
        print(f"backup-validator report: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if since >= until:
        print("backup-validator report: --since must be before --until", file=sys.stderr)
        return EXIT_CONFIG
    own_slo = {
        s.name: s.coverage_slo.total_seconds() / 3600
        for s in (policy.selections if policy is not None else ())
        if s.coverage_slo is not None
    }
    window = Window(since, until, settings.coverage_slo_hours, own_slo)
    filters = Filters(tuple(args.resource), _statuses(args.status), tuple(args.selection))
    try:
        return asyncio.run(_report(args, settings, policy, window, filters))
    except OSError as exc:
        print(f"backup-validator report: could not write {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - one clear line for a person; nothing half-written is claimed
        print(f"backup-validator report: could not read the records: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


async def _report(
    args: argparse.Namespace, settings: ReportSettings, policy: Any, window: Window, filters: Filters
) -> int:
    async with report_clients() as clients:
        collected = await collect_records(clients, settings, window, filters, StderrProgress())
        try:
            inventory = None if args.no_inventory else await collect_inventory(clients, policy)
            report = build_report(collected.engine, window, inventory, filters, collected.source)
            report.unreadable = collected.unreadable
            if args.html:
                args.html.write_text(render_html(report), encoding="utf-8")
            if args.evidence:
                verification = await pack_verification(settings, window)
                written = write_evidence(args.evidence, collected.engine, report, verification)
                print(f"evidence pack: {', '.join(str(p) for p in written)}", file=sys.stderr)
        finally:
            collected.engine.close()
    renderers = {"table": render_text, "json": render_json, "csv": render_csv}
    sys.stdout.write(renderers[args.format](report))
    return 0
