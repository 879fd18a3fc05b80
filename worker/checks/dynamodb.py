"""Run a DynamoDB selection's checks against the restored table, each within its read budget and timeout.

Every check records the read capacity it consumed (as DynamoDB reports it). A check that would read past its
budget stops and is an ERROR naming the units used: an unbounded read of a huge table costs real money.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from worker.checks.budget import bounded, run_in_budget
from worker.checks.results import CheckContext, CheckResult, Status
from worker.checks.values import CheckError, as_utc_timestamp
from worker.checks.verdict import Verdict, call_plugin, equal, freshness_expectation, judge_count, judge_newest
from worker.policy import CheckSpec, FreshnessCheck, PluginCheck
from worker.policy_table_checks import ItemCountCheck, ItemsCheck, PartiqlCheck, TableSettingsCheck
from worker.tables import Page, TableInfo, TablePort, from_wire, to_wire

TABLE_PLACEHOLDER = "{table}"
_MAX_PAGES = 10_000  # a last bound for reads whose capacity DynamoDB does not report


@dataclass
class _Reads:
    """The capacity one check consumed so far, against its budget."""

    budget: float
    units: float | None = None
    pages: int = 0

    def add(self, page: Page) -> Page:
        self.pages += 1
        if page.read_units is not None:
            self.units = (self.units or 0.0) + page.read_units
        return page

    def check_more(self, progress: str) -> None:
        """Before another page: stop when the budget is spent."""
        if (self.units or 0.0) >= self.budget or self.pages >= _MAX_PAGES:
            used = "unreported" if self.units is None else f"{self.units:g}"
            raise CheckError(f"read budget exceeded: {used} of {self.budget:g} read units used, {progress}")


class ReadOnlyTable:
    """What a plugin gets: the restored table's reads, never a write or a delete."""

    def __init__(self, tables: TablePort, table: TableInfo) -> None:
        self._tables = tables
        self.info = table

    async def scan(self, *, projection: str | None = None, limit: int | None = None, start: Any = None) -> Page:
        name = self.info.name
        return await self._tables.scan(name, count_only=False, projection=projection, limit=limit, start=start)

    async def get_items(self, keys: Sequence[Any]) -> Page:
        return await self._tables.get_items(self.info.name, keys)

    async def execute(self, statement: str, start: Any = None) -> Page:
        if not statement.lstrip().lower().startswith("select"):
            raise CheckError("plugins may only run SELECT statements")
        return await self._tables.execute(statement, start)


async def run_table_checks(
    tables: TablePort,
    table: TableInfo,
    checks: Sequence[CheckSpec],
    ctx: CheckContext,
    *,
    check_timeout: float | None,
    budget: float | None,
) -> list[CheckResult]:
    """Every check in order, within the phase's `budget`; each gets a result, errors included."""

    async def run(check: CheckSpec, limit: float | None) -> CheckResult:
        return await _run_one(tables, table, check, ctx, limit)

    def not_run(check: CheckSpec, why: str) -> CheckResult:
        return table_result(check, "ERROR", Verdict(False, None, why), 0.0)

    return await run_in_budget(checks, run, not_run, check_timeout, budget)


async def _run_one(
    tables: TablePort, table: TableInfo, check: CheckSpec, ctx: CheckContext, limit: float | None
) -> CheckResult:
    started = time.monotonic()
    reads = _Reads(float(getattr(check, "read_budget", 0.0)) or float("inf"))
    status, verdict = await bounded(_evaluate(tables, table, check, ctx, reads), limit)
    return table_result(check, status, verdict, time.monotonic() - started, reads.units)


def table_result(
    check: CheckSpec, status: Status, verdict: Verdict, duration: float, read_units: float | None = None
) -> CheckResult:
    return verdict.result(check, status, expectation(check), duration, read_units=read_units, on_table=True)


async def _evaluate(tables: TablePort, table: TableInfo, check: CheckSpec, ctx: CheckContext, reads: _Reads) -> Verdict:
    match check:
        case ItemCountCheck():
            count = await _count(tables, table, check, reads)
            return judge_count(count, check, ctx.previous_row_counts.get(check.name), "items")
        case FreshnessCheck():
            newest = await _newest(tables, table, check, reads)
            if newest is None:
                return Verdict(False, None, f"no item has {check.attribute}: no data to date (is the table empty?)")
            return judge_newest(newest, check, ctx, "item")
        case PartiqlCheck():
            return await _partiql(tables, table, check, reads)
        case ItemsCheck():
            return await _items(tables, table, check, reads)
        case TableSettingsCheck():
            return _settings(table, check)
        case PluginCheck():
            return await call_plugin(ReadOnlyTable(tables, table), check, ctx)
        case _:
            raise CheckError(f"{check.kind} checks run on SQL databases, not on DynamoDB tables")


async def _count(tables: TablePort, table: TableInfo, check: ItemCountCheck, reads: _Reads) -> int:
    count, start = 0, None
    while True:
        scanned = await tables.scan(table.name, count_only=True, projection=None, limit=check.page_size, start=start)
        page = reads.add(scanned)
        count, start = count + page.count, page.next_start
        if not start:
            return count
        reads.check_more(f"{count} items counted so far")


async def _newest(tables: TablePort, table: TableInfo, check: FreshnessCheck, reads: _Reads) -> datetime | None:
    attribute = check.attribute or ""
    if check.index is not None:
        hash_key, range_key = table.index_keys.get(check.index, (None, None))
        if hash_key is None or range_key != attribute:
            raise CheckError(f"index {check.index} does not exist or is not sorted by {attribute}")
        page = reads.add(await tables.query_newest(table.name, check.index, hash_key, to_wire(check.partition_value)))
        return max((_stamp(item, attribute) for item in page.items), default=None, key=_sortable)
    newest, start = None, None
    while True:
        page = reads.add(await tables.scan(table.name, count_only=False, projection=attribute, limit=None, start=start))
        newest = max((newest, *(_stamp(item, attribute) for item in page.items)), key=_sortable)
        start = page.next_start
        if not start:
            return newest
        reads.check_more("before the whole table was read")


def _sortable(value: datetime | None) -> datetime:
    return value or datetime.min.replace(tzinfo=UTC)


def _stamp(item: Any, attribute: str) -> datetime | None:
    """A timestamp attribute: a number is epoch seconds, a string ISO-8601."""
    if attribute not in item:
        return None
    value = from_wire(item[attribute])
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return as_utc_timestamp(value)


async def _partiql(tables: TablePort, table: TableInfo, check: PartiqlCheck, reads: _Reads) -> Verdict:
    """`{table}` in the statement names the restored table (its name is the validator's, not the policy's)."""
    statement = check.statement.replace(TABLE_PLACEHOLDER, table.name)
    items: list[Any] = []
    start = None
    while True:
        page = reads.add(await tables.execute(statement, start))
        items.extend(page.items)
        start = page.next_start
        if not start:
            break
        reads.check_more(f"{len(items)} items read so far")
    if check.expect_rows is not None:
        passed = len(items) == check.expect_rows
        message = f"{len(items)} items" + ("" if passed else f", expected {check.expect_rows}")
        return Verdict(passed, len(items), message)
    if len(items) != 1 or len(items[0]) != 1:
        raise CheckError(f"expect needs one item with one attribute, got {len(items)} items")
    value = from_wire(next(iter(items[0].values())))
    passed = equal(value, check.expect) if check.expect is not None else False
    return Verdict(passed, value, f"got {value!r}" + ("" if passed else f", expected {check.expect!r}"))


async def _items(tables: TablePort, table: TableInfo, check: ItemsCheck, reads: _Reads) -> Verdict:
    keys = [{name: to_wire(value) for name, value in item.key.items()} for item in check.items]
    page = reads.add(await tables.get_items(table.name, keys))
    found = {_key_text(item, check.items[0].key): item for item in page.items}
    problems = []
    for expected in check.items:
        text = _key_text({k: to_wire(v) for k, v in expected.key.items()}, expected.key)
        item = found.get(text)
        if item is None:
            problems.append(f"missing {text}")
            continue
        for name, value in expected.attributes.items():
            actual = from_wire(item[name]) if name in item else None
            if not equal(actual, value):
                problems.append(f"{text}.{name} is {actual!r}, expected {value!r}")
    observed = f"{len(check.items) - sum(p.startswith('missing') for p in problems)} of {len(check.items)} found"
    return Verdict(not problems, observed, "; ".join(problems) or observed)


def _key_text(item: Any, key: Any) -> str:
    return ",".join(f"{name}={from_wire(item[name])!r}" for name in sorted(key) if name in item)


def _settings(table: TableInfo, check: TableSettingsCheck) -> Verdict:
    actual = {
        "partition_key": table.partition_key,
        "sort_key": table.sort_key,
        "indexes": tuple(sorted(table.indexes)),
        "billing_mode": table.billing_mode,
        "stream_enabled": table.stream_enabled,
        "encryption": table.encryption,
    }
    wanted = check.model_dump(exclude={"name", "kind"}, exclude_none=True)
    if "indexes" in wanted:
        wanted["indexes"] = tuple(sorted(wanted["indexes"]))
    problems = [
        f"{name} is {actual[name]!r}, expected {value!r}" for name, value in wanted.items() if actual[name] != value
    ]
    observed = ", ".join(f"{name}={actual[name]!r}" for name in wanted)
    return Verdict(not problems, observed, "; ".join(problems) or observed)


def expectation(check: CheckSpec) -> str:
    match check:
        case ItemCountCheck():
            parts = [f"at least {check.min} items"] if check.min is not None else []
            if check.max_drop is not None:
                parts.append(f"at most {check.max_drop:.0%} fewer items than the previous run")
            return " and ".join(parts) or "item count recorded"
        case FreshnessCheck():
            return freshness_expectation(check, str(check.attribute))
        case PartiqlCheck():
            if check.expect_rows is not None:
                return f"{check.expect_rows} items"
            return f"statement returns {check.expect!r}"
        case ItemsCheck():
            attributes = any(item.attributes for item in check.items)
            return f"{len(check.items)} keys exist" + (" with the listed attributes" if attributes else "")
        case TableSettingsCheck():
            wanted = check.model_dump(exclude={"name", "kind"}, exclude_none=True)
            return ", ".join(f"{name}={value!r}" for name, value in wanted.items())
        case PluginCheck():
            return f"plugin {check.function} passes"
        case _:
            return ""
