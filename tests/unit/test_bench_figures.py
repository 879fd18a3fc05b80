"""The benchmark's figures from synthetic observations (bench/figures.py: pure functions)."""

from __future__ import annotations

import pytest

from bench.figures import (
    Timing,
    ideal_seconds,
    overheads,
    per_validation,
    percentile,
    scenario_figures,
    slot_times,
    table,
    waiting_figures,
)


def timing(start: float, restore: float, finished: float, check: float = 0.1, detected: float | None = None):
    return Timing(start, start + restore, finished, check, detected)


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 95) is None


def test_ideal_is_restore_time_spread_over_the_slots_but_never_below_the_longest():
    assert ideal_seconds([3.0] * 1000, 100) == pytest.approx(30.0)
    assert ideal_seconds([2.0, 10.0], 100) == 10.0
    assert ideal_seconds([], 10) == 0.0


def test_a_restore_beyond_the_concurrency_gets_the_slot_of_the_first_to_finish():
    t0 = 100.0
    runs = [
        timing(100.1, 3.0, 103.5),  # 1st slot
        timing(100.2, 2.0, 102.6),  # 2nd slot, finishes first
        timing(102.7, 2.0, 105.0),  # waited for a slot: got the one freed at 102.6
    ]
    assert slot_times(runs, t0, concurrency=2) == [t0, t0, 102.6]
    over = overheads(runs, t0, concurrency=2)
    assert over == pytest.approx([3.5 - 3.0 - 0.1, 2.6 - 2.0 - 0.1, 2.4 - 2.0 - 0.1])


def test_calls_per_validation_are_grouped_by_service():
    calls = {"sqs:ReceiveMessage": 20, "sqs:DeleteMessageBatch": 30, "backup:ListRestoreJobs": 5}
    assert per_validation(calls, 100) == {
        "backup": {"ListRestoreJobs": 0.05},
        "sqs": {"DeleteMessageBatch": 0.3, "ReceiveMessage": 0.2},
    }


def test_scenario_figures():
    t0 = 0.0
    runs = [timing(0.5, 3.0, 4.0, check=0.2, detected=3.6) for _ in range(10)]
    figures = scenario_figures(
        runs,
        t0=t0,
        concurrency=10,
        cpu_s=0.2,
        peak_rss_bytes=100 * 2**20,
        calls={"backup:DescribeRestoreJob": 10, "backup:ListRestoreJobs": 2, "dynamodb:UpdateItem": 60},
        baseline_cpu_ms=200.0,
        machine_cpu_s=8.0,
        cores=2,
    )
    assert figures["wall_s"] == 4.0
    assert figures["ideal_s"] == 3.0
    assert figures["wall_vs_ideal"] == pytest.approx(1.333, abs=1e-3)
    assert figures["cpu_bound_s"] == 4.0
    assert figures["overhead_p95_s"] == pytest.approx(0.8)
    assert figures["cpu_ms_per_validation"] == 20.0
    assert figures["cpu_vs_baseline"] == 10.0
    assert figures["peak_rss_mb"] == 100.0
    assert figures["status_calls_per_validation"] == 1.2
    assert figures["detect_p95_s"] == pytest.approx(0.1)
    assert "throughput" in table({"throughput": figures})


def test_waiting_figures():
    figures = waiting_figures(
        in_flight=1000,
        fill_s=30.0,
        fill_cpu_s=7.5,
        wait_s=60.0,
        wait_cpu_s=0.6,
        idle_rss_bytes=100 * 2**20,
        peak_rss_bytes=110 * 2**20,
        fill_calls={"backup:StartRestoreJob": 1000},
        wait_calls={"backup:ListRestoreJobs": 30, "sqs:ChangeMessageVisibilityBatch": 600},
    )
    assert figures["rss_kb_per_inflight"] == pytest.approx(10.2, abs=0.1)
    assert figures["cpu_ms_per_validation"] == 7.5
    assert figures["wait_cpu_percent"] == 1.0
    assert figures["wait_status_calls_per_minute"] == 30.0
    assert figures["wait_api_calls_per_inflight_hour"]["sqs"]["ChangeMessageVisibilityBatch"] == 36.0
