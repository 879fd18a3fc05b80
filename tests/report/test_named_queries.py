"""Every Athena named query, its SQL text as Terraform renders it, run on the embedded engine against the records
of the mixed fleet's real validations (only the table reference adapted)."""

from __future__ import annotations

import re

import boto3
import pytest
from named_queries import for_duckdb, planned_named_queries

from worker.adapters.record_engine import RecordEngine
from worker.report.schema import RECORD_COLUMNS, table_row

pytestmark = pytest.mark.slow
EXPECTED = {"latest_result_per_resource", "failures_last_7_days", "rto_rpo_percentiles", "stale_resources"}


@pytest.fixture(scope="module")
def named_queries(moto_server) -> dict[str, str]:
    return planned_named_queries(moto_server.url)


@pytest.fixture
def engine(fleet):
    keys = boto3.client("s3").list_objects_v2(Bucket=fleet.stack.resources.bucket)["Contents"]
    day = {}
    for item in keys:
        match = re.search(r"dt=([0-9-]+)/([^/]+)\.json$", item["Key"])
        if match:
            day[match.group(2)] = match.group(1)
    loaded = RecordEngine()
    assert loaded.load((table_row(r, day[r["validation_id"]]) for r in fleet.records), RECORD_COLUMNS) == 5
    yield loaded
    loaded.close()


def test_every_named_query_is_planned(named_queries):
    assert set(named_queries) == EXPECTED


def test_latest_result_per_resource(named_queries, engine, fleet):
    rows = engine.query(for_duckdb(named_queries["latest_result_per_resource"]))
    latest = {row["source_resource_arn"]: row["status"] for row in rows}
    assert latest == {
        fleet.arn("pg"): "PASSED",
        fleet.arn("maria"): "PASSED",
        fleet.arn("stale"): "FAILED",
        fleet.arn("broken"): "RESTORE_FAILED",
    }
    newest_pg = max(fleet.records_of("pg"), key=lambda r: r["finished_at"])
    pg = next(row for row in rows if row["source_resource_arn"] == fleet.arn("pg"))
    assert pg["validation_id"] == newest_pg["validation_id"]


def test_failures_last_7_days(named_queries, engine, fleet):
    rows = engine.query(for_duckdb(named_queries["failures_last_7_days"]))
    assert {(row["source_resource_arn"], row["status"]) for row in rows} == {
        (fleet.arn("stale"), "FAILED"),
        (fleet.arn("broken"), "RESTORE_FAILED"),
    }
    stale = next(row for row in rows if row["status"] == "FAILED")
    freshness = next(c for c in fleet.records_of("stale")[0]["checks"] if c["kind"] == "freshness")
    assert stale["failed_checks"] == [f"{freshness['name']}: {freshness['message']}"]
    broken = next(row for row in rows if row["status"] == "RESTORE_FAILED")
    assert broken["reason"] == fleet.records_of("broken")[0]["reason"] and broken["failed_checks"] == []
    assert {(row["origin"], row["restore_testing_plan_arn"]) for row in rows} == {("event", None)}


def test_a_restore_tests_origin_and_plan_reach_the_table_and_the_named_queries(named_queries, fleet):
    """The record's `origin` and `restore_testing_plan_arn` are columns of the table (as in Glue), so the named
    queries and the report say who started a failed restore."""
    plan = "arn:aws:backup:us-east-1:123456789012:restore-testing-plan:nightly-0f1e2d"
    moved = {fleet.records_of("broken")[0]["validation_id"]}
    records = [
        {**r, "origin": "restore_testing", "restore_testing_plan_arn": plan} if r["validation_id"] in moved else r
        for r in fleet.records
    ]
    loaded = RecordEngine()
    try:
        assert loaded.load((table_row(r, r["finished_at"][:10]) for r in records), RECORD_COLUMNS) == 5
        failures = loaded.query(for_duckdb(named_queries["failures_last_7_days"]))
        latest = loaded.query(for_duckdb(named_queries["latest_result_per_resource"]))
    finally:
        loaded.close()
    origins = {row["source_resource_arn"]: (row["origin"], row["restore_testing_plan_arn"]) for row in failures}
    assert origins == {fleet.arn("broken"): ("restore_testing", plan), fleet.arn("stale"): ("event", None)}
    assert {row["source_resource_arn"]: row["origin"] for row in latest}[fleet.arn("broken")] == "restore_testing"


def test_rto_rpo_percentiles(named_queries, engine, fleet):
    rows = {row["source_resource_arn"]: row for row in engine.query(for_duckdb(named_queries["rto_rpo_percentiles"]))}
    assert set(rows) == {fleet.arn(name) for name in ("pg", "maria", "stale", "broken")}
    pg = rows[fleet.arn("pg")]
    assert pg["validations"] == 2
    assert pg["rto_max_minutes"] == max(r["restore_duration"] for r in fleet.records_of("pg"))
    assert pg["rpo_max_minutes"] == max(r["data_gap_minutes"] for r in fleet.records_of("pg"))
    assert min(r["restore_duration"] for r in fleet.records_of("pg")) <= pg["rto_p50_minutes"] <= pg["rto_max_minutes"]


def test_stale_resources(named_queries, engine, fleet):
    rows = engine.query(for_duckdb(named_queries["stale_resources"]))
    assert {row["source_resource_arn"]: row["last_passed_at"] for row in rows} == {
        fleet.arn("stale"): None,
        fleet.arn("broken"): None,
    }
