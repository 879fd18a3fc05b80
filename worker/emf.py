"""CloudWatch metrics carried in the summary log line (Embedded Metric Format).

The names here are the contract with the CloudWatch alarms in `deploy/terraform`: the Terraform tests read
them from this module, so rename here and there together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NAMESPACE = "BackupValidator"

# metric name -> CloudWatch unit
METRICS: Mapping[str, str] = {
    "ValidationPassed": "Count",
    "ValidationFailed": "Count",
    "RestoreFailed": "Count",
    "ValidationError": "Count",
    "RestoreDurationMinutes": "None",
    "DataGapMinutes": "None",
    "AgeLatestDbTxMinutes": "None",
    "RpoTargetMissed": "Count",
    "RtoTargetMissed": "Count",
    "CleanupFailed": "Count",
}

# One dimensionless set (what the alarms watch) and one per resource type and engine (for dashboards).
DIMENSION_SETS: tuple[tuple[str, ...], ...] = ((), ("ResourceType", "Engine"))

_STATUS_METRIC = {
    "PASSED": "ValidationPassed",
    "FAILED": "ValidationFailed",
    "RESTORE_FAILED": "RestoreFailed",
    "ERROR": "ValidationError",
}


def metric_values(record: Mapping[str, Any]) -> dict[str, float]:
    """The EMF metric values that one summary record contributes."""
    values: dict[str, float] = {name: 0.0 for name in _STATUS_METRIC.values()}
    status_metric = _STATUS_METRIC.get(str(record.get("status")))
    if status_metric is None:
        return {}
    values[status_metric] = 1.0
    for field, name in (
        ("restore_duration", "RestoreDurationMinutes"),
        ("data_gap_minutes", "DataGapMinutes"),
        ("age_latest_db_tx", "AgeLatestDbTxMinutes"),
    ):
        value = record.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool) and not _nothing_to_compare(record, field):
            values[name] = float(value)
    if record.get("rpo_target_met") is False:
        values["RpoTargetMissed"] = 1.0
    if record.get("rto_target_met") is False:
        values["RtoTargetMissed"] = 1.0
    values["CleanupFailed"] = 1.0 if record.get("cleanup_status") == "FAILED" else 0.0
    return values


def _nothing_to_compare(record: Mapping[str, Any], field: str) -> bool:
    """A failed restore's duration is how long it took to fail: not a restore time for the duration alarms."""
    return field == "restore_duration" and record.get("status") == "RESTORE_FAILED"


def emf_document(record: Mapping[str, Any], timestamp_ms: int) -> dict[str, Any]:
    """The record plus the `_aws` block that makes CloudWatch Logs extract metrics from it."""
    values = metric_values(record)
    document: dict[str, Any] = dict(record)
    document["ResourceType"] = str(record.get("resource_type") or "unknown")
    document["Engine"] = str(record.get("engine") or "unknown")
    document.update(values)
    document["_aws"] = {
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [
            {
                "Namespace": NAMESPACE,
                "Dimensions": [list(dims) for dims in DIMENSION_SETS],
                "Metrics": [{"Name": name, "Unit": METRICS[name]} for name in values],
            }
        ],
    }
    return document


# The reconciler's coverage metrics (worker/coverage.py), one line per pass for the deployment and one per
# selection. The alarm watches the dimensionless UncoveredSources (deploy/terraform/modules/monitoring).
COVERAGE_METRICS: Mapping[str, str] = {
    "UncoveredSources": "Count",
    "SelectedSources": "Count",
    "BackupsStoppedSources": "Count",
}
COVERAGE_DIMENSION = "Selection"
COVERAGE_EVENT = "coverage"  # the `event` of these lines: never a record (records carry `validation_id`)


def coverage_document(counts: Mapping[str, int], selection: str | None, timestamp_ms: int) -> dict[str, Any]:
    """One coverage line: `counts` by metric name; per selection (dimension `Selection`) or, with None, for the
    whole deployment (no dimension: what the alarm watches)."""
    document: dict[str, Any] = {"event": COVERAGE_EVENT, **{name: int(counts[name]) for name in COVERAGE_METRICS}}
    dimensions: list[list[str]] = [[]]
    if selection is not None:
        document[COVERAGE_DIMENSION] = selection
        dimensions = [[COVERAGE_DIMENSION]]
    document["_aws"] = {
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [
            {
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": [{"Name": name, "Unit": unit} for name, unit in COVERAGE_METRICS.items()],
            }
        ],
    }
    return document
