"""Pure parts of the report: coverage verdicts, coverage gaps, filters, moments, the charts' empty cases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from worker.report.collect import parse_moment, read_window
from worker.report.evidence import coverage_gaps
from worker.report.model import COVERED, NEVER_PASSED, NEVER_TESTED, OVERDUE, Filters, Window, coverage_of
from worker.report.svg import LEFT, WIDTH, Series, coverage_chart, pass_rate_chart, rto_chart

UNTIL = datetime(2026, 6, 30, tzinfo=UTC)
WINDOW = Window(UNTIL - timedelta(days=10), UNTIL, slo_hours=24)


def at(days_before_until: float) -> datetime:
    return UNTIL - timedelta(days=days_before_until)


def test_coverage_verdicts():
    assert coverage_of(None, False, WINDOW) == (NEVER_TESTED, None)
    assert coverage_of(None, True, WINDOW) == (NEVER_PASSED, None)
    assert coverage_of(at(0.5), True, WINDOW) == (COVERED, 12.0)
    assert coverage_of(at(1), True, WINDOW) == (COVERED, 24.0)  # the SLO's edge still counts
    assert coverage_of(at(1.5), True, WINDOW) == (OVERDUE, 36.0)


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
    svg = coverage_chart([("<b>&", None, NEVER_TESTED)], 24)
    assert "<b>&" not in svg and "&lt;b&gt;&amp;" in svg
