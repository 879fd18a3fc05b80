"""Every stage has a bound: the restore deadline runs from StartRestoreJob, a restore is started only with time
to use it, and cleanup runs whatever the checkpoint did (in-memory ports; pure flow decisions)."""

import time

import pytest
from memory_ports import RP_ARN, world

from worker import flow as flow_module
from worker.errors import NoTimeToUse, ServiceUnavailable
from worker.events import RecoveryPointReady

EVENT = RecoveryPointReady(RP_ARN, "central", "copy")


async def test_the_restore_deadline_runs_from_start_restore_job_not_from_the_claim():
    w = world(restore_timeout="6h")
    await w.ledger.claim(RP_ARN, "m-1", "v")
    await w.ledger.release(RP_ARN)
    w.ledger.store.items[RP_ARN]["claimed_at"] = int(time.time()) - 5 * 3600  # claimed 5 h ago, never started
    outcome = await w.flow.validate(EVENT, "m-1")
    assert outcome.reason == "validated"
    [limit] = w.watcher.limits
    assert 6 * 3600 - 60 <= limit <= 6 * 3600


async def test_a_resumed_restore_keeps_the_deadline_of_its_recorded_start():
    w = world(restore_timeout="6h")
    await w.ledger.claim(RP_ARN, "m-1", "v")
    await w.ledger.mark_restoring(RP_ARN, "job-recorded", "bv-x", "postgres")
    w.ledger.store.items[RP_ARN]["restore_started_at"] = int(time.time()) - 2 * 3600
    await w.ledger.release(RP_ARN)
    await w.flow.validate(EVENT, "m-1")
    [limit] = w.watcher.limits
    assert 4 * 3600 - 60 <= limit <= 4 * 3600


async def test_no_restore_is_started_without_time_to_use_it(monkeypatch):
    # Less in-flight time than restore_timeout + check_budget: nothing started, lease released, message back.
    monkeypatch.setattr(flow_module, "MESSAGE_IN_FLIGHT_SECONDS", 3600)
    w = world(restore_timeout="6h")
    with pytest.raises(NoTimeToUse) as raised:
        await w.flow.validate(EVENT, "m-1")
    assert raised.value.delay_seconds == 0
    assert w.backup.started == [] and "preflight" not in w.kind.calls
    assert w.ledger.state().lease_expires_at == 0
    assert w.publisher.published == []


async def test_cleanup_runs_when_the_checkpoint_write_fails():
    w = world()

    async def refuse(recovery_point_arn, record):
        raise ServiceUnavailable("ledger down")

    w.ledger.checkpoint_record = refuse
    with pytest.raises(ServiceUnavailable):
        await w.flow.validate(EVENT, "m-1")
    assert w.kind.calls[-1] == "cleanup"
