"""Fleets: several real `backup-validator run` processes sharing one ledger table.

Fleet-wide restore slots (the cap holds across workers, a killed worker's slots come back), one runner of the
periodic work (handed over when its worker dies or stops), ECS task scale-in protection while jobs are held.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from harness.worker_stack import WorkerStack, make_stack, spawn

from standins.ecs_agent import start_in_thread

FAST = {"lease_seconds": 10, "visibility_seconds": 10, "sweep_interval_seconds": 0.5}
IN_FLIGHT = ("CREATED", "PENDING", "RUNNING")


def restores_in_flight(emulator: Any) -> int:
    by_status = emulator.stats()["restore_jobs_by_status"]
    return sum(int(by_status.get(state, 0)) for state in IN_FLIGHT)


class Sampler:
    """The emulator's restores in flight, sampled every 50 ms in a thread until stopped."""

    def __init__(self, emulator: Any) -> None:
        self.emulator, self.samples, self._stop = emulator, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(restores_in_flight(self.emulator))
            time.sleep(0.05)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)


async def seed(stack: WorkerStack, count: int) -> list[str]:
    sources = [await stack.add_source(engine) for engine in ("postgres", "mariadb")]
    return [await stack.backup_and_copy(sources[index % 2]) for index in range(count)]


def log_events(path: Path, event: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


def counter_holders(stack: WorkerStack, pk: str) -> dict[str, int]:
    item = boto3.client("dynamodb").get_item(
        TableName=stack.resources.ledger_table, Key={"pk": {"S": pk}}, ConsistentRead=True
    )
    return {name: int(value["N"]) for name, value in item.get("Item", {}).get("holders", {}).get("M", {}).items()}


def dead_lettered(stack: WorkerStack) -> list[str]:
    messages = boto3.client("sqs").receive_message(QueueUrl=stack.resources.dlq_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]).get("detail-type", "?") for m in messages.get("Messages", [])]


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(30)


async def test_three_workers_never_run_more_restores_than_the_fleet_cap(emulator, tmp_path):
    cap = 2
    stack = await make_stack(max_receive_count=1000)
    emulator.configure(restore_seconds=[1.5, 2.5])
    processes: list[subprocess.Popen[bytes]] = []
    try:
        arns = await seed(stack, 8)
        with Sampler(emulator) as sampler:
            processes = [
                spawn(stack, tmp_path / f"w{i}.log", fleet_max_restores=cap, max_concurrent_restores=3, **FAST)
                for i in range(3)
            ]
            records = await stack.wait_for_records(len(arns), timeout=180)
        assert sorted(r["recovery_point_arn"] for r in records) == sorted(arns)
        assert {r["status"] for r in records} == {"PASSED"}
        assert max(sampler.samples) == cap, f"the cap is reached and never passed: {max(sampler.samples)}"
        waited = sum(len(log_events(tmp_path / f"w{i}.log", "fleet.slot_waiting")) for i in range(3))
        assert waited > 0, "with 9 local slots and 2 fleet slots some restores had to wait"
        workers_restoring = [i for i in range(3) if log_events(tmp_path / f"w{i}.log", "restore.started")]
        assert len(workers_restoring) >= 2, "the slots are shared by the fleet, not taken by one worker"
        assert counter_holders(stack, "fleet#total") == {}, "every slot given back"
    finally:
        stop_all(processes)
        await stack.close()


async def test_a_killed_workers_slots_come_back_to_the_fleet(emulator, tmp_path):
    stack = await make_stack(max_receive_count=1000)
    emulator.configure(restore_seconds=[30, 30])
    second = None
    try:
        arns = await seed(stack, 3)
        first = spawn(stack, tmp_path / "first.log", fleet_max_restores=2, **FAST)
        await stack.wait_until(lambda: len(counter_holders(stack, "fleet#total")) == 2, timeout=60, what="2 slots")
        held_by_first = set(counter_holders(stack, "fleet#total"))
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        emulator.configure(restore_seconds=[0.5, 0.5])
        second = spawn(stack, tmp_path / "second.log", fleet_max_restores=2, **FAST)
        # Nothing but the killed worker's lease expiry can free those two slots for the second worker.
        records = await stack.wait_for_records(len(arns), timeout=180)
        assert sorted(r["recovery_point_arn"] for r in records) == sorted(arns)
        assert not held_by_first & set(counter_holders(stack, "fleet#total"))
        assert log_events(tmp_path / "second.log", "fleet.slot_waiting"), "the second worker waited for them"
    finally:
        stop_all([p for p in (second,) if p is not None])
        await stack.close()


async def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.3)


async def test_one_worker_runs_the_periodic_jobs_and_another_takes_over(emulator, tmp_path):
    stack = await make_stack()
    runner = {
        "sweeper_interval_seconds": 1,
        "reconcile_interval_seconds": 2,
        "runner_lease_seconds": 30,
        "log_level": "DEBUG",
    }
    logs = [tmp_path / f"w{i}.log" for i in range(3)]
    processes = [spawn(stack, path, **FAST, **runner) for path in logs]

    def runners() -> list[int]:
        return [i for i, path in enumerate(logs) if log_events(path, "runner.acquired")]

    def swept_by() -> list[int]:
        return [i for i, path in enumerate(logs) if log_events(path, "runner.job")]

    try:
        await wait_for(
            lambda: len(log_events(logs[runners()[0]], "runner.job")) >= 3 if runners() else False, 60, "a runner"
        )
        await asyncio.sleep(3)
        first = runners()
        assert len(first) == 1 and swept_by() == first, "one runner, and only it runs the sweeper"
        passes = log_events(logs[first[0]], "coverage.pass")
        assert passes and passes[0]["state"] == "saved" and not passes[0]["resumed"], passes[:1]
        killed_at = time.time()
        processes[first[0]].send_signal(signal.SIGKILL)
        processes[first[0]].wait(10)
        await wait_for(lambda: len(runners()) == 2, 90, "a second runner after the kill")
        second = [i for i in runners() if i != first[0]]
        await wait_for(lambda: second[0] in swept_by(), 15, "the new runner's sweeper")
        await wait_for(lambda: log_events(logs[second[0]], "coverage.pass"), 15, "the new runner's reconciler")
        taken_over = log_events(logs[second[0]], "coverage.pass")[0]
        # It continues from the state the killed runner stored: no listing of the whole history again.
        assert taken_over["resumed"] and taken_over["state"] == "saved", taken_over
        assert taken_over["sources"] >= passes[0]["sources"] and taken_over["listed"] <= passes[0]["listed"]
        await asyncio.sleep(3)
        assert swept_by() == sorted(first + second), "the third worker never ran it"
        taken = log_events(logs[second[0]], "runner.acquired")[0]["timestamp"]
        print(f"take-over after kill -9: {taken} (killed at {killed_at:.1f})")
        # A worker that stops cleanly gives the lease back: the last one takes over within a renewal period.
        stopped_at = time.monotonic()
        processes[second[0]].send_signal(signal.SIGTERM)
        assert processes[second[0]].wait(30) == 0
        await wait_for(lambda: len(runners()) == 3, 30, "the third runner after SIGTERM")
        assert time.monotonic() - stopped_at < 25
        assert log_events(logs[second[0]], "runner.released")
    finally:
        stop_all(processes)
        await stack.close()


async def test_scale_in_protection_is_set_while_jobs_are_held_and_cleared_when_idle(emulator, tmp_path):
    stack = await make_stack()
    emulator.configure(restore_seconds=[4, 4])
    agent = start_in_thread()
    process = None
    try:
        process = spawn(stack, tmp_path / "w.log", extra_env={"ECS_AGENT_URI": agent.url}, **FAST)
        await asyncio.sleep(5)
        assert agent.state.calls == [], "an idle worker leaves its task unprotected"
        arns = await seed(stack, 1)
        records = await stack.wait_for_records(len(arns), timeout=90)
        await wait_for(lambda: len(agent.state.calls) >= 2, 15, "protection cleared")
        calls = agent.state.calls
        assert [c["ProtectionEnabled"] for c in calls] == [True, False]
        assert calls[0]["ExpiresInMinutes"] == 120
        record = records[0]
        restore_end = _epoch(record["restore_end_time"])
        assert calls[0]["at"] < restore_end < calls[1]["at"], "protected for the whole restore"
        assert not agent.state.enabled
    finally:
        if process is not None:
            stop_all([process])
        agent.stop()
        await stack.close()


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def test_a_sigterm_hand_over_does_not_push_messages_towards_the_dlq(emulator, tmp_path):
    # maxReceiveCount 1: a message received a second time would be dead-lettered, so only a fresh copy survives.
    stack = await make_stack(max_receive_count=1)
    emulator.configure(restore_seconds=[20, 20])
    second = None
    try:
        arns = await seed(stack, 2)
        first = spawn(stack, tmp_path / "first.log", drain_seconds=2, **FAST)
        await stack.wait_until(
            lambda: len(log_events(tmp_path / "first.log", "restore.started")) == len(arns), 60, "restores started"
        )
        first.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(first.wait, 30) == 0
        emulator.configure(restore_seconds=[0.3, 0.3])
        second = spawn(stack, tmp_path / "second.log", **FAST)
        records = await stack.wait_for_records(len(arns), timeout=120)
        assert sorted(r["recovery_point_arn"] for r in records) == sorted(arns)
        await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=30, what="queue drained")
        # Restore events the stopping worker's cancelled long poll took may be there; no validation request is.
        assert [kind for kind in dead_lettered(stack) if kind != "Restore Job State Change"] == []
    finally:
        stop_all([p for p in (second,) if p is not None])
        await stack.close()
