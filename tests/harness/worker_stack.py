"""A worker stack for integration tests: moto resources, a policy, sources on the emulator, and the worker
itself, in-process (`run_inline`) or as a real `backup-validator run` process (`spawn`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
from prometheus_client import CollectorRegistry

from emulator.bootstrap import LocalResources, RestoreNetwork, create_resources, create_restore_network
from emulator.traffic import Source, Traffic
from standins.policies import example_policy
from worker.app import run_worker
from worker.policy import load_policy
from worker.settings import Settings, load_settings

BAD_SQL_CHECK = """
[[selection.check]]
name = "broken"
kind = "sql"
query = "SELECT count(*) FROM no_such_table"
expect = 0
"""


@dataclass
class WorkerStack:
    prefix: str
    resources: LocalResources
    policy_file: Path
    traffic: Traffic
    network: RestoreNetwork
    sources: list[Source] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "queue_url": self.resources.queue_url,
            "events_queue_url": self.resources.events_queue_url,
            "dlq_url": self.resources.dlq_url,
            "results_bucket": self.resources.bucket,
            "ledger_table": self.resources.ledger_table,
            "log_group": self.resources.log_group,
            "policy_file": self.policy_file,
            "db_tls": "disable",
            "metrics_port": 0,
            "metrics_host": "127.0.0.1",
            "sweep_interval_seconds": 0.5,
            "visibility_seconds": 30,
            "lease_seconds": 30,
            "drain_seconds": 5,
            "db_connect_attempts": 3,
            # The restoring account's own network: the recorded (source) names are never passed through.
            "subnet_group": self.network.subnet_group,
            "security_group_ids": ",".join(self.network.security_group_ids),
        }
        values.update(overrides)
        return load_settings(**values)

    def env(self, **overrides: Any) -> dict[str, str]:
        """The same settings as environment variables, for a real worker process."""
        settings = self.settings(**overrides)
        env = dict(os.environ)
        for name, value in settings.model_dump().items():
            if value is not None:
                env[f"BV_{name.upper()}"] = str(value.value if hasattr(value, "value") else value)
        env["BV_LOG_FORMAT"] = "json"
        return env

    async def add_source(self, engine: str, *, stale_minutes: int | None = None) -> Source:
        source = await self.traffic.create_source(f"{self.prefix}-{engine}-{len(self.sources)}", engine)
        span = timedelta(hours=3) if stale_minutes else timedelta(minutes=30)
        await self.traffic.write_rows(source, 40, span)
        if stale_minutes:
            await self.traffic.mark_stale(source, stale_minutes)
        self.sources.append(source)
        return source

    async def backup_and_copy(self, source: Source) -> str:
        return await self.traffic.backup_and_copy(source)

    def records(self) -> list[dict[str, Any]]:
        s3 = boto3.client("s3")
        listing = s3.list_objects_v2(Bucket=self.resources.bucket).get("Contents", [])
        return [json.loads(s3.get_object(Bucket=self.resources.bucket, Key=o["Key"])["Body"].read()) for o in listing]

    def record_keys(self) -> list[str]:
        s3 = boto3.client("s3")
        return [o["Key"] for o in s3.list_objects_v2(Bucket=self.resources.bucket).get("Contents", [])]

    def log_lines(self) -> list[dict[str, Any]]:
        logs = boto3.client("logs")
        events = logs.filter_log_events(logGroupName=self.resources.log_group).get("events", [])
        return [json.loads(event["message"]) for event in events]

    def queue_depth(self, url: str | None = None) -> int:
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=url or self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def restored_clusters(self) -> list[str]:
        rds = boto3.client("rds")
        return [
            c["DBClusterIdentifier"]
            for c in rds.describe_db_clusters()["DBClusters"]
            if c["DBClusterIdentifier"].startswith("bv-") and c["Status"] != "deleting"
        ]

    def restored_instances(self) -> list[str]:
        rds = boto3.client("rds")
        return [
            i["DBInstanceIdentifier"]
            for i in rds.describe_db_instances()["DBInstances"]
            if i["DBInstanceIdentifier"].startswith("bv-") and i["DBInstanceStatus"] != "deleting"
        ]

    def send(self, body: dict[str, Any] | str) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        boto3.client("sqs").send_message(QueueUrl=self.resources.queue_url, MessageBody=text)

    async def wait_for_records(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            records = await asyncio.to_thread(self.records)
            if len(records) >= count or time.monotonic() > deadline:
                return records
            await asyncio.sleep(0.3)

    async def wait_until(self, predicate: Any, timeout: float = 30, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(predicate):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.3)

    async def close(self) -> None:
        for source in self.sources:
            with contextlib.suppress(Exception):
                await self.traffic.delete_source(source)


async def make_stack(
    extra_checks: str = "", restore_timeout: str = "2m", max_receive_count: int = 3, defaults: str = ""
) -> WorkerStack:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    resources = await asyncio.to_thread(
        create_resources, prefix, max_receive_count=max_receive_count, visibility_seconds=30
    )
    policy_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"bv-policy-{prefix}"
    policy_dir.mkdir(parents=True, exist_ok=True)
    policy_file = policy_dir / "policy.toml"
    policy_file.write_text(
        example_policy(
            f"arn:aws:rds:*:*:db:{prefix}-*",
            aurora_glob=f"arn:aws:rds:*:*:cluster:{prefix}-*",
            defaults=f'restore_timeout = "{restore_timeout}"\nstatement_timeout = "5s"\n{defaults}',
            extra_checks=extra_checks,
        )
    )
    traffic = Traffic(source_vault=f"{prefix}-prod", central_vault=f"{prefix}-central")
    await traffic.prepare_vaults()
    network = await asyncio.to_thread(create_restore_network, prefix, os.environ["AWS_ENDPOINT_URL_RDS"])
    return WorkerStack(prefix, resources, policy_file, traffic, network)


@contextlib.asynccontextmanager
async def run_inline(stack: WorkerStack, **overrides: Any) -> AsyncIterator[CollectorRegistry]:
    """The worker in this event loop; yields its metrics registry; stops (drains) on exit."""
    settings = stack.settings(**overrides)
    registry = CollectorRegistry()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker(settings, load_policy(settings.policy_file), stop, handle_signals=False, registry=registry)
    )
    try:
        yield registry
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def run_cli(stack: WorkerStack, *args: str, **overrides: Any) -> subprocess.CompletedProcess[str]:
    """A one-shot `backup-validator` command (sweep, check-config, validate) with the stack's environment."""
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args],
        env=stack.env(**overrides),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def spawn(
    stack: WorkerStack, log_path: Path, *, extra_env: dict[str, str] | None = None, **overrides: Any
) -> subprocess.Popen[bytes]:
    """A real `backup-validator run` process, logging JSON to `log_path`; `extra_env` for variables that are not
    settings fields by their BV_ name (e.g. ECS_AGENT_URI, which ECS sets)."""
    handle = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "run"],
        env={**stack.env(**overrides), **(extra_env or {})},
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def metric_value(registry: CollectorRegistry, name: str, labels: dict[str, str] | None = None) -> float:
    total = 0.0
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                total += sample.value
    return total
