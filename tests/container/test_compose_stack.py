"""docker-compose.yml's default profile brought up for real: the worker validates recovery points end to end
against the moto container and the emulator (its databases in the postgres and mysql containers), writes
records, Prometheus scrapes it; SIGTERM drains it within its grace period; ``down`` leaves nothing behind.

Grafana is in the default profile but not started: no image of it can be built here (the summary says so).
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from compose_stack import (
    NOT_STARTED,
    Stack,
    compat_compose_file,
    default_services,
    load_compose,
    remove_stale_projects,
    require_compose,
    seconds,
    wait_for,
)
from container_report import note, skip
from docker_engine import Engine

# Session fixtures may build images first (minutes on a cold cache): the bound is about waiting, not correctness.
pytestmark = [pytest.mark.container, pytest.mark.timeout(2700)]

UP_TIMEOUT = 900  # terraform apply against moto takes minutes: moto makes the provider wait per queue
RECORDS_TIMEOUT = 300
SCRAPE_TIMEOUT = 180
ENGINES = ("postgres", "mariadb")


def _images_of(services: list[str]) -> set[str]:
    document = load_compose()["services"]
    return {document[name]["image"] for name in services if "build" not in document[name]}


@pytest.fixture(scope="module")
def stack(
    docker_engine: Engine,
    standin_images: dict[str, str],
    project_images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    require_compose(docker_engine)
    services = [name for name in default_services(load_compose()) if name not in NOT_STARTED]
    missing = {image: why for image, why in standin_images.items() if image in _images_of(services)}
    if missing:
        skip("compose stack skipped: " + "; ".join(f"no {image}: {why}" for image, why in missing.items()))
    for name, why in NOT_STARTED.items():
        note(f"compose stack: {name} not started ({why})")
    for project in remove_stale_projects(docker_engine):
        note(f"compose stack: removed {project}, left behind by an interrupted run")
    stack = Stack.create(docker_engine, tmp_path_factory.mktemp("compose"))
    try:
        began = time.monotonic()
        # What `docker compose up --build` does first; BuildKit's cache makes it seconds after project_images.
        stack.compose("build", *sorted({name for name in services if name in project_images}), timeout=1800)
        stack.up(services, timeout=UP_TIMEOUT)
        note(f"compose stack: {len(services)} services up in {time.monotonic() - began:.0f} s")
        yield stack
    finally:
        stack.down()


def _s3(stack: Stack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{stack.ports['MOTO_PORT']}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _records(stack: Stack) -> list[dict[str, Any]]:
    environment = load_compose()["x-bv-resources"]
    bucket = environment["BV_RESULTS_BUCKET"].replace("${AWS_ACCOUNT_ID:-123456789012}", "123456789012")
    s3 = _s3(stack)
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="validations/")
    return [
        json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        for item in listing.get("Contents", [])
        if item["Key"].endswith(".json")
    ]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_the_compose_1_29_copy_leaves_out_only_what_compose_1_29_cannot_read(tmp_path: Path) -> None:
    _, dropped = compat_compose_file(tmp_path)
    assert dropped == [
        "name: backup-validator",
        "emulator depends_on localstack (required: false)",
        "terraform depends_on localstack (required: false)",
    ]


def test_default_profile_is_up_and_healthy(stack: Stack) -> None:
    for service in stack.started:
        state = stack.inspect(service)["State"]
        if service == "terraform":
            assert (state["Status"], state["ExitCode"]) == ("exited", 0), stack.logs("terraform")
            continue
        assert state["Running"], f"{service}: {state['Status']}\n{stack.logs(service)}"
        if "Health" in state:
            health = wait_for(f"{service} healthy", lambda s=service: _healthy(stack, s), 120)
            assert health, stack.logs(service)
    assert stack.services_with_containers() == set(stack.started)


def _healthy(stack: Stack, service: str) -> bool:
    return bool(stack.inspect(service)["State"]["Health"]["Status"] == "healthy")


def test_worker_validates_recovery_points_end_to_end(stack: Stack) -> None:
    def passed_per_engine() -> dict[str, dict[str, Any]] | None:
        found = {record.get("engine"): record for record in _records(stack) if record.get("status") == "PASSED"}
        return found if all(engine in found for engine in ENGINES) else None

    passed = wait_for(
        f"a PASSED record in S3 for each of {ENGINES}",
        passed_per_engine,
        RECORDS_TIMEOUT,
        interval=5,
        diagnostics=lambda: stack.logs("worker", tail=30) + stack.logs("traffic", tail=10),
    )
    for engine, record in passed.items():
        assert record["cleanup_status"] == "DELETED", record
        assert record["restored_instance_id"].startswith("bv-"), record
        assert record["recovery_point_arn"].startswith("arn:aws:rds:us-east-1:123456789012:"), record
        assert record["checks"] and all(check["passed"] for check in record["checks"]), record
        assert record["resource_type"] == "RDS" and record["engine"] == engine


def test_prometheus_scrapes_the_worker(stack: Stack) -> None:
    base = f"http://127.0.0.1:{stack.ports['PROMETHEUS_PORT']}/api/v1"

    def worker_target_up() -> bool:
        targets = _get_json(f"{base}/targets")["data"]["activeTargets"]
        return any(t["labels"]["job"] == "backup-validator" and t["health"] == "up" for t in targets)

    wait_for("Prometheus scraping the worker target", worker_target_up, SCRAPE_TIMEOUT)
    query = urllib.parse.quote('sum(backup_validation_validations_total{status="PASSED"})')

    def passed_count() -> float:
        result = _get_json(f"{base}/query?query={query}")["data"]["result"]
        return float(result[0]["value"][1]) if result else 0.0

    assert wait_for("a validation count in Prometheus", passed_count, SCRAPE_TIMEOUT) >= 1


def test_the_image_health_check_passes_in_the_running_worker(stack: Stack, docker_engine: Engine) -> None:
    image = stack.inspect("worker")["Config"]["Image"]
    health = json.loads(
        docker_engine.docker("image", "inspect", "--format", "{{json .Config.Healthcheck}}", image).stdout
    )
    probe = docker_engine.docker("exec", stack.container("worker"), *health["Test"][1:], check=False, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert _healthy(stack, "worker")


def test_sigterm_drains_the_worker_within_its_grace_period(stack: Stack, docker_engine: Engine) -> None:
    """ECS sends SIGTERM and kills the container stopTimeout later; compose's stop_grace_period stands for it."""
    service = load_compose()["services"]["worker"]
    grace = seconds(service["stop_grace_period"])
    assert float(service["environment"]["BV_DRAIN_SECONDS"]) < grace
    metrics = f"http://127.0.0.1:{stack.ports['WORKER_METRICS_PORT']}/metrics"

    def in_flight() -> float:
        with urllib.request.urlopen(metrics, timeout=10) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("backup_validation_jobs_in_flight "):
                    return float(line.split()[1])
        return 0.0

    busy = wait_for("a validation in flight", in_flight, 180, interval=1)
    container = stack.container("worker")
    started = time.monotonic()
    docker_engine.docker("stop", "--time", str(int(grace)), container, timeout=grace + 60)
    took = time.monotonic() - started
    state = stack.inspect("worker")["State"]
    note(f"worker: {busy:.0f} validation(s) in flight, stopped {took:.1f} s after SIGTERM (grace {grace:.0f} s)")
    assert state["ExitCode"] == 0, (state, stack.logs("worker", tail=20))
    assert not state["Running"] and not state["OOMKilled"]
    assert took < grace, f"stopped after {took:.1f} s: killed at the end of the {grace:.0f} s grace period"


def test_down_leaves_nothing_behind(stack: Stack) -> None:
    stack.down()
    assert stack.leftovers() == {}
