"""Shared fixtures: an isolated AWS environment, moto, the emulator and the machine's database servers.

Session-wide: ``aws_env`` (autouse), ``db_servers``, ``moto_server``, ``emulator_session``.
Per test: ``emulator`` (the shared emulator, knobs reset afterwards), ``cleanup_instances`` (deletes the DB
instances a test leaves on it), ``emulator_factory`` (extra emulators with other knobs),
``backup_client``/``rds_client``, ``central_clients`` (the central account's), ``event_route``/
``copy_completed_route`` (EventBridge -> SQS in moto), ``scratch_database``/``pg_database``/``mysql_database``. See
tests/harness/ for the helpers behind them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from harness.aws import EventRoute
from harness.databases import (
    MYSQL_URL,
    POSTGRES_URL,
    ScratchDatabase,
    create_scratch,
    drop_scratch,
    unreachable_servers,
)
from harness.env import isolated_aws_env
from harness.stand_ins import CENTRAL_KEY, MotoHandle, start_emulator, start_moto

from emulator.bootstrap import event_pattern
from emulator.server import EmulatorHandle

COPY_COMPLETED_PATTERN = event_pattern("copy_job")  # Terraform's own (one source of truth)


@dataclass(frozen=True)
class DbServers:
    postgres_url: str
    mysql_url: str


@pytest.fixture(scope="session", autouse=True)
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Fake credentials, us-east-1, no real AWS configuration; AWS_ENDPOINT_URL* are set by the fixtures below."""
    values, remove = isolated_aws_env(tmp_path_factory.mktemp("aws"))
    with pytest.MonkeyPatch.context() as patch:
        for name in remove:
            patch.delenv(name, raising=False)
        for name, value in values.items():
            patch.setenv(name, value)
        yield values


@pytest.fixture(scope="session")
def db_servers() -> DbServers:
    """The machine's PostgreSQL and MariaDB. Both are required: the run stops, saying how to start them."""
    problems = unreachable_servers()
    if problems:
        pytest.exit("required database server(s) unavailable:\n  " + "\n  ".join(problems), returncode=1)
    return DbServers(POSTGRES_URL, MYSQL_URL)


@pytest.fixture(scope="session")
def moto_server(aws_env: dict[str, str]) -> Iterator[MotoHandle]:
    """moto in server mode on 127.0.0.1; ``AWS_ENDPOINT_URL`` points at it for the whole session."""
    moto = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = moto.url
    yield moto
    moto.stop()


@pytest.fixture(scope="session")
def emulator_session(moto_server: MotoHandle, db_servers: DbServers) -> Iterator[EmulatorHandle]:
    """The shared emulator (events to moto); ``AWS_ENDPOINT_URL_BACKUP``/``_RDS`` point at it."""
    handle = start_emulator(moto_server.url)
    os.environ["AWS_ENDPOINT_URL_BACKUP"] = handle.url
    os.environ["AWS_ENDPOINT_URL_RDS"] = handle.url
    yield handle
    handle.stop()
    os.environ.pop("AWS_ENDPOINT_URL_BACKUP", None)
    os.environ.pop("AWS_ENDPOINT_URL_RDS", None)


@pytest.fixture
def emulator(emulator_session: EmulatorHandle) -> Iterator[EmulatorHandle]:
    """The shared emulator; knobs and stale-copy switches a test changes are undone after it, and the DB
    instances and clusters it left are deleted (a failing test must not fail the next ones' leak checks)."""
    initial = emulator_session.knobs()
    accounts = [_client("rds"), _client("rds", key=CENTRAL_KEY)]
    before = [(set(_identifiers(rds)), set(_cluster_identifiers(rds))) for rds in accounts]
    yield emulator_session
    emulator_session.reset(initial)
    for rds, (instances, clusters) in zip(accounts, before, strict=True):
        _delete_rds_leftovers(rds, set(_identifiers(rds)) - instances, set(_cluster_identifiers(rds)) - clusters)


@pytest.fixture
def emulator_factory(moto_server: MotoHandle, db_servers: DbServers) -> Iterator[Callable[..., EmulatorHandle]]:
    """``start(**overrides)`` -> another emulator (knobs or EmulatorConfig fields); all stop after the test."""
    started: list[EmulatorHandle] = []

    def start(**overrides: Any) -> EmulatorHandle:
        handle = start_emulator(moto_server.url, **overrides)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture
def cleanup_instances(emulator: EmulatorHandle) -> Iterator[None]:
    """Deletes the DB instances a test created on the shared emulator (those that exist at its end)."""
    accounts = [_client("rds"), _client("rds", key=CENTRAL_KEY)]  # restores of copies land in the central one
    before = [set(_identifiers(rds)) for rds in accounts]
    yield
    for rds, known in zip(accounts, before, strict=True):
        for identifier in set(_identifiers(rds)) - known:
            try:
                rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
            except ClientError as exc:  # already deleting or gone
                if exc.response["Error"]["Code"] not in ("InvalidDBInstanceState", "DBInstanceNotFound"):
                    raise


def _identifiers(rds: Any) -> list[str]:
    pages = rds.get_paginator("describe_db_instances").paginate()
    return [
        i["DBInstanceIdentifier"] for page in pages for i in page["DBInstances"] if i["DBInstanceStatus"] != "deleting"
    ]


def _cluster_identifiers(rds: Any) -> list[str]:
    pages = rds.get_paginator("describe_db_clusters").paginate()
    return [c["DBClusterIdentifier"] for page in pages for c in page["DBClusters"] if c["Status"] != "deleting"]


def _delete_rds_leftovers(rds: Any, instances: set[str], clusters: set[str]) -> None:
    """Instances first: a cluster is deletable once every member is deleting. Gone or deleting already is fine."""
    gone = ("InvalidDBInstanceState", "DBInstanceNotFound", "DBClusterNotFoundFault", "InvalidDBClusterStateFault")
    calls = [("delete_db_instance", {"DBInstanceIdentifier": name}) for name in sorted(instances)]
    calls += [("delete_db_cluster", {"DBClusterIdentifier": name}) for name in sorted(clusters)]
    for operation, identifier in calls:
        try:
            getattr(rds, operation)(**identifier, SkipFinalSnapshot=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in gone:
                raise


def _client(service: str, endpoint: str | None = None, key: str | None = None, **config: Any) -> Any:
    """A client of the harness's default account, or of the account whose access key is `key`."""
    credentials = {"aws_access_key_id": key, "aws_secret_access_key": "testing"} if key else {}
    return boto3.client(service, endpoint_url=endpoint, config=Config(**config) if config else None, **credentials)


@pytest.fixture
def backup_client(emulator: EmulatorHandle) -> Any:
    return _client("backup")


@pytest.fixture
def rds_client(emulator: EmulatorHandle) -> Any:
    return _client("rds")


@pytest.fixture
def central_clients(emulator: EmulatorHandle) -> tuple[Any, Any]:
    """(backup, rds) clients of the central account (harness.stand_ins.CENTRAL_ACCOUNT) on the shared emulator."""
    return _client("backup", key=CENTRAL_KEY), _client("rds", key=CENTRAL_KEY)


@pytest.fixture
def event_route(moto_server: MotoHandle) -> Iterator[Callable[..., EventRoute]]:
    """``route(pattern=None)`` -> an EventBridge rule (default: every aws.backup event) targeting a new SQS
    queue in moto; ``route.receive(n)`` returns parsed envelopes. Removed after the test."""
    routes: list[EventRoute] = []

    def make(pattern: dict[str, Any] | None = None, name: str | None = None) -> EventRoute:
        route = EventRoute(_client("events"), _client("sqs"), pattern or {"source": ["aws.backup"]}, name)
        routes.append(route)
        return route

    yield make
    for route in routes:
        route.delete()


@pytest.fixture
def copy_completed_route(event_route: Callable[..., EventRoute]) -> EventRoute:
    """The production rule: completed copy jobs only."""
    return event_route(COPY_COMPLETED_PATTERN)


@pytest.fixture
def scratch_database(db_servers: DbServers) -> Iterator[Callable[[str], ScratchDatabase]]:
    """``make("postgres" | "mysql")`` -> a uniquely named database (admin URL in ``.url``), dropped afterwards."""
    made: list[ScratchDatabase] = []

    def make(engine: str) -> ScratchDatabase:
        scratch = create_scratch(engine)
        made.append(scratch)
        return scratch

    yield make
    for scratch in made:
        drop_scratch(scratch)


@pytest.fixture
def pg_database(scratch_database: Callable[[str], ScratchDatabase]) -> ScratchDatabase:
    return scratch_database("postgres")


@pytest.fixture
def mysql_database(scratch_database: Callable[[str], ScratchDatabase]) -> ScratchDatabase:
    return scratch_database("mysql")
