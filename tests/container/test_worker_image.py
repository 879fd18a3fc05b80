"""The worker image of docker/Dockerfile, built and run: user, commands, health check, contents, size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compose_stack import rendered_config
from docker_engine import Engine
from local_images import REPO

# Session fixtures may build images first (minutes on a cold cache): the bound is about waiting, not correctness.
pytestmark = [pytest.mark.container, pytest.mark.timeout(2700)]

POLICY_IN_IMAGE = "/etc/backup-validator/policy.toml"
CONSUMER_ONLY = ("emulator", "tests", "pytest", "moto", "hypothesis", "bench")


@pytest.fixture(scope="module")
def worker_image(project_images: dict[str, str]) -> str:
    return project_images["worker"]


def _run(engine: Engine, image: str, *args: str, options: tuple[str, ...] = (), entrypoint: str | None = None):
    prefix = ["run", "--rm", *options] + (["--entrypoint", entrypoint] if entrypoint else [])
    return engine.docker(*prefix, image, *args, check=False, timeout=120)


def _compose_worker_environment(engine: Engine, tmp_path: Path) -> dict[str, str]:
    """The worker service's environment as compose resolves it (defaults of every ${VAR:-default})."""
    environment = rendered_config(engine, tmp_path)["services"]["worker"]["environment"]
    return {name: str(value) for name, value in environment.items()}


def test_image_runs_as_the_non_root_user(docker_engine: Engine, worker_image: str) -> None:
    config = json.loads(docker_engine.docker("image", "inspect", "--format", "{{json .Config}}", worker_image).stdout)
    assert config["User"] == "10001:10001"
    who = _run(docker_engine, worker_image, "-c", "import os; print(os.getuid(), os.getgid())", entrypoint="python")
    assert who.returncode == 0, who.stderr
    assert who.stdout.split() == ["10001", "10001"]


def test_help_names_every_command(docker_engine: Engine, worker_image: str) -> None:
    result = _run(docker_engine, worker_image, "--help")
    assert result.returncode == 0, result.stderr
    for command in ("run", "validate", "check-config", "sweep"):
        assert command in result.stdout
    wrong = _run(docker_engine, worker_image, "no-such-command")
    assert wrong.returncode == 2
    assert "invalid choice" in wrong.stderr


def test_check_config_accepts_the_compose_environment_and_rejects_a_broken_policy(
    docker_engine: Engine, worker_image: str, tmp_path: Path
) -> None:
    environment = _compose_worker_environment(docker_engine, tmp_path)
    env_options = tuple(option for name, value in environment.items() for option in ("--env", f"{name}={value}"))
    shipped = REPO / "docker" / "worker" / "policy.toml"
    good = _run(
        docker_engine,
        worker_image,
        "check-config",
        options=(*env_options, "--volume", f"{shipped}:{POLICY_IN_IMAGE}:ro"),
    )
    assert good.returncode == 0, good.stderr
    assert "configuration OK" in good.stdout

    broken = tmp_path / "broken.toml"
    broken.write_text('[[selection]]\nname = "orders"\nresource_type = "RDS"\nsource_arn = \n')
    broken.chmod(0o644)
    bad = _run(
        docker_engine,
        worker_image,
        "check-config",
        options=(*env_options, "--volume", f"{broken}:{POLICY_IN_IMAGE}:ro"),
    )
    assert bad.returncode == 2, (bad.stdout, bad.stderr)
    assert "line 4" in bad.stderr or ":4" in bad.stderr, bad.stderr


def test_health_check_fails_when_the_worker_does_not_answer(docker_engine: Engine, worker_image: str) -> None:
    """The image's own HEALTHCHECK command, in a container where nothing serves /healthz, must fail (the stack
    test runs it in the live worker, where it must pass)."""
    health = json.loads(
        docker_engine.docker("image", "inspect", "--format", "{{json .Config.Healthcheck}}", worker_image).stdout
    )
    assert health["Test"][0] == "CMD"
    container = docker_engine.docker(
        "run", "--detach", "--rm", "--entrypoint", "sleep", worker_image, "120"
    ).stdout.strip()
    try:
        probe = docker_engine.docker("exec", container, *health["Test"][1:], check=False, timeout=60)
    finally:
        docker_engine.docker("rm", "--force", container, check=False)
    assert probe.returncode != 0
    assert "Connection refused" in probe.stderr or "URLError" in probe.stderr


def test_image_holds_the_worker_and_no_emulator_test_code_or_compilers(
    docker_engine: Engine, worker_image: str, project_images: dict[str, str]
) -> None:
    script = (
        "import importlib.util as u, json, shutil; "
        f"print(json.dumps({{n: u.find_spec(n) is not None for n in {(*CONSUMER_ONLY, 'worker')!r}}})); "
        "print(json.dumps({c: shutil.which(c) for c in ('backup-validator', 'backup-emulator', 'backup-traffic', "
        "'gcc', 'cc')}))"
    )

    def contents(image: str) -> tuple[dict[str, bool], dict[str, str | None]]:
        result = _run(docker_engine, image, "-c", script, entrypoint="python")
        assert result.returncode == 0, result.stderr
        modules, commands = result.stdout.splitlines()
        return json.loads(modules), json.loads(commands)

    modules, commands = contents(worker_image)
    assert modules == {name: name == "worker" for name in (*CONSUMER_ONLY, "worker")}
    assert commands.pop("backup-validator")
    assert commands == dict.fromkeys(commands), commands
    # The control: the emulator image, from the same Dockerfile, does hold the emulator.
    emulator_modules, emulator_commands = contents(project_images["emulator"])
    assert emulator_modules["emulator"] and emulator_commands["backup-emulator"]
