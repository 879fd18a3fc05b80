"""Fixtures of the observability tests: real Prometheus servers, stopped when the test or module ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from obs_support import PrometheusServer, start_prometheus

StartPrometheus = Callable[[str, dict[str, Any]], PrometheusServer]


@pytest.fixture(scope="module")
def prometheus_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartPrometheus]:
    """`start(name, config)` -> a ready Prometheus on 127.0.0.1:<free port>; all of them stop at module end."""
    servers: list[PrometheusServer] = []

    def start(name: str, config: dict[str, Any]) -> PrometheusServer:
        workdir: Path = tmp_path_factory.mktemp(f"prometheus-{name}")
        server = start_prometheus(workdir, config)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
