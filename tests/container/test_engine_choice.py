"""Which engine the container tests use, and the reason they give when none can be had (no engine needed)."""

from __future__ import annotations

import re

import docker_engine
import pytest
from docker_engine import NoEngine, acquire_engine, docker_client

pytestmark = pytest.mark.container

NOWHERE = "unix:///nonexistent/docker.sock"


@pytest.fixture
def no_running_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    if docker_client() is None:
        pytest.skip("no docker client here: the reason for that case is tested by test_no_client_is_a_reason")
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)  # the real client really fails to reach it


def test_no_client_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_engine, "docker_client", lambda: None)
    with pytest.raises(NoEngine, match=re.escape("no Docker client: install Debian's docker.io")):
        acquire_engine()


@pytest.mark.usefixtures("no_running_engine")
def test_without_root_no_dockerd_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_engine, "find_dockerd", lambda: "/usr/sbin/dockerd")
    monkeypatch.setattr(docker_engine.os, "geteuid", lambda: 1000)
    with pytest.raises(
        NoEngine, match=re.escape(f"no Docker engine answers at {NOWHERE}, and only root can start dockerd")
    ):
        acquire_engine()


@pytest.mark.usefixtures("no_running_engine")
def test_without_dockerd_the_reason_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_engine, "find_dockerd", lambda: None)
    with pytest.raises(NoEngine, match=r"dockerd is not installed \(`make container-tools`"):
        acquire_engine()
