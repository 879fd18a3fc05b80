"""Crashes and competition, attacked from outside on real `backup-validator run` processes.

Each scenario ends with the same audit: exactly one record and one restore job per recovery point, no `bv-`
instance left (after a sweeper pass), nothing in the queue or the DLQ.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
from collections import Counter
from pathlib import Path

import boto3
import hcl2
import pytest
from harness.outputs import REPO
from harness.worker_stack import WorkerStack, make_stack, run_cli, spawn

from worker.app import SHUTDOWN_GRACE_SECONDS
from worker.evidence.checks import Entry, check_chains, check_records

KILLS = int(os.environ.get("BV_SOAK_KILLS", "20"))
DUPLICATE_WORKERS = int(os.environ.get("BV_SOAK_WORKERS", "3"))
FAST = {"lease_seconds": 10, "visibility_seconds": 10, "sweep_interval_seconds": 0.5}


def production_max_receive_count() -> int:
    """The redrive policy's maxReceiveCount that Terraform deploys by default (modules/intake)."""
    name = "max_receive_count"
    variables = hcl2.loads((REPO / "deploy/terraform/modules/intake/variables.tf").read_text())
    (default,) = [block[name]["default"] for block in variables["variable"] if name in block]
    return int(default[0] if isinstance(default, list) else default)


def restores_started(emulator, arn: str) -> int:
    return int(emulator.stats()["restore_jobs_per_recovery_point"].get(arn, 0))


async def seed_recovery_points(stack: WorkerStack, rounds: int) -> list[str]:
    sources = [await stack.add_source(engine) for engine in ("postgres", "mariadb", "postgres", "mariadb")]
    arns = []
    for _ in range(rounds):
        for source in sources:
            arns.append(await stack.backup_and_copy(source))
    return arns


def spent_dead_letters(stack: WorkerStack) -> list[str]:
    """What the DLQ holds that is not settled work: each dead letter must be a restore event (the status sweep
    finds its job) or the spent copy of a message whose recovery point has its record (a kill left its long poll
    open at SQS, which took the message and counted a receive for nobody, see docs/fleet.md)."""
    validated = {record["recovery_point_arn"] for record in stack.records()}
    sqs = boto3.client("sqs")
    unsettled = []
    for _ in range(10):
        messages = sqs.receive_message(QueueUrl=stack.resources.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            detail = body.get("detail") or {}
            settled = body.get("detail-type") == "Restore Job State Change" or (
                detail.get("destinationRecoveryPointArn") in validated
            )
            if not settled:
                unsettled.append(message["Body"][:300])
            sqs.delete_message(QueueUrl=stack.resources.dlq_url, ReceiptHandle=message["ReceiptHandle"])
        if not messages:
            break
    return unsettled


def audit(stack: WorkerStack, emulator, arns: list[str], *, spent_letters: bool = False) -> None:
    records = stack.records()
    by_arn = Counter(record["recovery_point_arn"] for record in records)
    assert sorted(by_arn) == sorted(arns), "every recovery point has a record"
    assert set(by_arn.values()) == {1}, "and exactly one"
    assert len(stack.record_keys()) == len(arns)
    assert {arn: restores_started(emulator, arn) for arn in arns} == {arn: 1 for arn in arns}
    problems = [
        (r.get("reason"), [c for c in r["checks"] if c["status"] != "PASSED"])
        for r in records
        if r["status"] != "PASSED"
    ]
    assert problems == []
    # Kills and competing workers leave every source's hash chain whole: one record per position, each linked.
    entries = [Entry(record["validation_id"], record) for record in records]
    assert check_records(entries) == [] and check_chains(entries) == []
    assert stack.restored_instances() == []
    assert stack.queue_depth() == 0
    if spent_letters:
        assert spent_dead_letters(stack) == [], "nothing unvalidated in the DLQ"
    assert stack.queue_depth(stack.resources.dlq_url) == 0


# Where a kill lands, in turn: receiving, waiting for the restore, resetting the password, running the
# checks, cleaning up, writing the report. A kill waits for its stage's log line, then strikes within 0.3 s.
STAGES = ("worker.started", "restore.started", "stage.password_reset", "stage.checks", "stage.cleanup", "stage.report")
KILL_FAST = {**FAST, "lease_seconds": 5, "visibility_seconds": 5, "max_concurrent_restores": 2, "log_level": "DEBUG"}


async def wait_for_log(log_path: Path, offset: int, event: str, timeout: float) -> bool:
    needle = f'"event": "{event}"'.encode()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if log_path.exists() and needle in log_path.read_bytes()[offset:]:
            return True
        await asyncio.sleep(0.05)
    return False


# 20 restarts, 16 validations and their resumes: about 4 minutes on a quiet machine, more when it is shared.
@pytest.mark.timeout(900)
async def test_kill_9_at_random_moments_loses_nothing_and_restores_once(emulator, tmp_path):
    # Terraform's maxReceiveCount: crashes and killed workers' open long poll take receives for nobody, which the
    # worker makes up for near a message's last receive (worker/refresh.py) and by crash hand-overs.
    max_receive_count = production_max_receive_count()
    assert max_receive_count == 5
    # Each crash delays a resume until the dead holder's lease is free (lease + skew margin + a heartbeat): a
    # recovery point struck several times needs more than the default 2 minutes from its restore's start.
    stack = await make_stack(max_receive_count=max_receive_count, restore_timeout="6m")
    emulator.configure(restore_seconds=[1.0, 3.0], password_apply_seconds=0.5)
    rng = random.Random(7)
    log_path = tmp_path / "worker.log"
    try:
        # Enough work that every kill finds a worker busy in the stage it waits for.
        arns = await seed_recovery_points(stack, rounds=max(4, KILLS // 5))
        process = spawn(stack, log_path, **KILL_FAST)
        struck: Counter[str] = Counter()
        for kill in range(KILLS):
            stage = STAGES[kill % len(STAGES)]
            offset = log_path.stat().st_size if log_path.exists() else 0
            reached = await wait_for_log(log_path, offset, stage, timeout=20)
            await asyncio.sleep(rng.uniform(0, 0.3))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            struck[stage if reached else "idle"] += 1
            process = spawn(stack, log_path, **KILL_FAST)
        try:
            await stack.wait_for_records(len(arns), timeout=180)
            await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=60, what="queue drained")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        swept = run_cli(stack, "sweep", "--ttl-seconds", "0", **FAST)
        assert swept.returncode == 0, swept.stderr
        validated = {record["recovery_point_arn"] for record in stack.records()}
        lost, dead = len(set(arns) - validated), stack.queue_depth(stack.resources.dlq_url)
        refreshed = log_path.read_bytes().count(b'"event": "message.refreshed"')
        print(
            f"kills: {KILLS}, by stage: {dict(struck)}; lost {lost} of {len(arns)}, DLQ {dead}, refreshed {refreshed}"
        )
        audit(stack, emulator, arns, spent_letters=True)
        assert all(struck[stage] >= KILLS // len(STAGES) - 1 for stage in STAGES), struck
    finally:
        await stack.close()


async def test_competing_workers_with_duplicated_messages_restore_each_point_once(emulator, tmp_path):
    stack = await make_stack(max_receive_count=1000)
    emulator.configure(restore_seconds=[0.5, 1.5])
    processes = []
    try:
        arns = await seed_recovery_points(stack, rounds=2)
        for arn in arns:  # EventBridge's at-least-once, and an operator clicking twice
            for _ in range(2):
                stack.send({"recoveryPointArn": arn, "backupVaultName": f"{stack.prefix}-central"})
        processes = [spawn(stack, tmp_path / f"worker-{i}.log", **FAST) for i in range(DUPLICATE_WORKERS)]
        await stack.wait_for_records(len(arns), timeout=90)
        await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=60, what="queue drained")
        audit(stack, emulator, arns)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            assert process.wait(30) == 0
        await stack.close()


@pytest.mark.parametrize("drain_seconds", [2])
async def test_sigterm_with_many_jobs_in_flight_hands_over_to_a_second_worker(emulator, tmp_path, drain_seconds):
    stack = await make_stack(max_receive_count=1000)
    emulator.configure(restore_seconds=[20, 20])
    try:
        arns = await seed_recovery_points(stack, rounds=1)
        first = spawn(stack, tmp_path / "first.log", drain_seconds=drain_seconds, **FAST)
        await stack.wait_until(
            lambda: all(restores_started(emulator, arn) == 1 for arn in arns), timeout=30, what="restores started"
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        first.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(first.wait, 30) == 0
        took = loop.time() - started
        log = (tmp_path / "first.log").read_text()
        assert took < drain_seconds + SHUTDOWN_GRACE_SECONDS, f"shutdown took {took:.1f} s:\n{log[-3000:]}"
        emulator.configure(restore_seconds=[0.3, 0.3])
        second = spawn(stack, tmp_path / "second.log", **FAST)
        try:
            await stack.wait_for_records(len(arns), timeout=90)
            await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=30, what="queue drained")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
        audit(stack, emulator, arns)
    finally:
        await stack.close()
