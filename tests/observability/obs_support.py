"""Helpers for the observability tests: the repository's files, a real Prometheus server started on a free
loopback port with its own storage directory, and every PromQL expression the project ships (alert rules,
Grafana dashboard) with Grafana's template variables substituted.

A plain module, not conftest.py, so the test modules can import it by a name no other directory uses.
Prometheus and promtool come from Debian's `prometheus` package (`make tools` installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
PROMETHEUS_DIR = DOCKER / "prometheus"
ALERTS_FILE = PROMETHEUS_DIR / "alerts.yml"
DASHBOARD_FILE = DOCKER / "grafana" / "dashboards" / "backup-validator.json"
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = DOCKER / "Dockerfile"

# What Grafana would put in place of its variables. Values are realistic, not special: Prometheus must accept
# the expression exactly as Grafana sends it. `.*` is what an "All" selection becomes (allValue).
GRAFANA_SUBSTITUTIONS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "window": "1h",
    "resource_type": ".*",
    "engine": ".*",
    "datasource": "prometheus",
}
_GRAFANA_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make tools` (installs Debian's prometheus package)")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def grafana_variables(text: str) -> set[str]:
    return {next(group for group in match.groups() if group) for match in _GRAFANA_VARIABLE.finditer(text)}


def substitute_grafana_variables(expr: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in GRAFANA_SUBSTITUTIONS:
            raise KeyError(f"unknown Grafana variable ${name} in {expr!r}")
        return GRAFANA_SUBSTITUTIONS[name]

    return _GRAFANA_VARIABLE.sub(replace, expr)


def load_dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels inside collapsed rows


def dashboard_expressions(dashboard: dict[str, Any] | None = None) -> dict[str, str]:
    """`"<panel title> / <refId>"` -> the raw (unsubstituted) PromQL of every panel target."""
    dashboard = dashboard or load_dashboard()
    expressions = {}
    for panel in dashboard_panels(dashboard):
        for target in panel.get("targets", []):
            expressions[f"panel {panel['title']!r} / {target['refId']}"] = target["expr"]
    return expressions


def dashboard_variable_selectors(dashboard: dict[str, Any] | None = None) -> dict[str, str]:
    """The series selector inside each `label_values(selector, label)` variable query."""
    dashboard = dashboard or load_dashboard()
    selectors = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = re.fullmatch(r"label_values\((?P<selector>.+),\s*(?P<label>\w+)\)", query)
        assert match, f"variable {variable['name']}: expected label_values(selector, label), got {query!r}"
        selectors[f"variable ${variable['name']}"] = match["selector"]
    return selectors


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def alert_expressions() -> dict[str, str]:
    return {f"alert {rule['alert']}": rule["expr"] for rule in alert_rules() if "alert" in rule}


def all_expressions() -> dict[str, str]:
    """Every PromQL expression the project ships, ready to send to Prometheus."""
    raw = {**alert_expressions(), **dashboard_expressions(), **dashboard_variable_selectors()}
    return {name: substitute_grafana_variables(expr) for name, expr in raw.items()}


@dataclass
class PrometheusServer:
    """A real `prometheus` process on 127.0.0.1:<free port>, with a throw-away storage directory."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **params: str) -> dict[str, Any]:
        query = urllib.parse.urlencode(params)
        request = f"{self.url}{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as error:  # 400/422: the body says why (bad_data, execution)
            return json.loads(error.read())  # type: ignore[no-any-return]

    def query(self, expr: str) -> dict[str, Any]:
        """The raw /api/v1/query answer (status, data or errorType/error)."""
        return self.get("/api/v1/query", query=expr)

    def vector(self, expr: str) -> list[dict[str, Any]]:
        answer = self.query(expr)
        assert answer["status"] == "success", f"{expr}: {answer}"
        result = answer["data"]["result"]
        return result if answer["data"]["resultType"] == "vector" else [{"metric": {}, "value": result}]

    def wait_until(self, condition: Any, timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        pytest.fail(f"{message} (after {timeout}s); prometheus log:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_prometheus(workdir: Path, config: dict[str, Any]) -> PrometheusServer:
    """Start Prometheus with `config` (rule_files relative to `workdir`); returns once it is ready."""
    binary = tool("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    log = workdir / "prometheus.log"
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = PrometheusServer(process, port, log)

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    try:
        server.wait_until(ready, timeout=30, message="prometheus did not become ready")
    except BaseException:
        server.stop()
        raise
    return server


@dataclass(frozen=True)
class MetricSpec:
    """One metric as `worker/metrics.py` defines it, under the name people query it by."""

    name: str  # counters with _total, info with _info; histograms by their base name
    type: str  # counter, gauge, histogram, info
    labels: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()  # histograms: upper bounds without +Inf

    @property
    def series_names(self) -> tuple[str, ...]:
        """The sample names the worker's /metrics exposes for it."""
        if self.type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count", f"{self.name}_created")
        if self.type == "counter":
            return (self.name, self.name.removesuffix("_total") + "_created")
        return (self.name,)


def worker_metrics() -> list[MetricSpec]:
    """Every metric of `worker.metrics.Metrics`, read from a real instance (the source of truth)."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics import MetricWrapperBase

    from worker.metrics import Metrics

    metrics = Metrics(CollectorRegistry())
    specs = []
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        kind = value._type
        name = {"counter": f"{value._name}_total", "info": f"{value._name}_info"}.get(kind, value._name)
        buckets = tuple(b for b in getattr(value, "_upper_bounds", ()) if b != float("inf"))
        specs.append(MetricSpec(name, kind, tuple(value._labelnames), value._documentation, buckets))
    return specs


def worker_series_names() -> set[str]:
    return {series for spec in worker_metrics() for series in spec.series_names}
