"""The Prometheus configuration and alert rules, checked by the real tools.

- promtool accepts prometheus.yml and alerts.yml, and the rule unit tests (alerts.test.yml) pass;
- those unit tests really guard the rules: they cover the required scenarios, and a broken rule fails them;
- every PromQL expression we ship (alert rules, dashboard panels, dashboard variables) is accepted and
  evaluated by a real Prometheus server, and names only metrics the worker exports.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from obs_support import (
    ALERTS_FILE,
    PROMETHEUS_DIR,
    PrometheusServer,
    alert_rules,
    all_expressions,
    tool,
    worker_series_names,
)

EXPRESSIONS = all_expressions()
_METRIC_TOKEN = re.compile(r"\bbackup_validation_\w+")


def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_config_and_its_rule_files() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rule files found" in result.stdout + result.stderr


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def _expectations() -> dict[str, dict[str, int]]:
    """alertname -> {"fires": n, "quiet": n}: how many unit-test evaluations expect it firing or silent."""
    document = yaml.safe_load((PROMETHEUS_DIR / "alerts.test.yml").read_text(encoding="utf-8"))
    seen: dict[str, dict[str, int]] = {}
    for group in document["tests"]:
        for case in group.get("alert_rule_test", []):
            counts = seen.setdefault(case["alertname"], {"fires": 0, "quiet": 0})
            counts["fires" if case.get("exp_alerts") else "quiet"] += 1
    return seen


@pytest.mark.parametrize(
    "alertname",
    ["BackupValidationFailed", "BackupValidationNoRecentSuccess", "BackupValidationDLQNotEmpty"],
)
def test_unit_tests_cover_firing_and_healthy_series(alertname: str) -> None:
    counts = _expectations().get(alertname)
    assert counts, f"alerts.test.yml never evaluates {alertname}"
    assert counts["fires"] >= 1, f"alerts.test.yml never expects {alertname} to fire"
    assert counts["quiet"] >= 1, f"alerts.test.yml never expects {alertname} to stay quiet on healthy series"


def test_every_alert_rule_is_unit_tested() -> None:
    untested = {rule["alert"] for rule in alert_rules()} - set(_expectations())
    # Rules whose scenario is a plain threshold on one gauge; every other rule must have a unit test.
    assert untested <= {
        "BackupValidationErrored",
        "BackupCleanupFailed",
        "BackupCoverageMissing",
        "BackupValidatorAbsent",
        "BackupValidatorAwsApiErrors",
    }, f"rules without a unit test: {sorted(untested)}"


@pytest.mark.parametrize(
    ("alertname", "original", "broken"),
    [
        ("BackupValidationDLQNotEmpty", '{queue="dlq"}', '{queue="deadletter"}'),
        # without the guard, a fresh Prometheus would page for failures counted before it started
        ("BackupValidationFailed", "count(up offset 15m)", "count(up)"),
        ("BackupRestoreFailed", 'status="RESTORE_FAILED"}\n', 'status="RESTORE_FAILED"} > 1\n'),
        ("BackupValidationNoRecentSuccess", "> 26 * 3600", "> 30 * 3600"),
    ],
)
def test_unit_tests_fail_when_a_rule_breaks(tmp_path: Path, alertname: str, original: str, broken: str) -> None:
    rules = ALERTS_FILE.read_text(encoding="utf-8")
    start = rules.index(f"alert: {alertname}\n")
    end = rules.find("- alert:", start)
    end = len(rules) if end == -1 else end
    assert original in rules[start:end], f"{alertname} no longer contains {original!r}: update this test"
    mutated = rules[:start] + rules[start:end].replace(original, broken) + rules[end:]
    (tmp_path / "alerts.yml").write_text(mutated, encoding="utf-8")
    shutil.copy(PROMETHEUS_DIR / "alerts.test.yml", tmp_path / "alerts.test.yml")
    result = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert result.returncode != 0, f"the unit tests still pass with a broken {alertname}"
    assert alertname in result.stdout + result.stderr


def test_alert_rules_are_well_formed() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"].get("summary"), rule["alert"]
        assert rule["annotations"].get("description"), rule["alert"]


def test_alerts_cover_the_cloudwatch_alarms_and_operations() -> None:
    """One rule per CloudWatch alarm the worker's EMF metrics feed, plus the operational ones."""
    exprs = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    wanted = {
        "BackupValidationFailed": 'status="FAILED"',
        "BackupRestoreFailed": 'status="RESTORE_FAILED"',
        "BackupValidationErrored": 'status="ERROR"',
        "BackupRestoreDurationHigh": "histogram_quantile(",
        "BackupRtoTargetMissed": 'target="rto"',
        "BackupRpoTargetMissed": 'target="rpo"',
        "BackupCleanupFailed": "backup_validation_cleanup_failures_total",
        "BackupValidationNoRecentSuccess": "backup_validation_last_success_timestamp_seconds",
        "BackupValidationNeverSucceeded": "absent_over_time(backup_validation_last_success_timestamp_seconds",
        "BackupValidationDLQNotEmpty": 'backup_validation_queue_messages{queue="dlq"}',
        "BackupValidationQueueBacklog": "backup_validation_queue_messages",
        "BackupValidatorDown": 'up{job="backup-validator"}',
        "BackupCoverageMissing": "backup_validation_coverage_missing_sources",
    }
    for alert, fragment in wanted.items():
        assert alert in exprs, f"missing alert {alert}"
        assert fragment in exprs[alert], f"{alert} does not use {fragment}"
    assert "backup_validation_restore_duration_seconds_bucket" in exprs["BackupRestoreDurationHigh"]


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_expression_names_only_metrics_the_worker_exports(name: str) -> None:
    unknown = set(_METRIC_TOKEN.findall(EXPRESSIONS[name])) - worker_series_names()
    assert not unknown, f"{name} uses metrics that worker/metrics.py does not define: {sorted(unknown)}"


@pytest.fixture(scope="module")
def empty_prometheus(prometheus_factory) -> PrometheusServer:  # type: ignore[no-untyped-def]
    """A real Prometheus with no data: parse and type errors surface, empty results are fine."""
    config = {"global": {"scrape_interval": "1m", "evaluation_interval": "1m"}, "scrape_configs": []}
    return prometheus_factory("empty", config)  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_prometheus_accepts_expression(empty_prometheus: PrometheusServer, name: str) -> None:
    answer = empty_prometheus.query(EXPRESSIONS[name])
    assert answer["status"] == "success", f"{name}: {answer.get('errorType')}: {answer.get('error')}"
