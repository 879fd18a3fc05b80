"""`backup-validator report` on records from real validations: every kind of outcome, every format, the filters."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from harness.outputs import REPORT_OUTPUT as OUTPUT

pytestmark = pytest.mark.slow


def quantile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (DuckDB's quantile_cont, numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def by_resource(document: dict) -> dict[str, dict]:
    return {r["resource"]: r for r in document["resources"]}


def test_the_fleet_ran_as_planned(fleet):
    statuses = sorted((name, r["status"]) for name in fleet.sources for r in fleet.records_of(name))
    assert statuses == [
        ("broken", "RESTORE_FAILED"),
        ("maria", "PASSED"),
        ("pg", "PASSED"),
        ("pg", "PASSED"),
        ("stale", "FAILED"),
    ]


def test_json_says_what_each_resource_went_through(fleet):
    document = fleet.report_json()
    rows = by_resource(document)
    assert set(rows) == {fleet.arn(name) for name in fleet.sources}
    pg = rows[fleet.arn("pg")]
    assert (pg["coverage"], pg["last_status"], pg["runs"], pg["passed"]) == ("COVERED", "PASSED", 2, 2)
    durations = [r["rto_minutes"] for r in fleet.records_of("pg")]
    gaps = [r["data_gap_minutes"] for r in fleet.records_of("pg")]
    assert pg["rto_p50"] == pytest.approx(quantile(durations, 0.5))
    assert pg["rto_p95"] == pytest.approx(quantile(durations, 0.95))
    assert pg["gap_p95"] == pytest.approx(quantile(gaps, 0.95))
    assert pg["hours_since_pass"] < 1
    assert pg["selection"] == "orders" and pg["engine"] == "postgres"
    maria = rows[fleet.arn("maria")]
    assert (maria["coverage"], maria["last_status"], maria["runs"]) == ("COVERED", "PASSED", 1)

    stale = rows[fleet.arn("stale")]
    assert (stale["coverage"], stale["last_status"], stale["passed"]) == ("NEVER_PASSED", "FAILED", 0)
    freshness = next(c for c in fleet.records_of("stale")[0]["checks"] if c["kind"] == "freshness")
    assert freshness["name"] in stale["last_reason"] and "FAILED" in stale["last_reason"]
    assert stale["rpo_misses"] == 1

    broken = rows[fleet.arn("broken")]
    assert (broken["coverage"], broken["last_status"]) == ("NEVER_PASSED", "RESTORE_FAILED")
    assert broken["last_reason"] == fleet.records_of("broken")[0]["reason"]
    assert broken["rto_p50"] is None  # nothing was restored: no recovery time, none claimed
    assert broken["rto_misses"] == 1  # and the target was missed, whatever the record's rto_target_met says

    untested = rows[fleet.arn("untested")]
    assert (untested["coverage"], untested["last_status"], untested["runs"]) == ("NEVER_TESTED", None, 0)
    assert document["inventory_used"] is True
    assert document["unreadable_objects"] == [fleet.junk_key]

    failures = {(f["source_resource_arn"], f["status"]) for f in document["failures"]}
    assert failures == {(fleet.arn("stale"), "FAILED"), (fleet.arn("broken"), "RESTORE_FAILED")}
    selection = next(g for g in document["groups"] if g["dimension"] == "selection")
    assert (selection["value"], selection["runs"], selection["passed"]) == ("orders", 5, 3)
    assert (selection["resources"], selection["covered"]) == (5, 2)
    # The never-tested source has no engine on record: its own slice, with nothing run.
    unknown = next(g for g in document["groups"] if g["dimension"] == "engine" and g["value"] == "(none)")
    assert (unknown["resources"], unknown["runs"], unknown["pass_rate"]) == (1, 0, None)


def test_worst_first_in_the_table_with_reasons(fleet):
    done = fleet.report()
    assert done.returncode == 0, done.stderr
    (OUTPUT / "report.txt").write_text(done.stdout)
    lines = done.stdout.splitlines()
    order = [name for line in lines for name in fleet.sources if line.startswith(fleet.sources[name].identifier)]
    # Worst first (never tested, never passed, overdue, covered), then by ARN: stale is postgres-2, broken -3.
    assert order == ["untested", "stale", "broken", "maria", "pg"]
    assert "Failures (2)" in done.stdout
    assert fleet.records_of("broken")[0]["reason"][:40] in done.stdout
    assert "1 object(s) under the prefix are not records" in done.stdout
    assert "reading records: 6/6" in done.stderr  # progress, on stderr only


def test_csv_holds_the_same_rows_as_json(fleet):
    done = fleet.report("--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = {row["resource"]: row for row in csv.DictReader(io.StringIO(done.stdout))}
    document = by_resource(fleet.report_json())
    assert set(rows) == set(document)
    for arn, expected in document.items():
        assert rows[arn]["coverage"] == expected["coverage"]
        assert rows[arn]["runs"] == str(expected["runs"])
        assert rows[arn]["last_status"] == (expected["last_status"] or "")
        if expected["rto_p95"] is not None:
            assert float(rows[arn]["rto_p95"]) == pytest.approx(expected["rto_p95"])


def test_filters(fleet):
    only = by_resource(fleet.report_json("--status", "NEVER_TESTED"))
    assert list(only) == [fleet.arn("untested")]
    failing = by_resource(fleet.report_json("--status", "FAILED,RESTORE_FAILED"))
    assert set(failing) == {fleet.arn("stale"), fleet.arn("broken")}
    glob = by_resource(fleet.report_json("--resource", f"*:db:{fleet.sources['pg'].identifier}"))
    assert list(glob) == [fleet.arn("pg")]
    assert fleet.report_json("--selection", "no-such-selection")["resources"] == []
    # A window that ends before any validation: nothing ran, so nothing passed and no figures are claimed.
    early = by_resource(fleet.report_json("--since", "2020-01-01", "--until", "2020-01-02"))
    assert {r["coverage"] for r in early.values()} == {"NEVER_TESTED"}


def test_records_only_and_bad_arguments(fleet):
    records_only = fleet.report_json("--no-inventory")
    assert fleet.arn("untested") not in by_resource(records_only)
    assert records_only["inventory_used"] is False
    bad = fleet.report("--since", "last tuesday")
    assert bad.returncode == 2 and "neither a duration" in bad.stderr and bad.stdout == ""
    missing = fleet.report(results_bucket="no-such-bucket-for-the-report")
    assert missing.returncode == 1 and "NoSuchBucket" in missing.stderr and missing.stdout == ""
    unwritable = fleet.report("--html", "/proc/no-such-dir/report.html")
    assert unwritable.returncode == 1 and "could not write /proc/no-such-dir/report.html" in unwritable.stderr
    assert unwritable.stdout == ""


def test_coverage_is_judged_by_each_selections_coverage_slo(fleet, tmp_path):
    """Two hours after the validations: covered by the deployment's 26 hours, overdue by a selection's own 1."""
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    deployment = by_resource(fleet.report_json("--until", until))[fleet.arn("pg")]
    assert (deployment["coverage"], deployment["slo_hours"]) == ("COVERED", 26)
    policy = tmp_path / "policy.toml"
    text = fleet.stack.policy_file.read_text()
    policy.write_text(text.replace('name = "orders"\n', 'name = "orders"\ncoverage_slo = "1h"\n', 1))
    done = fleet.report("--format", "json", "--until", until, env={"BV_POLICY_FILE": str(policy)})
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    rows = by_resource(document)
    assert (rows[fleet.arn("pg")]["coverage"], rows[fleet.arn("pg")]["slo_hours"]) == ("OVERDUE", 1)
    assert (rows[fleet.arn("maria")]["coverage"], rows[fleet.arn("maria")]["slo_hours"]) == ("OVERDUE", 1)
    assert document["selection_coverage_slo_hours"] == {"orders": 1}
    table = fleet.report("--until", until, env={"BV_POLICY_FILE": str(policy)})
    assert table.returncode == 0 and "coverage SLO 26h; per selection: orders 1h" in table.stdout
