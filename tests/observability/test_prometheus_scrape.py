"""A real Prometheus scraping the worker's metrics, queried through its HTTP API.

The scrape target is a stand-in for now: the real `worker.metrics.Metrics` on its own registry, filled by the
real `worker.reporting.Reporter.observe` from summary records (as the pipeline reports validations) and by the
gauges/counters the consumer, queue poller and AWS adapter set, served by prometheus_client's HTTP server.

SWITCH TO THE REAL WORKER: replace the `scrape_target` fixture with one that starts `backup-validator run`
(BV_METRICS_PORT on a free port) against the test stand-ins and runs validations through the queue; the
`MetricsTarget.record` phases then become "send N recovery points and wait for their records". Everything
after the fixture (Prometheus, the assertions) stays as it is.

Proven here: the series names, labels and histogram buckets Prometheus stores are the ones the dashboards and
rules query; every dashboard expression returns data on them; every alert expression evaluates; the alert
rules load and evaluate without errors, and the failure alerts fire on a failed validation.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from obs_support import (
    ALERTS_FILE,
    PrometheusServer,
    alert_expressions,
    dashboard_expressions,
    dashboard_variable_selectors,
    substitute_grafana_variables,
)
from prometheus_client import CollectorRegistry, start_http_server

from worker.metrics import DATA_GAP_BUCKETS, RESTORE_BUCKETS, Metrics
from worker.reporting import Reporter

JOB = "backup-validator"


def record(status: str, engine: str, restore_minutes: float | None, gap_minutes: float | None) -> dict[str, Any]:
    """A summary record as the pipeline reports it (the fields Reporter.observe reads)."""
    failed_check = status == "FAILED"
    checks = [
        {"name": "events-fresh", "kind": "freshness", "status": "PASSED", "duration_seconds": 0.02},
        {"name": "events-rows", "kind": "row_count", "status": "PASSED", "duration_seconds": 0.01},
        {
            "name": "no-negative-amounts",
            "kind": "sql",
            "status": "FAILED" if failed_check else "PASSED",
            "duration_seconds": 0.3,
        },
    ]
    return {
        "status": status,
        "resource_type": "RDS",
        "engine": engine,
        "restore_duration": restore_minutes,
        "data_gap_minutes": gap_minutes,
        "checks": checks if status in ("PASSED", "FAILED") else [],
        "cleanup_status": "DELETED",
        "rpo_target_met": gap_minutes is None or gap_minutes <= 15,
        "rto_target_met": restore_minutes is None or restore_minutes <= 10,
    }


# One "phase" of activity; the test runs it twice, so that every counter has grown between two scrapes.
PHASE = [
    record("PASSED", "postgres", 0.4, 2.0),
    record("PASSED", "postgres", 0.45, 3.0),
    record("PASSED", "mariadb", 0.3, 1.0),
    record("FAILED", "postgres", 0.5, 40.0),  # a data check failed, and the data gap missed the RPO
    record("RESTORE_FAILED", "mariadb", None, None),
    record("ERROR", "postgres", 0.2, None),
]
EXPECTED_VALIDATIONS = {  # (engine, status) -> count after both phases
    ("postgres", "PASSED"): 4,
    ("mariadb", "PASSED"): 2,
    ("postgres", "FAILED"): 2,
    ("mariadb", "RESTORE_FAILED"): 2,
    ("postgres", "ERROR"): 2,
}


@dataclass
class MetricsTarget:
    address: str  # host:port that Prometheus scrapes (/metrics)
    record_phase: Callable[[], None]  # one PHASE of validations and the worker's other activity


@pytest.fixture(scope="module")
def scrape_target() -> Iterator[MetricsTarget]:
    """STAND-IN for the worker's metrics endpoint (see the module docstring: switch to the real worker)."""
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    reporter = Reporter(store=None, sink=None, backup=None, metrics=metrics, log=None)  # type: ignore[arg-type]
    metrics.build.info({"version": "0.0.0-test"})
    port = _free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)

    def record_phase() -> None:
        for item in PHASE:
            reporter.observe(item)
        metrics.jobs_in_flight.set(3)
        metrics.restores_in_flight.labels("123456789012").set(2)
        metrics.queue_messages.labels("main", "visible").set(7)
        metrics.queue_messages.labels("main", "in_flight").set(3)
        metrics.queue_messages.labels("dlq", "visible").set(2)
        metrics.queue_messages.labels("dlq", "in_flight").set(0)
        metrics.sqs_messages.labels("acked").inc(5)
        metrics.sqs_messages.labels("retried").inc()
        metrics.aws_api_calls.labels("backup", "StartRestoreJob").inc(3)
        metrics.aws_api_calls.labels("rds", "DescribeDBInstances").inc(12)
        metrics.aws_api_errors.labels("rds", "DescribeDBInstances", "Throttling").inc()
        metrics.cleanup_failures.labels("RDS").inc()
        metrics.swept.labels("RDS").inc()
        metrics.coverage_missing.set(1)

    yield MetricsTarget(f"127.0.0.1:{port}", record_phase)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _free_port() -> int:
    from obs_support import free_port

    return free_port()


@pytest.fixture(scope="module")
def prometheus(prometheus_factory, scrape_target: MetricsTarget, tmp_path_factory) -> PrometheusServer:  # type: ignore[no-untyped-def]
    """Prometheus scraping the target every second, with the shipped alert rules, after two phases."""
    rules_dir = tmp_path_factory.mktemp("rules")
    shutil.copy(ALERTS_FILE, rules_dir / "alerts.yml")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_dir / "alerts.yml")],
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [scrape_target.address]}]}],
    }
    server: PrometheusServer = prometheus_factory("scrape", config)
    scrape_target.record_phase()  # creates every series
    server.wait_until(
        lambda: _value(server, f'count_over_time(up{{job="{JOB}"}}[1m])') >= 2,
        timeout=20,
        message="the target was not scraped twice",
    )
    scrape_target.record_phase()  # grows every counter and histogram between scrapes
    expected = EXPECTED_VALIDATIONS[("postgres", "PASSED")]
    server.wait_until(
        lambda: (
            _value(
                server, f'sum(backup_validation_validations_total{{job="{JOB}", status="PASSED", engine="postgres"}})'
            )
            == expected
        ),
        timeout=20,
        message="the second phase was not scraped",
    )
    return server


def _value(server: PrometheusServer, expr: str) -> float:
    result = server.vector(expr)
    return float(result[0]["value"][1]) if result else math.nan


def test_the_target_is_up(prometheus: PrometheusServer) -> None:
    assert _value(prometheus, f'up{{job="{JOB}"}}') == 1


def test_validation_counters_by_engine_and_status(prometheus: PrometheusServer) -> None:
    series = prometheus.vector(f'backup_validation_validations_total{{job="{JOB}"}}')
    found = {(s["metric"]["engine"], s["metric"]["status"]): float(s["value"][1]) for s in series}
    assert found == EXPECTED_VALIDATIONS
    for s in series:
        assert set(s["metric"]) == {"__name__", "job", "instance", "resource_type", "engine", "status"}
        assert s["metric"]["resource_type"] == "RDS"
    assert _value(prometheus, 'sum(increase(backup_validation_validations_total{status="FAILED"}[1m]))') > 0


def _buckets(prometheus: PrometheusServer, metric: str, engine: str) -> list[float]:
    series = prometheus.vector(f'{metric}_bucket{{job="{JOB}", engine="{engine}"}}')
    return sorted(float(s["metric"]["le"]) for s in series)


def test_histograms_have_the_worker_buckets(prometheus: PrometheusServer) -> None:
    inf = math.inf
    assert _buckets(prometheus, "backup_validation_restore_duration_seconds", "postgres") == [*RESTORE_BUCKETS, inf]
    assert _buckets(prometheus, "backup_validation_data_gap_seconds", "postgres") == [*DATA_GAP_BUCKETS, inf]
    # restore_duration (minutes) is observed in seconds: 2 phases x 4 postgres restores with a duration
    assert _value(prometheus, 'sum(backup_validation_restore_duration_seconds_count{engine="postgres"})') == 8
    total = _value(prometheus, 'sum(backup_validation_restore_duration_seconds_sum{engine="postgres"})')
    assert total == pytest.approx(2 * 60 * (0.4 + 0.45 + 0.5 + 0.2))
    # every restore took 12-30 s, so the median lies in the (15, 30] bucket
    median = _value(
        prometheus,
        "histogram_quantile(0.5, sum by (le) "
        '(rate(backup_validation_restore_duration_seconds_bucket{engine="postgres"}[1m])))',
    )
    assert 15 <= median <= 30
    kinds = {s["metric"]["kind"] for s in prometheus.vector("backup_validation_check_duration_seconds_count")}
    assert kinds == {"freshness", "row_count", "sql"}


def test_gauges_and_other_counters(prometheus: PrometheusServer) -> None:
    assert _value(prometheus, 'backup_validation_queue_messages{queue="dlq", state="visible"}') == 2
    assert _value(prometheus, "backup_validation_jobs_in_flight") == 3
    assert _value(prometheus, 'backup_validation_restores_in_flight{account_id="123456789012"}') == 2
    assert _value(prometheus, 'backup_validation_target_misses_total{target="rpo"}') == 2
    assert _value(prometheus, 'backup_validation_checks_total{kind="sql", status="FAILED"}') == 2
    assert _value(prometheus, 'backup_validation_aws_api_errors_total{code="Throttling"}') == 2
    info = prometheus.vector("backup_validation_worker_info")
    assert info and info[0]["metric"]["version"] == "0.0.0-test"
    age = _value(prometheus, "time() - max(backup_validation_last_success_timestamp_seconds)")
    assert 0 <= age < 120


@pytest.mark.parametrize("name", sorted({**dashboard_expressions(), **dashboard_variable_selectors()}))
def test_every_dashboard_expression_returns_data(prometheus: PrometheusServer, name: str) -> None:
    """Each panel shows something on a worker that did some of everything: names and labels match."""
    raw = {**dashboard_expressions(), **dashboard_variable_selectors()}[name]
    answer = prometheus.query(substitute_grafana_variables(raw))
    assert answer["status"] == "success", f"{name}: {answer.get('error')}"
    assert answer["data"]["result"], f"{name} returns no data: {raw}"


@pytest.mark.parametrize("name", sorted(alert_expressions()))
def test_every_alert_expression_evaluates_on_real_series(prometheus: PrometheusServer, name: str) -> None:
    answer = prometheus.query(alert_expressions()[name])
    assert answer["status"] == "success", f"{name}: {answer.get('errorType')}: {answer.get('error')}"


def test_rules_load_evaluate_and_fire_on_failures(prometheus: PrometheusServer) -> None:
    def rules() -> list[dict[str, Any]]:
        groups = prometheus.get("/api/v1/rules")["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    expected_firing = {"BackupValidationFailed", "BackupRestoreFailed", "BackupCleanupFailed", "BackupRpoTargetMissed"}

    def states() -> dict[str, str]:
        return {
            alert["labels"]["alertname"]: alert["state"] for alert in prometheus.get("/api/v1/alerts")["data"]["alerts"]
        }

    prometheus.wait_until(
        lambda: expected_firing <= {name for name, state in states().items() if state == "firing"},
        timeout=15,
        message=f"expected {sorted(expected_firing)} firing, got {states()}",
    )
    loaded = rules()
    assert len(loaded) == len(alert_expressions())
    for rule in loaded:
        assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
    current = states()
    assert current.get("BackupValidationDLQNotEmpty") == "pending"  # for: 5m
    assert current.get("BackupValidationErrored") == "pending"  # for: 5m
    assert "BackupValidatorDown" not in current
    assert "BackupValidationNoRecentSuccess" not in current
    assert "BackupRestoreDurationHigh" not in current
