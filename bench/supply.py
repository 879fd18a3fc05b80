"""What a scenario consumes: source databases with real rows, recovery points, the queue and the policy.

Recovery points are made cheaply: a few real backups (each a real database snapshot), then copies of them into
the central vault (a copy shares its snapshot, as AWS copies share nothing the emulator has to build).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3

from emulator.bootstrap import LocalResources, create_resources, event_pattern
from emulator.traffic import Source, Traffic
from standins.policies import example_policy


def restore_pattern(role_arn: str) -> dict[str, Any]:
    """Terraform's rule: terminal restore states of the restores made with this role only."""
    return event_pattern("restore_job", iamRoleArn=[role_arn])


@dataclass(frozen=True)
class Supply:
    prefix: str
    restore_role_arn: str
    resources: LocalResources
    central_vault: str
    recovery_points: list[str]
    policy_file: Path
    sources: list[Source]


def write_policy(workdir: Path, prefix: str, restore_timeout: str) -> Path:
    path = workdir / f"policy-{prefix}.toml"
    timeouts = f'restore_timeout = "{restore_timeout}"\nstatement_timeout = "10s"'
    path.write_text(example_policy(f"arn:aws:rds:*:*:db:{prefix}-*", name="bench", defaults=timeouts))
    return path


async def make_supplies(
    workdir: Path, prefix: str, counts: list[int], sources: int, events_queues: list[bool] | None = None
) -> list[Supply]:
    """One set of recovery points per count, each with its own queues, rules, bucket and ledger.
    `events_queues[i]`: whether the i-th set's restore events get their own queue (the worker's deployment)
    or share the work queue (the baseline's)."""
    traffic = Traffic(source_vault=f"{prefix}-prod", central_vault=f"{prefix}-central")
    await traffic.prepare_vaults()
    made = []
    for index in range(sources):
        source = await traffic.create_source(f"{prefix}-pg-{index}", "postgres")
        await traffic.write_rows(source, 40, timedelta(minutes=30))
        made.append(source)
    backups = [await _backup(traffic, source) for source in made]
    total = sum(counts)
    await asyncio.to_thread(_copy_all, traffic, [backups[i % len(backups)] for i in range(total)])
    arns = await asyncio.to_thread(_wait_points, traffic.central_vault, total)
    await asyncio.to_thread(_wait_events_sent)
    # Queues and rules come after the copies, so that the copies' events do not reach them.
    policy = write_policy(workdir, prefix, "3h")
    events = boto3.client("events")
    supplies = []
    for number, count in enumerate(counts):
        name = f"{prefix}-{number}"
        own_queue = events_queues[number] if events_queues else True
        resources = await asyncio.to_thread(create_resources, name, visibility_seconds=120, events_queue=own_queue)
        role = f"arn:aws:iam::{traffic.role_arn.split(':')[4]}:role/{name}-restore"
        pattern = json.dumps(restore_pattern(role))
        await asyncio.to_thread(events.put_rule, Name=f"{name}-restore-status", EventPattern=pattern)
        points, arns = arns[:count], arns[count:]
        supplies.append(Supply(name, role, resources, traffic.central_vault, points, policy, made))
    return supplies


async def _backup(traffic: Traffic, source: Source) -> str:
    backup = traffic.backup
    job = await asyncio.to_thread(
        backup.start_backup_job,
        BackupVaultName=traffic.source_vault,
        ResourceArn=source.arn,
        IamRoleArn=traffic.role_arn,
    )
    for _ in range(600):
        done = await asyncio.to_thread(backup.describe_backup_job, BackupJobId=job["BackupJobId"])
        if done["State"] == "COMPLETED":
            return str(done["RecoveryPointArn"])
        await asyncio.sleep(0.2)
    raise TimeoutError(f"backup of {source.identifier} did not finish")


def _copy_all(traffic: Traffic, points: list[str]) -> None:
    client = boto3.client("backup")

    def copy(arn: str) -> None:
        client.start_copy_job(
            RecoveryPointArn=arn,
            SourceBackupVaultName=traffic.source_vault,
            DestinationBackupVaultArn=traffic.central_vault_arn,
            IamRoleArn=traffic.role_arn,
        )

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(copy, points))


def _wait_points(vault: str, count: int, timeout: float = 300) -> list[str]:
    client = boto3.client("backup")
    deadline = time.monotonic() + timeout
    while True:
        arns: list[str] = []
        for page in client.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault):
            arns.extend(p["RecoveryPointArn"] for p in page["RecoveryPoints"] if p.get("Status") == "COMPLETED")
        if len(arns) >= count or time.monotonic() > deadline:
            return arns[:count]
        time.sleep(0.5)


def _wait_events_sent(timeout: float = 300) -> None:
    """Until the emulator has sent every event of the copies (none may reach the queue made next)."""
    url = os.environ["AWS_ENDPOINT_URL_BACKUP"].rstrip("/") + "/_emulator/stats"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=30) as response:
            if json.loads(response.read())["events"]["pending"] == 0:
                return
        time.sleep(0.5)
    raise TimeoutError("the emulator still has events to send")


def enqueue(queue_url: str, vault: str, arns: list[str], threads: int = 4) -> None:
    """On-demand requests, ten per SendMessageBatch, as fast as the queue takes them."""
    client = boto3.client("sqs")
    batches = [arns[i : i + 10] for i in range(0, len(arns), 10)]

    def send(batch: list[str]) -> None:
        entries = [
            {"Id": str(n), "MessageBody": json.dumps({"recoveryPointArn": arn, "backupVaultName": vault})}
            for n, arn in enumerate(batch)
        ]
        for _ in range(10):
            failed = {e["Id"] for e in client.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])}
            entries = [entry for entry in entries if entry["Id"] in failed]
            if not entries:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{len(entries)} messages could not be queued")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, batches))
