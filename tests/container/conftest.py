"""Container tests: docker/Dockerfile built and run, docker-compose.yml brought up and down, on a real engine.

* ``docker_engine`` (session): a running Docker engine, else a private dockerd started here and stopped by its
  PID at the end (tests/container/docker_engine.py). Without either every test here is skipped, and the end
  of the run says why.
* ``standin_images`` (session): the local Debian base and the stand-ins for the upstream images, tagged with
  the upstream names (tests/container/local_images.py); built only when their inputs changed.
* ``project_images`` (session): the worker and emulator images of docker/Dockerfile, tagged as
  docker-compose.yml names them.

The end of the run reports the engine used, what was built and how long it took, and the images' sizes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from compose_stack import load_compose
from container_report import REPORT, SKIPPED, note, skip
from docker_engine import Engine, NoEngine, acquire_engine
from local_images import STANDINS, CannotBuild, base_image, build_project_image, ensure_standin, image_size_mb


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    try:
        engine = acquire_engine()
    except NoEngine as exc:
        skip(f"container tests skipped: {exc}")
    try:
        version = engine.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
        if engine.private:
            note(f"engine: private dockerd {version}, started in {engine.started_in:.1f} s, stopped at the end")
        else:
            note(f"engine: the running Docker engine {version}")
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def standin_images(docker_engine: Engine) -> dict[str, str]:
    """Upstream image name -> why it cannot be had here, for the stand-ins that could not be built."""
    started = time.monotonic()
    try:
        base = base_image(docker_engine)
    except CannotBuild as exc:
        skip(f"container tests skipped: no local base image: {exc}")
    note(f"base image {base} ready after {time.monotonic() - started:.0f} s")
    missing: dict[str, str] = {}
    for standin in STANDINS:
        began = time.monotonic()
        try:
            outcome = ensure_standin(docker_engine, standin, base)
        except CannotBuild as exc:
            missing[standin.image] = str(exc)
            note(f"stand-in {standin.image}: cannot be built: {exc}")
            continue
        note(f"stand-in {standin.image}: {outcome} ({time.monotonic() - began:.0f} s)")
    if "python:3.11-slim" in missing:
        skip(f"container tests skipped: no python:3.11-slim: {missing['python:3.11-slim']}")
    if docker_engine.private:
        docker_engine.docker("image", "prune", "--force", timeout=300)  # stand-ins replaced by a rebuild
    return missing


@pytest.fixture(scope="session")
def project_images(docker_engine: Engine, standin_images: dict[str, str]) -> dict[str, str]:
    """Compose service -> image tag, for the services built from docker/Dockerfile."""
    services = load_compose()["services"]
    built = {name: service for name, service in services.items() if "build" in service}
    tags: dict[str, str] = {}
    for name, service in built.items():
        target, tag = service["build"]["target"], service["image"]
        if tag not in tags.values():
            began = time.monotonic()
            build_project_image(docker_engine, target, tag)
            size = image_size_mb(docker_engine, tag)
            note(f"image {tag} (target {target}): built in {time.monotonic() - began:.0f} s, {size:.0f} MB")
        tags[name] = tag
    return tags


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT and not SKIPPED:
        return
    terminalreporter.section("containers")
    for line in SKIPPED + REPORT:
        terminalreporter.write_line(line)
