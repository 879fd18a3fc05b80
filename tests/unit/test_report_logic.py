"""Pure parts of the report: coverage verdicts, coverage gaps, filters, moments, the charts' empty cases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from worker.report.collect import parse_moment, read_window
from worker.report.evidence import coverage_gaps
from worker.report.model import (
    COVERED,
    NEVER_PASSED,
    NEVER_TESTED,
    OVERDUE,
    Filters,
    InventoryEntry,
    Window,
    coverage_of,
    resource_summaries,
)
from worker.report.svg import LEFT, WIDTH, Series, coverage_chart, pass_rate_chart, rto_chart

UNTIL = datetime(2026, 6, 30, tzinfo=UTC)
WINDOW = Window(UNTIL - timedelta(days=10), UNTIL, slo_hours=24)


def at(days_before_until: float) -> datetime:
    return UNTIL - timedelta(days=days_before_until)


def test_coverage_verdicts():
    assert coverage_of(None, False, WINDOW, 24) == (NEVER_TESTED, None)
    assert coverage_of(None, True, WINDOW, 24) == (NEVER_PASSED, None)
    assert coverage_of(at(0.5), True, WINDOW, 24) == (COVERED, 12.0)
    assert coverage_of(at(1), True, WINDOW, 24) == (COVERED, 24.0)  # the SLO's edge still counts
    assert coverage_of(at(1.5), True, WINDOW, 24) == (OVERDUE, 36.0)
    assert coverage_of(at(0.5), True, WINDOW, 6) == (OVERDUE, 12.0)


OWN_SLO = Window(UNTIL - timedelta(days=10), UNTIL, slo_hours=24, selection_slo_hours={"orders": 6, "archive": 72})


def _row(arn: str, selection: str | None, passed: datetime) -> dict:
    figures = ("runs", "passed", "rto_p50", "rto_p95", "gap_p50", "gap_p95", "rto_misses", "rpo_misses")
    return {
        "source_resource_arn": arn,
        "selection": selection,
        "last_passed_at": passed,
        **dict.fromkeys(("resource_type", "engine", "account_id", "region", "last_status", "last_at")),
        **dict.fromkeys(("last_reason", "rto_target_minutes", "rpo_target_minutes")),
        **dict.fromkeys(figures, 1),
    }


def test_each_resource_is_judged_by_its_selections_coverage_slo():
    rows = [
        _row("arn:db:orders-1", "orders", at(0.5)),  # 12 h ago: over its selection's 6 h
        _row("arn:db:archive-1", "archive", at(2)),  # 48 h ago: within its selection's 72 h
        _row("arn:db:misc-1", None, at(0.5)),  # no selection: the deployment's 24 h
        _row("arn:db:gone-1", "renamed-since", at(1.5)),  # a selection the policy no longer names: 24 h
    ]
    inventory = [InventoryEntry("arn:aws:rds:us-east-1:1:db:orders-9", "RDS", "orders")]
    found = {r.resource: (r.coverage, r.slo_hours) for r in resource_summaries(rows, inventory, OWN_SLO, Filters())}
    assert found == {
        "arn:db:orders-1": (OVERDUE, 6),
        "arn:db:archive-1": (COVERED, 72),
        "arn:db:misc-1": (COVERED, 24),
        "arn:db:gone-1": (OVERDUE, 24),
        "arn:aws:rds:us-east-1:1:db:orders-9": (NEVER_TESTED, 6),
    }
    assert OWN_SLO.describe_slo() == "24h; per selection: archive 72h, orders 6h"
    # The evidence pack's gaps follow the same SLO, and the read reaches back the longest one.
    assert [g.uncovered_from for g in coverage_gaps("r", [at(9)], OWN_SLO, 72)] == [at(10), at(6)]
    assert read_window(OWN_SLO)[0] == (OWN_SLO.since - timedelta(hours=72, days=1)).date()


def test_the_coverage_chart_scales_each_bar_to_its_own_slo():
    same = coverage_chart([("a", 12.0, COVERED, 24), ("b", 36.0, OVERDUE, 24)], 24)
    assert "SLO 24h" in same
    mixed = coverage_chart([("a", 12.0, OVERDUE, 6), ("b", 12.0, COVERED, 48)], 24)
    widths = [float(w) for w in re.findall(r'class="bar" x="[0-9.]+" y="[0-9.]+" width="([0-9.]+)"', mixed)]
    assert widths[0] == pytest.approx(8 * widths[1], abs=1), "12 h is twice a 6 h SLO, a quarter of a 48 h one"
    assert "12.0h of 6h" in mixed and "each against its selection" in mixed


def test_no_gap_when_passes_come_within_the_slo():
    passes = [at(10.5), *(at(day) for day in range(10, 0, -1)), at(0.2)]
    assert coverage_gaps("r", passes, WINDOW) == []


def test_gaps_before_the_first_pass_between_late_passes_and_after_the_last():
    gaps = coverage_gaps("r", [at(8), at(5), at(4.5)], WINDOW)
    assert [(g.uncovered_from, g.uncovered_until, g.why) for g in gaps] == [
        (at(10), at(8), "no PASSED validation yet"),
        (at(7), at(5), "next PASSED validation came late"),
        (at(3.5), UNTIL, "no PASSED validation since"),
    ]
    assert [g.hours for g in gaps] == [48.0, 48.0, 84.0]


def test_a_pass_before_the_window_covers_its_start():
    gaps = coverage_gaps("r", [at(10.5), at(2)], WINDOW)
    assert [(g.uncovered_from, g.uncovered_until) for g in gaps] == [(at(9.5), at(2)), (at(1), UNTIL)]


def test_never_passed_is_one_gap_over_the_whole_period():
    (gap,) = coverage_gaps("r", [], WINDOW)
    assert (gap.uncovered_from, gap.uncovered_until, gap.hours) == (WINDOW.since, UNTIL, 240.0)


def test_the_read_reaches_one_slo_and_a_day_before_the_window():
    assert read_window(WINDOW) == ((WINDOW.since - timedelta(hours=24, days=1)).date(), UNTIL.date())


def test_filters():
    arn = "arn:aws:rds:us-east-1:111122223333:db:orders-1"
    assert Filters().keeps(arn, None)
    assert Filters(resources=("orders",)).keeps(arn, "x")
    assert Filters(resources=("*:db:orders-*",)).keeps(arn, "x")
    assert not Filters(resources=("*:db:billing-*",)).keeps(arn, "x")
    assert Filters(selections=("a", "b")).keeps(arn, "b")
    assert not Filters(selections=("a",)).keeps(arn, None)


def test_moments():
    now = datetime(2026, 6, 30, 12, tzinfo=UTC)
    assert parse_moment("7d", now) == now - timedelta(days=7)
    assert parse_moment("36h", now) == now - timedelta(hours=36)
    assert parse_moment("2026-04-01", now) == datetime(2026, 4, 1, tzinfo=UTC)
    assert parse_moment("2026-04-01T10:00:00+02:00", now) == datetime(2026, 4, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="neither a duration"):
        parse_moment("yesterday", now)


def test_empty_charts_say_so():
    assert "no validations in the period" in pass_rate_chart([])
    assert "no restore times in the period" in rto_chart([])
    assert "no resources" in coverage_chart([], 24)


def test_rto_chart_spans_its_points_one_line_per_resource():
    svg = rto_chart([Series("a", [(at(3), 10.0), (at(2), 20.0)]), Series("b", [(at(1), 5.0)])])
    assert svg.count("<polyline") == 1 and svg.count('class="point"') == 3
    xs = [float(x) for x in re.findall(r'<circle class="point" cx="([0-9.]+)"', svg)]
    assert min(xs) == LEFT and max(xs) == WIDTH - 20  # first and last point at the axis' ends
    assert at(3).strftime("%Y-%m-%d %H:%M") in svg and at(1).strftime("%Y-%m-%d %H:%M") in svg


def test_pass_rate_bars_per_day():
    svg = pass_rate_chart([("2026-06-01", 4, 4), ("2026-06-02", 4, 1)])
    assert svg.count('class="bar"') == 2 and "4/4" in svg and "1/4" in svg


def test_chart_labels_are_escaped():
    svg = coverage_chart([("<b>&", None, NEVER_TESTED, 24)], 24)
    assert "<b>&" not in svg and "&lt;b&gt;&amp;" in svg
