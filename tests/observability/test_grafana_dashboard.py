"""The Grafana dashboard's structure: the panels the operators need, every query on the provisioned
Prometheus datasource, every template variable defined. (That Prometheus accepts and answers every query is
proven in test_alert_rules.py and test_prometheus_scrape.py.)"""

from __future__ import annotations

import pytest
from obs_support import (
    GRAFANA_SUBSTITUTIONS,
    dashboard_expressions,
    dashboard_panels,
    grafana_variables,
    load_dashboard,
)

DASHBOARD = load_dashboard()
PANELS = [panel for panel in dashboard_panels(DASHBOARD) if panel["type"] != "row"]
VARIABLES = {variable["name"]: variable for variable in DASHBOARD["templating"]["list"]}
BUILTINS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms"}


def test_identity() -> None:
    assert DASHBOARD["uid"] == "backup-validator"
    assert DASHBOARD["title"] == "Backup Validator"
    assert DASHBOARD["schemaVersion"] >= 36


@pytest.mark.parametrize(
    ("title", "fragment"),
    [
        ("Validations by status", "sum by (status) (increase(backup_validation_validations_total"),
        ("Pass rate", 'status="PASSED"'),
        ("Restore duration p50 / p95", "histogram_quantile(0.95"),
        ("Data gap per engine (real RPO)", "backup_validation_data_gap_seconds_bucket"),
        ("Jobs and restores in flight", "backup_validation_restores_in_flight"),
        ("Queue depth", "backup_validation_queue_messages"),
        ("DLQ messages", 'queue="dlq"'),
        ("Recent failures", 'status=~"FAILED|RESTORE_FAILED|ERROR"'),
        ("Last PASSED validation", "backup_validation_last_success_timestamp_seconds"),
        ("AWS API errors", "backup_validation_aws_api_errors_total"),
    ],
)
def test_required_panels(title: str, fragment: str) -> None:
    matching = [panel for panel in PANELS if panel["title"] == title]
    assert matching, f"no panel {title!r}"
    exprs = " ".join(target["expr"] for panel in matching for target in panel["targets"])
    assert fragment in exprs, f"panel {title!r} does not query {fragment}"


def test_restore_duration_shows_p50_and_p95() -> None:
    (panel,) = [p for p in PANELS if p["title"] == "Restore duration p50 / p95"]
    exprs = [target["expr"] for target in panel["targets"]]
    assert any("histogram_quantile(0.5," in e for e in exprs)
    assert any("histogram_quantile(0.95," in e for e in exprs)
    assert all("backup_validation_restore_duration_seconds_bucket" in e for e in exprs)


def test_recent_failures_is_a_table() -> None:
    (panel,) = [p for p in PANELS if p["title"] == "Recent failures"]
    assert panel["type"] == "table"
    assert panel["targets"][0]["format"] == "table" and panel["targets"][0]["instant"] is True


def test_panels_are_laid_out_and_unique() -> None:
    ids = [panel["id"] for panel in dashboard_panels(DASHBOARD)]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    occupied: set[tuple[int, int]] = set()
    for panel in dashboard_panels(DASHBOARD):
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"panel {panel['title']!r} overlaps another"
        occupied |= cells


def test_every_query_uses_the_datasource_variable() -> None:
    assert VARIABLES["datasource"]["type"] == "datasource"
    assert VARIABLES["datasource"]["query"] == "prometheus"
    for panel in PANELS:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
    for variable in VARIABLES.values():
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == "${datasource}", variable["name"]


def test_every_variable_used_is_defined_and_substituted_in_tests() -> None:
    used = set()
    for expr in dashboard_expressions().values():
        used |= grafana_variables(expr)
    for variable in VARIABLES.values():
        if variable["type"] == "query":
            used |= grafana_variables(variable["query"]["query"])
    assert used - BUILTINS <= set(VARIABLES), f"undefined variables: {used - BUILTINS - set(VARIABLES)}"
    assert used <= set(GRAFANA_SUBSTITUTIONS), "teach obs_support.GRAFANA_SUBSTITUTIONS the new variable"
    # "All" must become a regex that matches everything, since the queries use =~
    for name in ("engine", "resource_type"):
        assert VARIABLES[name]["includeAll"] and VARIABLES[name]["allValue"] == ".*"
