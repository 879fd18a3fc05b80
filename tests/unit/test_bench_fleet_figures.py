"""How the fleet benchmark turns what it observed into figures (bench/fleet_figures.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.fleet_figures import cap_figures, fleet_ratio, listing_calls, seed_calls, throughput_figures


def test_listing_takes_one_page_per_thousand_points_and_one_for_an_empty_vault():
    assert listing_calls([100_000]) == 100
    assert listing_calls([100_001, 0, 1, 1000]) == 101 + 1 + 1 + 1
    assert listing_calls([2500], page=1000) == 3
    assert listing_calls([]) == 0


def test_the_cap_is_exceeded_only_by_the_exact_peak_not_by_samples():
    within = cap_figures([0, 5, 10, 10, 5], peak=10, cap=10)
    assert within["cap_exceeded"] is False
    assert within["sampled_max"] == 10 and within["mean_in_flight"] == 6.0 and within["cap_use"] == 0.6
    # a restore over the cap between two samples: the samples miss it, the emulator's high-water mark does not
    over = cap_figures([9, 10, 9], peak=11, cap=10)
    assert over["cap_exceeded"] is True and over["sampled_max"] == 10


def test_no_samples_give_no_mean_rather_than_an_error():
    figures = cap_figures([], peak=0, cap=20)
    assert figures["mean_in_flight"] == 0.0 and figures["samples"] == 0 and figures["cap_use"] == 0.0


def test_three_workers_against_one_compare_validations_per_minute():
    one, three = throughput_figures(240, 120.0), throughput_figures(240, 80.0)
    assert one["per_minute"] == 120.0 and three["per_minute"] == 180.0
    assert fleet_ratio(one, three) == 1.5
    assert fleet_ratio(one, throughput_figures(0, 0.0)) is None


def test_seeding_in_calls_places_every_point_where_one_call_would():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=99)
    calls = seed_calls(100_000, 1000, start, end, largest=20_000)
    assert [size for size, _, _ in calls] == [20_000] * 5
    step = (end - start) / 99_999
    # one call's points: evenly from its first to its last time, as the emulator spreads them
    placed = [first + (last - first) / (size - 1) * n for size, first, last in calls for n in range(size)]
    # (timedelta keeps microseconds: over 100,000 steps the rounding adds up to tens of milliseconds)
    assert all(abs((t - (start + step * i)).total_seconds()) < 0.1 for i, t in enumerate(placed))
    assert abs((placed[-1] - end).total_seconds()) < 0.1


def test_seeding_calls_hold_whole_rounds_of_sources_and_at_least_one():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert [size for size, _, _ in seed_calls(2500, 300, start, start, largest=1000)] == [900, 900, 700]
    assert [size for size, _, _ in seed_calls(1200, 700, start, start, largest=500)] == [700, 500]
    single = seed_calls(1, 1, start, start, largest=10)
    assert single == [(1, start, start)]
    assert seed_calls(0, 0, start, start, largest=10) == []
