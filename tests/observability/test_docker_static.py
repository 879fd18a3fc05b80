"""docker-compose.yml, docker/Dockerfile and .dockerignore, checked without a Docker engine.

What is proven here: the compose file is valid for the Compose Specification; everything it builds, mounts
and runs exists (build contexts, Dockerfile targets, host files, console scripts declared in pyproject.toml);
the commands parse with the real command-line parsers of the project; the worker's environment is one the
worker accepts (`backup-validator check-config` passes with it and the mounted policy); names, ports and URLs
agree across compose, Prometheus, Grafana, the Dockerfile and the Terraform example; and the Dockerfile has the
intended stages, base images, non-root user, health check and entrypoints.
"""

from __future__ import annotations

import copy
import fnmatch
import glob
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from obs_support import COMPOSE_FILE, DOCKER, DOCKERFILE, REPO, free_port

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
CONSOLE_SCRIPTS: dict[str, str] = PYPROJECT["project"]["scripts"]
OUR_DOCKERFILE = "docker/Dockerfile"

# Executables of the third-party images that the compose file may call (entrypoints, commands, health checks).
IMAGE_BINARIES = {
    "motoserver/moto": {"python"},
    "localstack/localstack": {"curl"},
    "postgres": {"pg_isready"},
    "mariadb": {"healthcheck.sh"},
    "hashicorp/terraform": {"terraform", "/bin/sh"},
    "prom/prometheus": {"/bin/prometheus", "wget"},
    "grafana/grafana": {"curl"},
}
# The only images that may float (the LocalStack image is chosen by the user's auth token / plan).
UNPINNED_ALLOWED = {"localstack"}

# Variables botocore reads (a misspelt one would be ignored silently, like an unknown BV_ variable).
AWS_VARIABLES = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BACKUP",
    "AWS_ENDPOINT_URL_RDS",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "AWS_ENDPOINT_URL_EVENTBRIDGE",
    "AWS_ENDPOINT_URL_STS",
}


# ---- compose: loading and interpolation -----------------------------------------------------------------

_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.DOTALL)


@dataclass
class Interpolation:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$$`, with an empty environment."""

    environment: dict[str, str] = field(default_factory=dict)
    without_default: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)

    def string(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match["escaped"]:
                return "$"
            if match["plain"]:
                self.used.add(match["plain"])
                self.without_default.add(match["plain"])
                return self.environment.get(match["plain"], "")
            parsed = _BRACED.fullmatch(match["braced"])
            assert parsed, f"cannot parse ${{{match['braced']}}}"
            name, op, arg = parsed["name"], parsed["op"], parsed["arg"] or ""
            self.used.add(name)
            value = self.environment.get(name)
            if op in (":-", "-"):
                if value is None or (op == ":-" and value == ""):
                    return self.string(arg)
                return value
            self.without_default.add(name)
            return value or ""

        return _VARIABLE.sub(replace, text)

    def tree(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.string(node)
        if isinstance(node, list):
            return [self.tree(item) for item in node]
        if isinstance(node, dict):
            return {key: self.tree(value) for key, value in node.items()}
        return node


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))  # YAML merge keys resolved here


def load_compose(environment: dict[str, str] | None = None) -> tuple[dict[str, Any], Interpolation]:
    interpolation = Interpolation(environment or {})
    return interpolation.tree(raw_compose()), interpolation


COMPOSE, INTERPOLATION = load_compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()  # compose splits string commands shell-like; ours have no quoting
    return [str(item) for item in value]


def environment_of(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool
    bind: bool

    @property
    def host_path(self) -> Path:
        return (REPO / self.source).resolve()


def mounts_of(service: str) -> list[Mount]:
    mounts = []
    for volume in SERVICES[service].get("volumes", []):
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume["target"]
            read_only, bind = bool(volume.get("read_only")), volume.get("type") == "bind"
        else:
            parts = volume.split(":")
            source, target = parts[0], parts[1]
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")
            bind = source.startswith((".", "/", "~"))
        mounts.append(Mount(source, target, read_only, bind))
    return mounts


def host_path_of(service: str, container_path: str) -> Path:
    """The host file that appears at `container_path` inside `service` (through a bind mount)."""
    for mount in mounts_of(service):
        if not mount.bind:
            continue
        if container_path == mount.target:
            return mount.host_path
        if container_path.startswith(mount.target.rstrip("/") + "/"):
            return mount.host_path / container_path[len(mount.target.rstrip("/")) + 1 :]
    raise AssertionError(f"{container_path} is not bind-mounted into {service}")


def image_name(service: str) -> str:
    image = SERVICES[service].get("image", "")
    return image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image


def built_here(service: str) -> bool:
    return "build" in SERVICES[service]


# ---- Dockerfile parsing (a small reader: instructions, stages, ARG defaults) ------------------------------


@dataclass
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON (exec) form of ENTRYPOINT/CMD/HEALTHCHECK CMD; fails on the shell form."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text[text.index("CMD") + 3 :]
        value = json.loads(text.strip())
        assert isinstance(value, list), f"{self.keyword} must use the exec (JSON) form"
        return value


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def text(self, keyword: str) -> str:
        return "\n".join(i.arguments for i in self.all(keyword))


def dockerfile_instructions(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue  # comments and blank lines, also inside continuations, as Docker does
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical = pending + stripped
        pending = ""
        keyword, _, arguments = logical.partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(arguments.split())))
    assert not pending, "the Dockerfile ends inside a line continuation"
    return instructions


def dockerfile_stages(path: Path = DOCKERFILE) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages in order)."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in dockerfile_instructions(path.read_text(encoding="utf-8")):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            words = [w for w in words if not w.startswith("--platform")]
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], ""), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name, base, []))
        elif instruction.keyword == "ARG" and not stages:
            name, _, default = instruction.arguments.partition("=")
            args[name] = default
        elif stages:
            stages[-1].instructions.append(instruction)
    return args, stages


GLOBAL_ARGS, STAGES = dockerfile_stages()
STAGE = {stage.name: stage for stage in STAGES}


# ---- .dockerignore -------------------------------------------------------------------------------------


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def docker_ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore semantics: last matching rule wins; a matched directory excludes its content."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip("/")
        regex = _ignore_regex(pattern)
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


DOCKERIGNORE = [
    line.strip()
    for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.strip().startswith("#")
]


# =========================================================================================================
# compose
# =========================================================================================================


def _check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_valid_for_the_compose_specification() -> None:
    """check-jsonschema's vendored copy of the Compose Specification schema (compose-spec.json)."""
    result = _check_jsonschema(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_schema_check_rejects_mistakes(tmp_path: Path) -> None:
    broken = copy.deepcopy(raw_compose())
    broken["services"]["worker"]["depends_on"]["terraform"]["condition"] = "service_finished"
    broken["services"]["worker"]["helthcheck"] = broken["services"]["worker"].pop("healthcheck")
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = _check_jsonschema(path)
    assert result.returncode != 0, "the schema check accepted an invalid compose file"


def test_every_variable_has_a_default_so_plain_up_works() -> None:
    assert not INTERPOLATION.without_default, (
        f"variables without a default (docker compose up would need them set): {INTERPOLATION.without_default}"
    )
    # the documented knobs of docs/local-stack.md
    assert {"AWS_STANDIN_URL", "AWS_ACCOUNT_ID", "LOCALSTACK_AUTH_TOKEN"} <= INTERPOLATION.used


def test_the_default_stack_needs_no_account_and_localstack_is_a_profile() -> None:
    for name, service in SERVICES.items():
        if name == "localstack":
            assert service.get("profiles") == ["localstack"]
            assert "LOCALSTACK_AUTH_TOKEN" in environment_of("localstack")
        else:
            assert not service.get("profiles"), f"{name} should start with a plain `docker compose up`"
    assert environment_of("worker")["AWS_ENDPOINT_URL"] == "http://moto:5000"
    assert environment_of("worker")["AWS_ACCESS_KEY_ID"] == "test"


def test_the_localstack_profile_repoints_every_aws_client() -> None:
    compose, _ = load_compose({"AWS_STANDIN_URL": "http://localstack:4566", "AWS_ACCOUNT_ID": "000000000000"})
    services = compose["services"]
    worker = services["worker"]["environment"]
    assert worker["AWS_ENDPOINT_URL"] == "http://localstack:4566"
    assert worker["BV_QUEUE_URL"] == "http://localstack:4566/000000000000/backup-validator"
    assert services["terraform"]["environment"]["AWS_STANDIN_URL"] == "http://localstack:4566"
    command = services["emulator"]["command"]
    assert command[command.index("--events-url") + 1] == "http://localstack:4566"
    assert services["traffic"]["environment"]["AWS_ENDPOINT_URL"] == "http://localstack:4566"


def test_build_contexts_dockerfiles_and_targets_exist() -> None:
    built = [name for name in SERVICES if built_here(name)]
    assert set(built) == {"emulator", "worker", "traffic"}
    for name in built:
        build = SERVICES[name]["build"]
        context = (REPO / build["context"]).resolve()
        assert context.is_dir(), f"{name}: build context {context} missing"
        assert build["dockerfile"] == OUR_DOCKERFILE
        assert (context / build["dockerfile"]).is_file()
        assert build["target"] in STAGE, f"{name}: no stage {build['target']!r} in the Dockerfile"
    assert SERVICES["worker"]["build"]["target"] == "worker"
    assert SERVICES["emulator"]["build"]["target"] == "emulator"
    # traffic reuses the emulator image: same target, same tag, so compose builds it once
    assert SERVICES["traffic"]["build"] == SERVICES["emulator"]["build"]
    assert SERVICES["traffic"]["image"] == SERVICES["emulator"]["image"]


def test_mounted_host_files_exist_and_named_volumes_are_declared() -> None:
    declared = set(COMPOSE.get("volumes") or {})
    for name in SERVICES:
        for mount in mounts_of(name):
            if mount.bind:
                assert mount.host_path.exists(), f"{name}: {mount.source} does not exist"
                assert mount.host_path.is_relative_to(REPO), f"{name}: mounts {mount.source} from outside the repo"
                assert mount.read_only, f"{name}: the repository is mounted writable at {mount.target}"
            else:
                assert mount.source in declared, f"{name}: volume {mount.source} is not declared"


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        if built_here(name) or name in UNPINNED_ALLOWED:
            continue
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest", f"{name}: pin a version of {image}"


def _entrypoint_and_command(name: str) -> tuple[list[str], list[str]]:
    service = SERVICES[name]
    entrypoint = as_list(service.get("entrypoint"))
    command = as_list(service.get("command"))
    if built_here(name):
        stage = STAGE[service["build"]["target"]]
        if not entrypoint:
            entrypoint = stage.last("ENTRYPOINT").exec_form()  # type: ignore[union-attr]
            if not command and stage.last("CMD"):
                command = stage.last("CMD").exec_form()  # type: ignore[union-attr]
    return entrypoint, command


def test_every_executable_is_a_console_script_or_a_known_image_binary() -> None:
    for name, service in SERVICES.items():
        entrypoint, command = _entrypoint_and_command(name)
        healthcheck = as_list((service.get("healthcheck") or {}).get("test"))
        health_binary = healthcheck[1] if healthcheck[:1] == ["CMD"] else None
        if built_here(name):
            assert entrypoint and entrypoint[0] in CONSOLE_SCRIPTS, (
                f"{name}: {entrypoint} is not a console script of pyproject.toml ({sorted(CONSOLE_SCRIPTS)})"
            )
            # python:3.11-slim has no curl or wget: health checks use Python's urllib
            assert health_binary in (None, "python"), f"{name}: health check runs {health_binary}"
            continue
        known = IMAGE_BINARIES[image_name(name)]
        if entrypoint:
            assert entrypoint[0] in known, f"{name}: entrypoint {entrypoint[0]} is not in {image_name(name)}"
            for argument in entrypoint[1:]:
                if argument.startswith("/scripts/"):
                    assert host_path_of(name, argument).is_file()
        elif command:
            assert all(arg.startswith("--") for arg in command), f"{name}: command {command} replaces a binary"
        if health_binary is not None:
            assert health_binary in known, f"{name}: health check runs {health_binary}, not in {image_name(name)}"
        else:
            assert healthcheck[:1] != ["CMD-SHELL"] or healthcheck[1].split()[0] in known


def test_emulator_command_parses_with_the_real_cli() -> None:
    from emulator.cli import build_parser

    entrypoint, command = _entrypoint_and_command("emulator")
    assert entrypoint == ["backup-emulator"]
    args = build_parser().parse_args(command)
    assert args.host == "0.0.0.0"
    # the worker and the traffic reach it by service name and this port
    for variable in ("AWS_ENDPOINT_URL_BACKUP", "AWS_ENDPOINT_URL_RDS"):
        url = urlsplit(environment_of("worker")[variable])
        assert (url.hostname, url.port) == ("emulator", args.port), variable
        assert environment_of("traffic")[variable] == environment_of("worker")[variable]
    # restored PostgreSQL databases are reached through the emulator's proxy, under the service's name
    assert args.advertise_host == "emulator"
    assert urlsplit(args.postgres_url).hostname == "postgres"
    assert urlsplit(args.mysql_url).hostname == "mysql"
    assert args.events_url == environment_of("worker")["AWS_ENDPOINT_URL"]
    assert args.account_id == "123456789012"
    # the image's own health check and the compose one probe the same port
    assert f"127.0.0.1:{args.port}/_emulator/health" in " ".join(SERVICES["emulator"]["healthcheck"]["test"])
    assert f"127.0.0.1:{args.port}/_emulator/health" in STAGE["emulator"].text("HEALTHCHECK")


def test_worker_command_is_backup_validator_run() -> None:
    from worker.cli import _parser

    entrypoint, command = _entrypoint_and_command("worker")
    assert entrypoint == ["backup-validator"]
    assert command == ["run"]
    assert _parser().parse_args(command).command == "run"


def test_traffic_command_parses_with_the_real_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    import emulator.traffic as traffic

    seen: dict[str, Any] = {}

    async def record(count: int, interval: float, central_vault: str, rounds: int | None) -> None:
        seen.update(count=count, interval=interval, central_vault=central_vault, rounds=rounds)

    monkeypatch.setattr(traffic, "_forever", record)
    entrypoint, command = _entrypoint_and_command("traffic")
    assert entrypoint == ["backup-traffic"]
    assert CONSOLE_SCRIPTS["backup-traffic"] == "emulator.traffic:main"
    assert traffic.main(command) == 0
    assert seen["count"] >= 1
    assert seen["rounds"] is None, "the compose traffic keeps going"


def _settings_fields() -> dict[str, bool]:
    """BV_<FIELD> -> required, from the worker's settings model (the only reader of the environment)."""
    from worker.settings import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper(): info.is_required() for name, info in Settings.model_fields.items()}


def test_worker_environment_uses_only_variables_the_worker_reads() -> None:
    fields = _settings_fields()
    env = environment_of("worker")
    unknown = {key for key in env if key.startswith("BV_")} - set(fields)
    assert not unknown, f"the worker ignores these (misspelt?): {sorted(unknown)}"
    missing = {key for key, required in fields.items() if required} - set(env)
    assert not missing, f"the worker requires {sorted(missing)}"
    others = {key for key in env if not key.startswith("BV_")} - AWS_VARIABLES
    assert not others, f"unexpected variables: {sorted(others)}"
    assert env["BV_DB_TLS"] == "disable"
    for service in ("traffic", "emulator", "terraform"):
        assert set(environment_of(service)) - set(fields) - AWS_VARIABLES <= {
            "AWS_STANDIN_URL",
            "TF_IN_AUTOMATION",
            "TF_PLUGIN_CACHE_DIR",
        }, service


def test_worker_check_config_accepts_the_compose_environment_and_policy(tmp_path: Path) -> None:
    """`backup-validator check-config` (offline) with exactly the worker service's environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BV_", "AWS_"))}
    env.update(environment_of("worker"))
    env["BV_POLICY_FILE"] = str(host_path_of("worker", environment_of("worker")["BV_POLICY_FILE"]))
    script = Path(sys.executable).with_name("backup-validator")
    result = subprocess.run(
        [str(script), "check-config"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configuration OK" in result.stdout


def test_policy_matches_what_the_traffic_generator_creates() -> None:
    import emulator.traffic as traffic
    from worker.policy import load_policy

    policy = load_policy(host_path_of("worker", environment_of("worker")["BV_POLICY_FILE"]))
    for engine in ("postgres", "mariadb"):
        arn = f"arn:aws:rds:us-east-1:123456789012:db:orders-{engine}-1a2b-0"
        selection = policy.match("RDS", arn, "123456789012", {})
        assert selection is not None, f"the policy does not select {arn}"
        assert {check.kind for check in selection.checks} >= {"freshness", "row_count", "sql"}
    for ddl in traffic._DDL.values():
        for column in ("events", "id", "created_at", "amount"):
            assert re.search(rf"\b{column}\b", ddl), f"the traffic's table has no {column}: {ddl}"


def test_depends_on_lets_compose_up_settle_by_itself() -> None:
    def conditions(name: str) -> dict[str, dict[str, Any]]:
        depends = SERVICES[name].get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: use the long depends_on form with conditions"
        return depends

    for name in SERVICES:
        for target, spec in conditions(name).items():
            assert target in SERVICES, f"{name} depends on unknown {target}"
            if spec.get("required") is False:
                assert SERVICES[target].get("profiles"), f"{name}: only optional (profile) services are optional"
            if spec["condition"] == "service_healthy":
                has_check = "healthcheck" in SERVICES[target] or (
                    built_here(target) and STAGE[SERVICES[target]["build"]["target"]].last("HEALTHCHECK")
                )
                assert has_check, f"{name} waits for {target} to be healthy, which has no health check"
            if spec["condition"] == "service_completed_successfully":
                assert SERVICES[target].get("restart") == "no", f"{target} is a one-shot job"
    worker = {target: spec["condition"] for target, spec in conditions("worker").items()}
    assert worker == {
        "terraform": "service_completed_successfully",
        "emulator": "service_healthy",
        "postgres": "service_healthy",
        "mysql": "service_healthy",
    }
    assert conditions("terraform")["moto"]["condition"] == "service_healthy"
    # events emitted before the EventBridge rules exist would be lost
    assert conditions("traffic")["terraform"]["condition"] == "service_completed_successfully"

    # no cycles
    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"depends_on cycle: {' -> '.join((*path, name))}"
        for target in conditions(name):
            visit(target, (*path, name))

    for name in SERVICES:
        visit(name, ())


def test_terraform_job_applies_the_local_example() -> None:
    service = SERVICES["terraform"]
    assert service["image"].startswith("hashicorp/terraform:1.11")
    mounts = {mount.target: mount for mount in mounts_of("terraform")}
    source = mounts["/terraform-src"]
    assert source.read_only and source.host_path == REPO / "deploy" / "terraform"
    assert (source.host_path / "examples" / "local").is_dir()
    assert not mounts["/tfwork"].bind and not mounts["/plugin-cache"].bind
    assert environment_of("terraform")["TF_PLUGIN_CACHE_DIR"] == "/plugin-cache"
    script = host_path_of("terraform", "/scripts/apply.sh")
    syntax = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr
    text = script.read_text(encoding="utf-8")
    assert "cd /tfwork/config/examples/local" in text
    assert '-var "endpoint=$endpoint"' in text
    # every variable the script reads is set for it
    read = set(re.findall(r"\$\{?(BV_\w+|AWS_\w+)", text))
    assert read <= set(environment_of("terraform")), read - set(environment_of("terraform"))
    # and the values it compares are the worker's
    for key in read:
        if key.startswith("BV_"):
            assert environment_of("terraform")[key] == environment_of("worker")[key], key
    # the module attaches AWS managed policies, which moto only knows when told to load them
    module_iam = (source.host_path / "modules" / "service" / "iam.tf").read_text(encoding="utf-8")
    if ":aws:policy/" in module_iam:
        assert environment_of("moto").get("MOTO_IAM_LOAD_MANAGED_POLICIES") == "true"
    # the outputs it reads exist
    outputs = (source.host_path / "examples" / "local" / "outputs.tf").read_text(encoding="utf-8")
    read_outputs = set(re.findall(r"\$\(output (\w+)", text))
    assert read_outputs >= {"queue_url", "dlq_url", "results_bucket", "ledger_table", "log_group_name"}
    for output in read_outputs:
        assert f'output "{output}"' in outputs, f"apply.sh reads output {output}, which the example lacks"


def _hcl_default(path: Path, variable: str) -> str:
    block = re.search(rf'variable "{variable}" \{{(.*?)\n\}}', path.read_text(encoding="utf-8"), re.DOTALL)
    assert block, f"{path.name}: no variable {variable}"
    default = re.search(r'default\s*=\s*"([^"]*)"', block[1])
    assert default, f"{path.name}: variable {variable} has no string default"
    return default[1]


def _module_local(text: str, name: str) -> str:
    line = re.search(rf"^\s*{name}\s*=\s*(.+)$", text, re.MULTILINE)
    assert line, f"modules/validator and its submodules: no local {name}"
    template = re.findall(r'"([^"]*)"', line[1])
    return template[-1] if template else line[1].strip()


def test_worker_resource_names_are_the_terraform_examples() -> None:
    """The names deploy/terraform/examples/local creates with its defaults (apply.sh checks them live too)."""
    example = REPO / "deploy" / "terraform" / "examples" / "local"
    modules = REPO / "deploy" / "terraform" / "modules"
    name = _hcl_default(example / "variables.tf", "name")
    region = _hcl_default(example / "variables.tf", "region")
    account = "123456789012"  # moto's default account
    # The validator module composes submodules; each names its own resources.
    main = "\n".join(
        (modules / path).read_text(encoding="utf-8")
        for path in ("intake/main.tf", "results/main.tf", "results/analytics.tf", "monitoring/main.tf")
    )
    iam = (modules / "service" / "iam.tf").read_text(encoding="utf-8")

    def render(template: str) -> str:
        values = {"var.name": name, "local.account_id": account, "local.region": region}
        if template in values:
            return values[template]
        return re.sub(r"\$\{([\w.]+)\}", lambda m: values[m[1]], template)

    role = re.search(r'resource "aws_iam_role" "restore" \{\s*name\s*=\s*"([^"]+)"', iam)
    assert role, "modules/service/iam.tf: no restore role name"
    env = environment_of("worker")
    assert env["AWS_REGION"] == region
    assert env["BV_QUEUE_URL"] == f"http://moto:5000/{account}/{render(_module_local(main, 'queue_name'))}"
    assert env["BV_DLQ_URL"] == f"http://moto:5000/{account}/{render(_module_local(main, 'dlq_name'))}"
    assert env["BV_LEDGER_TABLE"] == render(_module_local(main, "ledger_table_name"))
    assert env["BV_RESULTS_BUCKET"] == render(_module_local(main, "results_bucket_name"))
    assert env["BV_LOG_GROUP"] == render(_module_local(main, "log_group_name"))
    assert env["BV_RESTORE_ROLE_ARN"] == f"arn:aws:iam::{account}:role/{render(role[1])}"


def test_prometheus_service_scrapes_the_worker_with_the_shipped_config() -> None:
    args = as_list(SERVICES["prometheus"]["command"])
    config_path = next(arg.split("=", 1)[1] for arg in args if arg.startswith("--config.file="))
    config_file = host_path_of("prometheus", config_path)
    assert config_file == DOCKER / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    for rule_file in config["rule_files"]:
        assert (config_file.parent / rule_file).is_file()
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = [t for static in jobs["backup-validator"]["static_configs"] for t in static["targets"]]
    port = environment_of("worker")["BV_METRICS_PORT"]
    assert targets == [f"worker:{port}"]
    assert "worker" in SERVICES
    assert f"127.0.0.1:{port}/healthz" in " ".join(SERVICES["worker"]["healthcheck"]["test"])
    assert "dns_sd_configs" in config_file.read_text(encoding="utf-8"), "document the Cloud Map discovery"


def test_grafana_is_provisioned_from_the_repository() -> None:
    env = environment_of("grafana")
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    provisioning = host_path_of("grafana", "/etc/grafana/provisioning")
    assert provisioning == DOCKER / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text(encoding="utf-8"))
    (datasource,) = datasources["datasources"]
    url = urlsplit(datasource["url"])
    assert url.hostname == "prometheus" and url.port == 9090
    assert any(p.endswith(":9090") for p in SERVICES["prometheus"]["ports"])
    providers = yaml.safe_load((provisioning / "dashboards" / "backup-validator.yml").read_text(encoding="utf-8"))
    (provider,) = providers["providers"]
    dashboards = host_path_of("grafana", provider["options"]["path"])
    assert (dashboards / "backup-validator.json").is_file()
    assert host_path_of("grafana", env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]).is_file()
    dashboard = json.loads((dashboards / "backup-validator.json").read_text(encoding="utf-8"))
    variable = next(v for v in dashboard["templating"]["list"] if v["type"] == "datasource")
    assert variable["current"]["value"] == datasource["uid"]


# =========================================================================================================
# Dockerfile
# =========================================================================================================


def test_dockerfile_stages_and_base_images() -> None:
    assert [stage.name for stage in STAGES] == ["builder", "runtime", "emulator", "worker"]
    assert STAGES[-1].name == "worker", "a plain `docker build` must produce the worker"
    assert STAGE["builder"].base == "python:3.11-slim"
    assert STAGE["runtime"].base == "python:3.11-slim"
    assert STAGE["emulator"].base == "runtime"
    assert STAGE["worker"].base == "runtime"


def test_builder_makes_wheels_and_the_final_images_install_only_them() -> None:
    assert "pip wheel" in STAGE["builder"].text("RUN")
    for stage in ("emulator", "worker"):
        install = STAGE[stage].text("RUN")
        assert "pip install --no-index" in install, f"{stage}: the final image installs the builder's wheels only"
        assert "from=builder" in install
        assert "backup-validator" in install
        assert "[" not in install.split("pip install", 1)[1], "no extras (dev dependencies) in the final image"
    # the worker's own wheel: the project without the emulator (tests/container checks the built image)
    assert "--find-links=/wheels/worker" in STAGE["worker"].text("RUN")
    assert "rm -rf /worker-src/emulator" in STAGE["builder"].text("RUN")
    for stage in ("runtime", "emulator", "worker"):
        text = STAGE[stage].text("RUN")
        assert "apt-get install" not in text, f"{stage}: no build tools or system packages in the final images"
        assert not STAGE[stage].all("COPY") or all(
            "--from=builder" in copy_.arguments for copy_ in STAGE[stage].all("COPY")
        ), f"{stage}: copies sources; only the builder may"


def test_final_images_run_as_a_non_root_user() -> None:
    for stage in ("emulator", "worker"):
        user = STAGE[stage].last("USER")
        assert user is not None, f"{stage}: no USER"
        name = user.arguments.split(":")[0]
        assert name not in {"root", "0"}, f"{stage}: runs as root"
    assert "useradd --system --uid 10001" in STAGE["runtime"].text("RUN")


def test_entrypoints_and_commands() -> None:
    worker, emulator = STAGE["worker"], STAGE["emulator"]
    assert worker.last("ENTRYPOINT").exec_form() == ["backup-validator"]  # type: ignore[union-attr]
    assert worker.last("CMD").exec_form() == ["run"]  # type: ignore[union-attr]
    assert emulator.last("ENTRYPOINT").exec_form() == ["backup-emulator"]  # type: ignore[union-attr]
    from emulator.cli import build_parser

    build_parser().parse_args(emulator.last("CMD").exec_form())  # type: ignore[union-attr]
    for stage in (worker, emulator):
        assert stage.last("ENTRYPOINT").exec_form()[0] in CONSOLE_SCRIPTS  # type: ignore[union-attr]


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, type[_Health]]]:
    handler = type("Handler", (_Health,), {"status": 200})
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port, handler
    server.shutdown()
    server.server_close()


def test_worker_healthcheck_is_python_urllib_on_healthz(health_server: tuple[int, type[_Health]]) -> None:
    """Runs the HEALTHCHECK command itself against a stand-in /healthz: 0 when healthy, non-zero when not."""
    healthcheck = STAGE["worker"].last("HEALTHCHECK")
    assert healthcheck is not None
    command = healthcheck.exec_form()
    assert command[0] == "python" and "urllib.request" in command[-1]
    assert "curl" not in healthcheck.arguments and "wget" not in healthcheck.arguments
    assert "http://127.0.0.1:" in command[-1] and "/healthz" in command[-1]
    assert "'9797'" in command[-1], "defaults to the worker's metrics port"
    port, handler = health_server
    env = {**os.environ, "BV_METRICS_PORT": str(port)}
    run = [sys.executable, *command[1:]]
    assert subprocess.run(run, env=env, capture_output=True, timeout=30).returncode == 0
    handler.status = 503
    assert subprocess.run(run, env=env, capture_output=True, timeout=30).returncode != 0


def test_copied_sources_exist_and_reach_the_build_context() -> None:
    copies = STAGE["builder"].all("COPY")
    sources = [word for copy_ in copies for word in copy_.arguments.split()[:-1] if not word.startswith("--")]
    for source in sources:
        matches = glob.glob(source, root_dir=REPO)
        if source == "README.m[d]":
            continue  # optional on purpose
        assert matches, f"COPY {source}: nothing in the repository"
        for match in matches:
            assert not docker_ignored(match, DOCKERIGNORE), f"COPY {source}: excluded by .dockerignore"
    # every package setuptools would package is copied
    for include in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = include.rstrip("*")
        assert package in sources, f"the builder does not copy the package {package}"


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        ".pytest_cache/v/cache/lastfailed",
        ".mypy_cache/3.11/worker.json",
        ".ruff_cache/content",
        "worker/__pycache__/metrics.cpython-311.pyc",
        "emulator/cli.pyc",
        "tests/unit/test_parse.py",
        "tests/fixtures/events/copy.json",
        "deploy/terraform/examples/local/terraform.tfstate",
        "deploy/terraform/examples/local/.terraform/providers/x",
        "backup_validator.egg-info/PKG-INFO",
        ".env",
    ],
)
def test_dockerignore_excludes(path: str) -> None:
    assert docker_ignored(path, DOCKERIGNORE)


@pytest.mark.parametrize("path", ["pyproject.toml", "README.md", "worker/metrics.py", "emulator/cli.py"])
def test_dockerignore_keeps_what_the_build_needs(path: str) -> None:
    assert not docker_ignored(path, DOCKERIGNORE)


def test_dockerignore_reader_follows_docker_semantics() -> None:
    assert docker_ignored("a/b/c.pyc", ["**/*.pyc"])
    assert docker_ignored("c.pyc", ["**/*.pyc"])
    assert not docker_ignored("keep.txt", ["*.txt", "!keep.txt"])
    assert docker_ignored("dir/file", ["dir"])
    assert fnmatch.fnmatch("x", "x")  # (the reader is a regex translation, not fnmatch: no '/' crossing)
    assert not docker_ignored("a/b.txt", ["*.txt"])
