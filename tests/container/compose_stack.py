"""docker-compose.yml run by docker-compose 1.29 (Debian's), under a unique project name, on free 127.0.0.1 ports.

The file is written for Compose v2 (>= 2.20). Compose 1.29 refuses two keys of it, both about naming and the
optional LocalStack profile: the top-level ``name`` (given here as ``--project-name``) and ``required: false``
on the dependencies on ``localstack``. ``compat_compose_file`` writes a copy without exactly those, the
repository stays the reference (``--project-directory`` resolves its relative paths), and ``dropped`` says what
was left out so a test can check that nothing else was.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from container_report import skip
from docker_engine import Engine
from local_images import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
# Published ports of docker-compose.yml, each set by a variable; the tests give every one a free port.
PORT_VARIABLES = (
    "MOTO_PORT",
    "POSTGRES_PORT",
    "MYSQL_PORT",
    "EMULATOR_PORT",
    "WORKER_METRICS_PORT",
    "PROMETHEUS_PORT",
    "GRAFANA_PORT",
    "LOCALSTACK_PORT",
)
PROJECT_PREFIX = "bvtest"
# In the default profile but not started: no image can be built for it here (the real one must be pulled).
NOT_STARTED = {"grafana": "grafana/grafana has no Debian package to build a local stand-in from"}


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    return document


def compat_compose_file(target: Path) -> tuple[Path, list[str]]:
    """A copy of docker-compose.yml that Compose 1.29 accepts, and the list of what it leaves out."""
    document = load_compose()
    dropped: list[str] = []
    if "name" in document:
        dropped.append(f"name: {document.pop('name')}")
    for service_name, service in document["services"].items():
        depends = service.get("depends_on")
        if not isinstance(depends, dict):
            continue
        for dependency, condition in list(depends.items()):
            if isinstance(condition, dict) and condition.get("required") is False:
                del depends[dependency]
                dropped.append(f"{service_name} depends_on {dependency} (required: false)")
    path = target / "docker-compose.compose1.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path, dropped


def require_compose(engine: Engine) -> None:
    """Skip (saying why) where there is no ``docker-compose``."""
    if shutil.which("docker-compose", path=engine.env["PATH"]) is None:
        skip("compose skipped: no docker-compose (`make container-tools` installs Debian's, as root)")


def rendered_config(engine: Engine, workdir: Path) -> dict[str, Any]:
    """What Compose makes of the file with every variable at its default (``docker-compose config``)."""
    require_compose(engine)
    file, _ = compat_compose_file(workdir)
    command = ["docker-compose", "--file", str(file), "--project-directory", str(REPO), "config"]
    result = subprocess.run(command, env=engine.env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rendered: dict[str, Any] = yaml.safe_load(result.stdout)
    return rendered


def default_services(document: dict[str, Any]) -> list[str]:
    return [name for name, service in document["services"].items() if not service.get("profiles")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def seconds(duration: str) -> float:
    """A compose duration such as ``30s``, ``1m30s``."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts, f"not a compose duration: {duration!r}"
    return sum(float(value) * units[unit] for value, unit in parts)


@dataclass
class Stack:
    engine: Engine
    file: Path
    project: str
    ports: dict[str, int]
    started: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, engine: Engine, workdir: Path) -> Stack:
        file, _ = compat_compose_file(workdir)
        ports = {name: free_port() for name in PORT_VARIABLES}
        return cls(engine=engine, file=file, project=f"{PROJECT_PREFIX}{uuid.uuid4().hex[:8]}", ports=ports)

    def compose(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(self.engine.env)
        env.update({name: str(port) for name, port in self.ports.items()})
        env["COMPOSE_DOCKER_CLI_BUILD"] = "1"  # build with the docker client (BuildKit), not docker-py's builder
        command = [
            "docker-compose",
            "--project-name",
            self.project,
            "--file",
            str(self.file),
            "--project-directory",
            str(REPO),
            "--ansi",
            "never",
            *args,
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker-compose {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}\n"
                f"{self.logs(tail=40)}"
            )
        return result

    def up(self, services: list[str], timeout: float) -> None:
        self.started = services
        self.compose("up", "--detach", "--no-build", *services, timeout=timeout)

    def container(self, service: str) -> str:
        ids = self.compose("ps", "--all", "--quiet", service).stdout.split()
        assert ids, f"no container for {service}"
        return ids[0]

    def inspect(self, service: str) -> dict[str, Any]:
        raw = self.engine.docker("inspect", self.container(service)).stdout
        state: dict[str, Any] = json.loads(raw)[0]
        return state

    def logs(self, service: str | None = None, tail: int = 200) -> str:
        args = ["logs", "--no-color", "--tail", str(tail)] + ([service] if service else [])
        try:
            result = self.compose(*args, check=False, timeout=60)
        except subprocess.TimeoutExpired:
            return "(docker-compose logs timed out)"
        return result.stdout[-8000:]

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=180)

    def services_with_containers(self) -> set[str]:
        listing = self.engine.docker(
            "ps",
            "--all",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--format",
            '{{.Label "com.docker.compose.service"}}',
        )
        return set(listing.stdout.split())

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, volumes and networks of this project still on the engine."""
        label = f"label=com.docker.compose.project={self.project}"
        found = {
            "containers": self.engine.docker("ps", "--all", "--quiet", "--filter", label).stdout.split(),
            "volumes": self.engine.docker("volume", "ls", "--quiet", "--filter", label).stdout.split(),
            "networks": self.engine.docker("network", "ls", "--quiet", "--filter", label).stdout.split(),
        }
        return {kind: names for kind, names in found.items() if names}


def remove_stale_projects(engine: Engine) -> list[str]:
    """Stacks of these tests left on a private engine by a killed run (their restart policy would bring them
    back with the engine): containers, volumes and networks of projects named ``bvtest*`` are removed."""
    if not engine.private:
        return []
    label = '{{.Label "com.docker.compose.project"}}'
    projects = {
        name
        for name in engine.docker("ps", "--all", "--format", label).stdout.split()
        + engine.docker("volume", "ls", "--format", label).stdout.split()
        if name.startswith(PROJECT_PREFIX)
    }
    for project in sorted(projects):
        selector = ("--filter", f"label=com.docker.compose.project={project}")
        containers = engine.docker("ps", "--all", "--quiet", *selector).stdout.split()
        if containers:
            engine.docker("rm", "--force", "--volumes", *containers, timeout=120)
        volumes = engine.docker("volume", "ls", "--quiet", *selector).stdout.split()
        if volumes:
            engine.docker("volume", "rm", *volumes)
        networks = engine.docker("network", "ls", "--quiet", *selector).stdout.split()
        if networks:
            engine.docker("network", "rm", *networks)
    return sorted(projects)


def wait_for(what: str, probe: Any, timeout: float, interval: float = 3.0, diagnostics: Any = None) -> Any:
    """Call ``probe`` until it returns something truthy; fail with ``what`` (and diagnostics) after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    extra = diagnostics() if diagnostics else ""
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})\n{extra}")
