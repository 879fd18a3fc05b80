"""A real Prometheus scraping a real worker (`backup-validator run`), queried through its HTTP API.

The scrape target is the worker process itself, on a free loopback port, against the test stand-ins (moto for
SQS, S3, DynamoDB and CloudWatch Logs; the emulator for AWS Backup and RDS, restoring into the machine's real
PostgreSQL and MariaDB). Each phase sends real recovery points through EventBridge and SQS and waits for their
summary records in S3: a PASSED postgres and a PASSED mariadb source, a stale source (freshness FAILED, RPO
missed), a restore job that fails (RESTORE_FAILED) and a restored instance that never becomes available
(ERROR at the restore deadline). A message already in the dead-letter queue when the worker starts feeds the DLQ
gauge, and the emulator throttles a share of the worker's DescribeDBInstances calls (botocore retries them), so
the AWS API error counters have something true to count. Two phases with a scrape in between, so that every
outcome counter has grown between two scrapes (the alert rules' `increase()` cannot see a series' first step).

Proven here: the series names, labels and histogram buckets Prometheus stores are the ones the dashboards and
rules query, and their values agree with the records the worker wrote; every dashboard expression returns data
(except the two fed only by leaked resources, which a healthy run does not produce); every alert expression
evaluates; the alert rules load and evaluate without errors, and the failure alerts fire on real failures.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import shutil
import signal
import subprocess
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from harness.worker_stack import WorkerStack, make_stack, spawn
from obs_support import (
    ALERTS_FILE,
    PrometheusServer,
    alert_expressions,
    dashboard_expressions,
    dashboard_variable_selectors,
    free_port,
    substitute_grafana_variables,
)

import worker
from emulator.server import EmulatorHandle
from worker.metrics import DATA_GAP_BUCKETS, RESTORE_BUCKETS

JOB = "backup-validator"
PHASES = 2
# The policy's restore deadline (from claim to checks done): a restored instance that never becomes available
# ends as ERROR this long after its message was claimed. Every other validation here takes about a second.
RESTORE_TIMEOUT = "8s"
# Throttled by the emulator for the whole run; only the worker calls it once the sources exist.
THROTTLED = ("rds", "DescribeDBInstances")
THROTTLE_RATE = 0.2


@dataclass(frozen=True)
class Scenario:
    engine: str
    status: str  # the status every one of its records must have
    stale_minutes: int | None = None


# One source per scenario; each phase sends one recovery point of each through the queue.
SCENARIOS = {
    "passes-postgres": Scenario("postgres", "PASSED"),
    "passes-mariadb": Scenario("mariadb", "PASSED"),
    "stale": Scenario("postgres", "FAILED", stale_minutes=120),  # freshness FAILED, data gap > rpo_target 80m
    "restore-fails": Scenario("postgres", "RESTORE_FAILED"),  # emulator restore_fail_rate=1.0 for its restore
    "never-available": Scenario("mariadb", "ERROR"),  # emulator stuck_rate=1.0: restore deadline passes
}
# The series the worker labels with an engine it learnt from the restored database (the two that never get one
# are labelled as their records say).
EXPECTED_KNOWN_ENGINES = {
    ("postgres", "PASSED"): PHASES,
    ("mariadb", "PASSED"): PHASES,
    ("postgres", "FAILED"): PHASES,
}
EXPECTED_STATUSES = {"PASSED": 2 * PHASES, "FAILED": PHASES, "RESTORE_FAILED": PHASES, "ERROR": PHASES}
# Panels fed only by restored resources that could not be deleted or that outlived their TTL: a healthy run
# leaks nothing, so these counters never get a series here (the alert rule unit tests cover them).
LEAK_PANELS = {
    "panel 'Missed targets, cleanup failures, swept resources' / B",
    "panel 'Missed targets, cleanup failures, swept resources' / C",
}


@dataclass
class WorkerTarget:
    address: str  # host:port that Prometheus scrapes (/metrics)
    record_phase: Callable[[], Awaitable[None]]  # one recovery point per scenario, until all their records exist
    worker_log: Path
    emulator_stats: Callable[[], dict[str, Any]]  # the emulator's request counters, less those before the worker
    records: list[dict[str, Any]] = field(default_factory=list)  # every summary record in S3 so far


def _engine(record: dict[str, Any]) -> str:
    return str(record.get("engine") or "unknown")  # as worker.reporting labels it


def _completed_restores(emulator: EmulatorHandle) -> int:
    return int(emulator.stats()["restore_jobs_by_status"].get("COMPLETED", 0))


def _serves_metrics(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else "(no worker log)"


@pytest.fixture(scope="module")
async def scrape_target(
    emulator_session: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WorkerTarget]:
    """A real `backup-validator run` process with its metrics on a free loopback port."""
    emulator = emulator_session
    initial_knobs = emulator.knobs()
    stack: WorkerStack = await make_stack(restore_timeout=RESTORE_TIMEOUT)
    process: subprocess.Popen[bytes] | None = None
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    try:
        sources = {
            name: await stack.add_source(scenario.engine, stale_minutes=scenario.stale_minutes)
            for name, scenario in SCENARIOS.items()
        }
        scenario_of = {source.arn: name for name, source in sources.items()}
        before = emulator.stats()

        def emulator_stats() -> dict[str, Any]:
            now = emulator.stats()
            return {
                kind: {key: n - before[kind].get(key, 0) for key, n in now[kind].items()}
                for kind in ("operations", "throttled")
            }

        emulator.configure(throttle_rate=THROTTLE_RATE, throttle_operations=[":".join(THROTTLED)])
        # A message dead-lettered before this worker started: the DLQ gauge reads it on start-up.
        boto3.client("sqs").send_message(QueueUrl=stack.resources.dlq_url, MessageBody="{not json")
        port = free_port()
        process = spawn(stack, log_path, metrics_port=port, metrics_host="127.0.0.1", reconcile_interval_seconds=1.0)
        metrics_url = f"http://127.0.0.1:{port}/metrics"
        await stack.wait_until(
            lambda: process.poll() is not None or _serves_metrics(metrics_url), timeout=30, what="worker /metrics"
        )
        assert process.poll() is None, f"the worker exited with {process.returncode}:\n{_tail(log_path)}"

        async def records_with(status: str, count: int) -> None:
            await stack.wait_until(
                lambda: sum(r["status"] == status for r in stack.records()) >= count,
                timeout=60,
                what=f"{count} {status} record(s); worker log:\n{_tail(log_path)}",
            )

        async def record_phase() -> None:
            done = len(target.records) // len(SCENARIOS)
            # The restore that completes while stuck_rate is 1 never becomes available: ERROR at the deadline,
            # which runs out while the others below are validated.
            completed = await asyncio.to_thread(_completed_restores, emulator)
            emulator.configure(stuck_rate=1.0)
            try:
                await stack.backup_and_copy(sources["never-available"])
                await stack.wait_until(
                    lambda: _completed_restores(emulator) > completed, what="the never-available restore"
                )
            finally:
                emulator.configure(stuck_rate=0.0)
            emulator.configure(restore_fail_rate=1.0)
            try:
                await stack.backup_and_copy(sources["restore-fails"])
                await records_with("RESTORE_FAILED", done + 1)
            finally:
                emulator.configure(restore_fail_rate=0.0)
            await asyncio.gather(
                *(stack.backup_and_copy(sources[name]) for name in ("passes-postgres", "passes-mariadb", "stale"))
            )
            expected = (done + 1) * len(SCENARIOS)
            records = await stack.wait_for_records(expected, timeout=60)
            assert len(records) == expected, f"{len(records)} records, expected {expected}:\n{_tail(log_path)}"
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="every message acked")
            outcomes = Counter((scenario_of[r["source_resource_arn"]], r["status"]) for r in records)
            assert outcomes == {(name, s.status): done + 1 for name, s in SCENARIOS.items()}, records
            target.records[:] = records

        target = WorkerTarget(f"127.0.0.1:{port}", record_phase, log_path, emulator_stats)
        yield target
    finally:
        try:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
                    pytest.fail(f"the worker did not stop on SIGTERM:\n{_tail(log_path)}")
        finally:
            emulator.reset(initial_knobs)
            await stack.close()


@pytest.fixture(scope="module")
async def prometheus(
    prometheus_factory: Any, scrape_target: WorkerTarget, tmp_path_factory: pytest.TempPathFactory
) -> PrometheusServer:
    """Prometheus scraping the worker every second, with the shipped alert rules, after every phase."""
    rules_dir = tmp_path_factory.mktemp("rules")
    shutil.copy(ALERTS_FILE, rules_dir / "alerts.yml")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_dir / "alerts.yml")],
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [scrape_target.address]}]}],
    }
    server: PrometheusServer = prometheus_factory("scrape", config)
    await asyncio.to_thread(
        server.wait_until,
        lambda: _value(server, f'count_over_time(up{{job="{JOB}"}}[1m])') >= 2,
        20,
        "the worker was not scraped twice",
    )
    for _ in range(PHASES):
        await scrape_target.record_phase()
        # Scraped with every validation of this phase done, before the next phase changes anything.
        count = len(scrape_target.records)
        await asyncio.to_thread(
            server.wait_until,
            lambda count=count: (
                _value(server, f'sum(backup_validation_validations_total{{job="{JOB}"}})') == count
                and _value(server, "backup_validation_jobs_in_flight") == 0
            ),
            20,
            f"{count} validations were not scraped",
        )
    uncovered = sum(s.status != "PASSED" for s in SCENARIOS.values())
    await asyncio.to_thread(
        server.wait_until,
        lambda: _value(server, "backup_validation_coverage_missing_sources") == uncovered,
        20,
        f"the reconciler did not report {uncovered} uncovered sources",
    )
    return server


def _value(server: PrometheusServer, expr: str) -> float:
    result = server.vector(expr)
    return float(result[0]["value"][1]) if result else math.nan


def test_the_target_is_up(prometheus: PrometheusServer) -> None:
    assert _value(prometheus, f'up{{job="{JOB}"}}') == 1


def test_validation_counters_by_engine_and_status(prometheus: PrometheusServer, scrape_target: WorkerTarget) -> None:
    series = prometheus.vector(f'backup_validation_validations_total{{job="{JOB}"}}')
    found = {(s["metric"]["engine"], s["metric"]["status"]): float(s["value"][1]) for s in series}
    assert found == Counter((_engine(r), r["status"]) for r in scrape_target.records)
    assert {key: n for key, n in found.items() if key in EXPECTED_KNOWN_ENGINES} == EXPECTED_KNOWN_ENGINES
    by_status: Counter[str] = Counter()
    for (_, status), n in found.items():
        by_status[status] += int(n)
    assert by_status == EXPECTED_STATUSES
    for s in series:
        assert set(s["metric"]) == {"__name__", "job", "instance", "resource_type", "engine", "status"}
        assert s["metric"]["resource_type"] == "RDS"
    assert _value(prometheus, 'sum(increase(backup_validation_validations_total{status="FAILED"}[1m]))') > 0


def _buckets(prometheus: PrometheusServer, metric: str, engine: str) -> list[float]:
    series = prometheus.vector(f'{metric}_bucket{{job="{JOB}", engine="{engine}"}}')
    return sorted(float(s["metric"]["le"]) for s in series)


def _bucket_bounds(seconds: float) -> tuple[float, float]:
    """The (lower, upper] restore-duration bucket holding `seconds`."""
    bounds = (0.0, *RESTORE_BUCKETS, math.inf)
    return next((low, high) for low, high in itertools.pairwise(bounds) if seconds <= high)


def test_histograms_have_the_worker_buckets(prometheus: PrometheusServer, scrape_target: WorkerTarget) -> None:
    inf = math.inf
    assert _buckets(prometheus, "backup_validation_restore_duration_seconds", "postgres") == [*RESTORE_BUCKETS, inf]
    assert _buckets(prometheus, "backup_validation_data_gap_seconds", "postgres") == [*DATA_GAP_BUCKETS, inf]
    postgres = [r for r in scrape_target.records if _engine(r) == "postgres"]
    # restore_duration (minutes in the record) is observed in seconds, once per record that has one, except a
    # RESTORE_FAILED one (how long a restore took to fail is no restore time)
    restored = [r for r in postgres if r["status"] != "RESTORE_FAILED"]
    restores = [r["restore_duration"] * 60 for r in restored if isinstance(r["restore_duration"], int | float)]
    # every postgres validation whose restore job completed (PASSED, FAILED, and the stuck ERROR) has one
    assert len(restores) == len(restored) >= 2 * PHASES
    assert any(r["status"] == "RESTORE_FAILED" and r["restore_duration"] is not None for r in postgres)
    assert _value(prometheus, 'sum(backup_validation_restore_duration_seconds_count{engine="postgres"})') == len(
        restores
    )
    total = _value(prometheus, 'sum(backup_validation_restore_duration_seconds_sum{engine="postgres"})')
    assert total == pytest.approx(sum(restores))
    gaps = [max(0.0, r["data_gap_minutes"] * 60) for r in postgres if isinstance(r["data_gap_minutes"], int | float)]
    assert len(gaps) == 2 * PHASES  # the PASSED and the stale (FAILED) ones: only checked restores have a gap
    assert _value(prometheus, 'sum(backup_validation_data_gap_seconds_count{engine="postgres"})') == len(gaps)
    assert _value(prometheus, 'sum(backup_validation_data_gap_seconds_sum{engine="postgres"})') == pytest.approx(
        sum(gaps)
    )
    # the median lies within the buckets that hold the restores this worker measured
    median = _value(
        prometheus,
        "histogram_quantile(0.5, sum by (le) "
        '(increase(backup_validation_restore_duration_seconds_bucket{engine="postgres"}[5m])))',
    )
    assert _bucket_bounds(min(restores))[0] <= median <= _bucket_bounds(max(restores))[1]
    kinds = {s["metric"]["kind"] for s in prometheus.vector("backup_validation_check_duration_seconds_count")}
    assert kinds == {"freshness", "row_count", "sql"}


def test_gauges_and_other_counters(prometheus: PrometheusServer, scrape_target: WorkerTarget) -> None:
    records = scrape_target.records
    # Visible and in flight together, as the alert counts them: the rescue pass hides dead letters while it judges
    # them (the malformed one stays).
    assert _value(prometheus, 'sum(backup_validation_queue_messages{queue="dlq"})') == 1
    assert _value(prometheus, "backup_validation_jobs_in_flight") == 0
    in_flight = prometheus.vector("backup_validation_restores_in_flight")
    assert {s["metric"]["account_id"] for s in in_flight} == {r["account_id"] for r in records}
    assert {float(s["value"][1]) for s in in_flight} == {0.0}
    assert _value(prometheus, 'backup_validation_target_misses_total{target="rpo"}') == PHASES
    assert prometheus.vector('backup_validation_target_misses_total{target="rto"}') == []
    checks = Counter((c["kind"], c["status"]) for r in records for c in r["checks"])
    found = {
        (s["metric"]["kind"], s["metric"]["status"]): float(s["value"][1])
        for s in prometheus.vector("backup_validation_checks_total")
    }
    assert found == checks
    assert found[("freshness", "FAILED")] == PHASES
    assert _value(prometheus, 'backup_validation_sqs_messages_total{outcome="validated"}') == len(records)
    start_restore = 'backup_validation_aws_api_calls_total{service="backup", operation="StartRestoreJob"}'
    assert _value(prometheus, start_restore) == len(records)
    # every attempt the emulator answered, and every one it throttled, is counted (botocore retried them all)
    service, operation = THROTTLED
    emulator = scrape_target.emulator_stats()
    key = f"{service}:{operation}"
    calls = f'backup_validation_aws_api_calls_total{{service="{service}", operation="{operation}"}}'
    assert _value(prometheus, calls) == emulator["operations"][key]
    errors = {
        (s["metric"]["service"], s["metric"]["operation"], s["metric"]["code"]): float(s["value"][1])
        for s in prometheus.vector("backup_validation_aws_api_errors_total")
    }
    # Besides the throttling: cleanup after the failed restores looks for an instance that was never created.
    not_found = ("rds", "DescribeDBInstances", "DBInstanceNotFound")
    assert set(errors) - {not_found} == {(service, operation, "Throttling")}
    assert errors.get(not_found, 0) <= PHASES
    assert errors[(service, operation, "Throttling")] == emulator["throttled"][key] > 0
    assert _value(prometheus, "sum(backup_validation_restore_detections_total)") == len(records)
    uncovered = sum(s.status != "PASSED" for s in SCENARIOS.values())
    assert _value(prometheus, "backup_validation_coverage_missing_sources") == uncovered
    info = prometheus.vector("backup_validation_worker_info")
    assert info and info[0]["metric"]["version"] == worker.__version__
    age = _value(prometheus, "time() - max(backup_validation_last_success_timestamp_seconds)")
    assert 0 <= age < 120


@pytest.mark.parametrize("name", sorted({**dashboard_expressions(), **dashboard_variable_selectors()}))
def test_every_dashboard_expression_returns_data(prometheus: PrometheusServer, name: str) -> None:
    """Each panel shows something on a worker that did some of everything: names and labels match."""
    raw = {**dashboard_expressions(), **dashboard_variable_selectors()}[name]
    answer = prometheus.query(substitute_grafana_variables(raw))
    assert answer["status"] == "success", f"{name}: {answer.get('error')}"
    if name in LEAK_PANELS:
        assert answer["data"]["result"] == [], f"{name}: nothing leaked, yet {answer['data']['result']}"
    else:
        assert answer["data"]["result"], f"{name} returns no data: {raw}"


@pytest.mark.parametrize("name", sorted(alert_expressions()))
def test_every_alert_expression_evaluates_on_real_series(prometheus: PrometheusServer, name: str) -> None:
    answer = prometheus.query(alert_expressions()[name])
    assert answer["status"] == "success", f"{name}: {answer.get('errorType')}: {answer.get('error')}"


def test_rules_load_evaluate_and_fire_on_failures(prometheus: PrometheusServer) -> None:
    def rules() -> list[dict[str, Any]]:
        groups = prometheus.get("/api/v1/rules")["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    expected_firing = {"BackupValidationFailed", "BackupRestoreFailed", "BackupRpoTargetMissed"}
    expected_pending = {
        "BackupValidationDLQNotEmpty",  # for: 5m
        "BackupValidationErrored",  # for: 5m
        "BackupCoverageMissing",  # for: 30m
    }

    def states() -> dict[str, str]:
        return {
            alert["labels"]["alertname"]: alert["state"] for alert in prometheus.get("/api/v1/alerts")["data"]["alerts"]
        }

    def in_state(wanted: str) -> set[str]:
        return {name for name, state in states().items() if state == wanted}

    prometheus.wait_until(
        lambda: expected_firing <= in_state("firing") and expected_pending <= in_state("pending"),
        timeout=15,
        message=f"expected {sorted(expected_firing)} firing and {sorted(expected_pending)} pending, got {states()}",
    )
    loaded = rules()
    assert len(loaded) == len(alert_expressions())
    for rule in loaded:
        assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
    current = states()
    assert in_state("firing") == expected_firing, current
    # The throttled share of the worker's RDS calls may or may not reach this rule's threshold: `for: 15m`.
    assert in_state("pending") - {"BackupValidatorAwsApiErrors"} == expected_pending, current
    assert "BackupCleanupFailed" not in current  # nothing leaked: no cleanup failure can be produced here
    assert "BackupRtoTargetMissed" not in current
    assert "BackupValidatorDown" not in current
    assert "BackupValidationNoRecentSuccess" not in current
    assert "BackupRestoreDurationHigh" not in current
