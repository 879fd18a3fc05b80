import asyncio
from datetime import UTC, datetime

import pytest

from worker.model import RestoreJob
from worker.watcher import RestoreWatcher


class FakeBackup:
    """Stands in for ListRestoreJobs/DescribeRestoreJob: this test is about the watcher's own logic."""

    def __init__(self):
        self.jobs: dict[str, str] = {}
        self.list_calls = 0
        self.describe_calls = 0

    async def list_since(self, moment):
        self.list_calls += 1
        return [RestoreJob(job_id, status) for job_id, status in self.jobs.items()]

    async def describe(self, job_id):
        self.describe_calls += 1
        return RestoreJob(job_id, self.jobs.get(job_id, "RUNNING"))


async def test_one_sweep_finishes_many_waiters():
    backup = FakeBackup()
    watcher = RestoreWatcher(backup.list_since, backup.describe, sweep_interval=0.01, fallback_initial=60)
    waits = [asyncio.create_task(watcher.wait(f"job-{i}", datetime.now(UTC), 5)) for i in range(200)]
    await asyncio.sleep(0.01)
    backup.jobs = {f"job-{i}": "COMPLETED" for i in range(200)}
    assert await watcher.sweep_once() == 200
    results = await asyncio.gather(*waits)
    assert {r.status for r in results} == {"COMPLETED"}
    assert backup.list_calls == 1 and backup.describe_calls == 0
    assert watcher.in_flight == 0


async def test_event_before_wait_is_remembered():
    backup = FakeBackup()
    watcher = RestoreWatcher(backup.list_since, backup.describe, sweep_interval=1)
    watcher.resolve(RestoreJob("job-x", "FAILED", message="boom"))
    result = await watcher.wait("job-x", None, 1)
    assert result.status == "FAILED"


async def test_non_terminal_status_does_not_resolve():
    backup = FakeBackup()
    watcher = RestoreWatcher(backup.list_since, backup.describe, sweep_interval=1, fallback_initial=60)
    task = asyncio.create_task(watcher.wait("job-y", None, 5))
    await asyncio.sleep(0)
    assert watcher.resolve(RestoreJob("job-y", "RUNNING")) is False
    assert not task.done()
    assert watcher.resolve(RestoreJob("job-y", "COMPLETED")) is True
    assert (await task).status == "COMPLETED"


async def test_describe_fallback_when_sweeps_and_events_are_silent():
    backup = FakeBackup()
    watcher = RestoreWatcher(backup.list_since, backup.describe, sweep_interval=100, fallback_initial=0.05)
    task = asyncio.create_task(watcher.wait("job-z", None, 5))
    await asyncio.sleep(0.12)
    backup.jobs["job-z"] = "COMPLETED"
    result = await task
    assert result.status == "COMPLETED"
    assert backup.describe_calls >= 2
    assert watcher.detected_by["describe"] == 1


async def test_wait_times_out():
    backup = FakeBackup()
    watcher = RestoreWatcher(backup.list_since, backup.describe, sweep_interval=100, fallback_initial=60)
    with pytest.raises(TimeoutError):
        await watcher.wait("never", None, 0.05)
    assert watcher.in_flight == 0


async def test_two_waiters_for_one_job_both_learn_the_outcome():
    backup = FakeBackup()
    watcher = RestoreWatcher(backup.list_since, backup.describe, sweep_interval=100, fallback_initial=60)
    first = asyncio.create_task(watcher.wait("job-2", None, 5))
    await asyncio.sleep(0)
    second = asyncio.create_task(watcher.wait("job-2", None, 5))
    await asyncio.sleep(0)
    assert watcher.resolve(RestoreJob("job-2", "COMPLETED"))
    assert [(await first).status, (await second).status] == ["COMPLETED", "COMPLETED"]
