"""Gathering what the report needs: the records (S3 or Athena), the inventory of protected sources, the engine."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from worker.adapters.backup import Backup
from worker.adapters.record_reads import (
    AthenaTable,
    RecordBatch,
    ReportClients,
    read_athena_records,
    read_s3_records,
)
from worker.durations import parse_duration
from worker.model import account_of
from worker.policy import Policy
from worker.report.model import Filters, InventoryEntry, Window
from worker.report.schema import RECORD_COLUMNS, table_row
from worker.settings import ReportSettings

if TYPE_CHECKING:
    from worker.adapters.record_engine import RecordEngine

# A validation ends hours after its claim at most; its record sits in the claim day's partition.
PARTITION_SLACK = timedelta(days=1)


class StderrProgress:
    """ "reading records: 120/4000" on stderr: redrawn in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, stream: TextIO | None = None, every: float = 2.0) -> None:
        self._stream = stream or sys.stderr
        self._every = every
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if not finished and now - self._last < (0.1 if self._stream.isatty() else self._every):
            return
        self._last = now
        end = "\n" if finished or not self._stream.isatty() else ""
        self._stream.write(f"\rreading records: {done}/{total}{end}")
        self._stream.flush()


@dataclass(frozen=True)
class Collected:
    engine: RecordEngine
    source: str
    unreadable: list[str]
    loaded: int


def read_window(window: Window) -> tuple[date, date]:
    """Partitions to read: the window, and the longest SLO before it (a PASSED then still covers its start)."""
    earliest = min(window.since, window.until) - timedelta(hours=window.longest_slo_hours) - PARTITION_SLACK
    return earliest.date(), window.until.date()


async def collect_records(
    clients: ReportClients, settings: ReportSettings, window: Window, filters: Filters, progress: StderrProgress
) -> Collected:
    first_day, last_day = read_window(window)
    if settings.athena_workgroup and settings.athena_database:
        where = AthenaTable(
            settings.athena_workgroup, settings.athena_database, settings.athena_table, settings.athena_timeout_seconds
        )
        batch = await read_athena_records(clients.athena, where, RECORD_COLUMNS, first_day, last_day, progress)
        source = f"athena:{settings.athena_workgroup}/{settings.athena_database}.{settings.athena_table}"
    else:
        batch = await read_s3_records(
            clients.s3, settings.results_bucket, settings.results_prefix, first_day, last_day, progress
        )
        source = f"s3://{settings.results_bucket}/{settings.results_prefix}"
    return load_engine(batch, filters, source)


def load_engine(batch: RecordBatch, filters: Filters, source: str) -> Collected:
    from worker.adapters.record_engine import RecordEngine  # DuckDB loads only for a report

    engine = RecordEngine()
    rows = (table_row(record, day) for record, day in _kept(batch.records, filters))
    loaded = engine.load(rows, RECORD_COLUMNS)
    return Collected(engine, source, batch.unreadable, loaded)


def _kept(records: Iterable[tuple[dict[str, Any], str]], filters: Filters) -> Iterable[tuple[dict[str, Any], str]]:
    for record, day in records:
        if filters.keeps(str(record.get("source_resource_arn") or ""), record.get("selection")):
            yield record, day


async def collect_inventory(clients: ReportClients, policy: Policy | None) -> list[InventoryEntry]:
    """Every source AWS Backup holds a recovery point of; with a policy, the selection that would validate it
    (without one, every source counts as selected)."""
    entries = []
    for source in await Backup(clients.backup).protected_sources():
        if policy is None:
            entries.append(InventoryEntry(source.arn, source.resource_type, None))
            continue
        chosen = policy.match(source.resource_type, source.arn, account_of(source.arn))
        entries.append(
            InventoryEntry(source.arn, source.resource_type, chosen.name if chosen else None, chosen is not None)
        )
    return entries


def parse_moment(text: str, now: datetime) -> datetime:
    """`7d`/`36h` (back from now) or an ISO-8601 date or time (UTC unless it says otherwise)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f'"{text}" is neither a duration (7d, 36h) nor an ISO-8601 date or time') from None
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)
