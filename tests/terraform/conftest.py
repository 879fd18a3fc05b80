"""Terraform tests: an offline provider mirror, a private moto server, and deployments applied in the background.

* ``terraform`` (session): a runner whose subprocesses use a generated CLI configuration. When an AWS provider
  mirror is found on the machine (see ``find_provider_mirror``) the configuration installs providers only from
  it, so Terraform never touches the network; otherwise plain ``terraform init`` (a developer with internet).
* ``tf_moto`` (session): a ``ThreadedMotoServer`` of these tests only, on 127.0.0.1 and a free port, with the
  Athena ``DeleteNamedQuery`` moto lacks (so that the named queries can be destroyed).
* ``local_deployment`` / ``full_deployment`` (session): ``examples/local`` and ``fixtures/full`` (every module
  feature moto can run) applied to that moto server. Both applies start in the background as soon as the first
  Terraform test runs (moto takes ~25 s per SQS queue and ~55 s per S3 lifecycle configuration, mostly idle
  waiting), so the static tests run meanwhile. Each is destroyed by its last test or, failing that, at the end.

Nothing is written into the work tree: every Terraform directory is used from a copy under a temp directory.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from moto.server import ThreadedMotoServer
from tfsupport import (
    Deployment,
    Deployments,
    Moto,
    Terraform,
    athena_delete_named_query,
    check_task_policy,
    cli_config_text,
    find_provider_mirror,
    free_port,
    make_deployments,
    terraform_env,
)


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.fail("terraform is not installed (see DEVELOPERS.md): the Terraform tests need it", pytrace=False)
    base = tmp_path_factory.mktemp("terraform")
    cache = base / "plugin-cache"
    cache.mkdir()
    mirror = find_provider_mirror()
    cli_config = base / "cli.tfrc"
    # Always our own file: the machine may point TF_CLI_CONFIG_FILE at one that does not exist.
    cli_config.write_text(cli_config_text(mirror, cache))
    workspaces = base / "work"
    workspaces.mkdir()
    return Terraform(binary=binary, env=terraform_env(cli_config), mirror=mirror, workspace_root=workspaces)


@pytest.fixture(scope="session")
def tf_moto() -> Iterator[Moto]:
    """A moto server for the Terraform tests alone (other suites' moto state never mixes with theirs)."""
    port = free_port()
    # One request log line per API call of two applies would drown every failure report.
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with athena_delete_named_query():
            yield Moto(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
        werkzeug.setLevel(level)


_DEPLOYMENT_FIXTURES = {"local_deployment": "local", "full_deployment": "full"}


@pytest.fixture(scope="session")
def deployments(terraform: Terraform, tf_moto: Moto, request: pytest.FixtureRequest) -> Iterator[Deployments]:
    """Starts, in the background, every deployment that a collected test will ask for."""
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="terraform-apply")
    state = Deployments(executor, {}, make_deployments(terraform, tf_moto))
    wanted = {
        name
        for item in request.session.items
        for fixture_name, name in _DEPLOYMENT_FIXTURES.items()
        if fixture_name in getattr(item, "fixturenames", ())
    }
    for name in sorted(wanted):
        state.futures[name] = executor.submit(state.deployments[name].apply)
    try:
        yield state
    finally:
        for name, future in state.futures.items():
            if future.cancel():
                continue  # never started
            try:
                future.result()
            except Exception as exc:
                print(f"deployment {name} failed to apply: {exc}", file=sys.stderr)
            # Whatever happened, leave nothing behind (an apply that failed half-way still has state).
            deployment = state.deployments[name]
            if not deployment.destroyed:
                result = deployment.destroy()
                if result.returncode != 0:
                    print(f"deployment {name} failed to destroy:\n{result.stderr[-3000:]}", file=sys.stderr)
        executor.shutdown(wait=True)


@pytest.fixture(scope="session", autouse=True)
def _start_deployments_early(request: pytest.FixtureRequest) -> None:
    """Kick the applies off with the first Terraform test, if any collected test needs a deployment."""
    needed = any(
        fixture_name in getattr(item, "fixturenames", ())
        for item in request.session.items
        for fixture_name in _DEPLOYMENT_FIXTURES
    )
    if needed:
        request.getfixturevalue("deployments")


@pytest.fixture(scope="session")
def local_deployment(deployments: Deployments) -> Deployment:
    return deployments.get("local")


@pytest.fixture(scope="session")
def full_deployment(deployments: Deployments) -> Deployment:
    return deployments.get("full")


@pytest.fixture(scope="session")
def task_policy_rules() -> Callable[[dict[str, Any], str], None]:
    """Asserts the least-privilege rules of the worker's task role on a policy document."""
    return check_task_policy
