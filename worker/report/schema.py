"""The records table as the report's engine sees it: the Glue table's columns (deploy/terraform, analytics) with
DuckDB types, plus the `dt` partition. The named queries run unchanged against a table of this shape."""

from __future__ import annotations

import json
from typing import Any

CHECK_STRUCT = (
    "STRUCT(name VARCHAR, kind VARCHAR, status VARCHAR, passed BOOLEAN, observed VARCHAR, expectation VARCHAR, "
    "message VARCHAR, duration_seconds DOUBLE)[]"
)

# Same names and order as the Glue table, less the chain fields (chain_seq, previous_digest, record_digest: the
# evidence pack verifies them from the S3 records); Glue `string` -> VARCHAR, `double` -> DOUBLE, `boolean` -> BOOLEAN.
RECORD_COLUMNS: dict[str, str] = {
    "validation_id": "VARCHAR",
    "status": "VARCHAR",
    "reason": "VARCHAR",
    "recovery_point_arn": "VARCHAR",
    "restored_instance_id": "VARCHAR",
    "restore_job_id": "VARCHAR",
    "restore_start_time": "VARCHAR",
    "restore_end_time": "VARCHAR",
    "restore_duration": "DOUBLE",
    "age_latest_db_tx": "DOUBLE",
    "data_gap_minutes": "DOUBLE",
    "rto_minutes": "DOUBLE",
    "rpo_target_met": "BOOLEAN",
    "rto_target_met": "BOOLEAN",
    "rpo_target_minutes": "DOUBLE",
    "rto_target_minutes": "DOUBLE",
    "checks": CHECK_STRUCT,
    "source_resource_arn": "VARCHAR",
    "resource_type": "VARCHAR",
    "engine": "VARCHAR",
    "account_id": "VARCHAR",
    "region": "VARCHAR",
    "backup_vault_name": "VARCHAR",
    "recovery_point_created_at": "VARCHAR",
    "cleanup_status": "VARCHAR",
    "worker_version": "VARCHAR",
    "selection": "VARCHAR",
    "finished_at": "VARCHAR",
    "origin": "VARCHAR",
    "restore_testing_plan_arn": "VARCHAR",
    "dt": "VARCHAR",
}

CHECK_FIELDS = ("name", "kind", "status", "passed", "observed", "expectation", "message", "duration_seconds")


def table_row(record: dict[str, Any], dt: str | None) -> dict[str, Any]:
    """A record as a row of the table: only the table's columns; a check's `observed` as text, as the Glue
    table (string) and Athena's JSON SerDe see it."""
    row = {name: record.get(name) for name in RECORD_COLUMNS if name not in ("checks", "dt")}
    row["checks"] = [_check_row(check) for check in record.get("checks") or [] if isinstance(check, dict)]
    row["dt"] = dt
    return row


def _check_row(check: dict[str, Any]) -> dict[str, Any]:
    row = {name: check.get(name) for name in CHECK_FIELDS}
    observed = row["observed"]
    if observed is not None and not isinstance(observed, str):
        row["observed"] = json.dumps(observed, default=str)
    return row
