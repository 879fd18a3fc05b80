"""The flow's decisions on in-memory ports: one recovery point from event to record, resumption from each
ledger state, and what each kind of failure becomes. The same paths run on the stand-ins in
tests/integration/test_worker_flow.py and tests/reliability/."""

import asyncio
import dataclasses
import json
import time

import pytest
from memory_ports import RP_ARN, MemoryBackup, MemoryKind, Store, world

from worker.errors import LeaseHeld, RequestRefused, ServiceUnavailable
from worker.events import RecoveryPointReady
from worker.leases import CLOCK_SKEW_SECONDS
from worker.ledger_item import CHECKED, CRASH_HAND_OVERS, DONE, RESTORING
from worker.model import idempotency_token, restored_identifier

EVENT = RecoveryPointReady(RP_ARN, "central", "copy")


async def test_one_recovery_point_goes_through_every_step_in_order():
    w = world()
    outcome = await w.flow.validate(EVENT, "m-1")
    assert (outcome.action, outcome.reason) == ("ack", "validated")
    assert w.kind.calls == ["preflight", "restore_metadata", "take_over", "run_checks", "cleanup"]
    assert w.ledger.writes == ["claim", "record_resource", "mark_restoring", "checkpoint_record", "finish"]
    [started] = w.backup.started
    assert started["token"] == idempotency_token(RP_ARN)
    assert started["metadata"] == {"DBInstanceIdentifier": restored_identifier(RP_ARN)}
    [(key, record, from_testing)] = w.publisher.published
    assert key.startswith("validations/dt=") and key.endswith(f"/{record['validation_id']}.json")
    assert (record["status"], record["cleanup_status"], record["engine"]) == ("PASSED", "DELETED", "postgres")
    assert record["restore_duration"] == 12.0
    assert record["restored_instance_id"] == restored_identifier(RP_ARN)
    assert from_testing is False
    assert (w.ledger.state().state, w.ledger.state().status) == (DONE, "PASSED")
    assert w.ledger.store.sources[record["source_resource_arn"]]["last_row_counts"] == {"row_count:events": 5}
    assert not w.holdings.held and not w.holdings.busy


async def test_a_failed_check_fails_the_record_and_the_source_keeps_no_pass():
    w = world(kind=MemoryKind(check_status="FAILED"))
    await w.flow.validate(EVENT, "m-1")
    record = w.publisher.published[0][1]
    assert record["status"] == "FAILED"
    assert "last_passed_at" not in w.ledger.store.sources.get(record["source_resource_arn"], {})


async def test_a_second_message_for_a_held_recovery_point_is_a_duplicate():
    store = Store()
    first = world(store=store, owner="worker-a")
    await first.ledger.claim(RP_ARN, "m-1", "v")
    other = world(store=store, owner="worker-b")
    outcome = await other.flow.validate(EVENT, "m-2")
    assert (outcome.action, outcome.reason) == ("ack", "duplicate")
    assert other.backup.started == [] and other.kind.calls == []


async def test_our_own_message_back_while_a_dead_holder_s_lease_runs_is_retried_after_the_lease():
    store = Store()
    await world(store=store, owner="worker-a").ledger.claim(RP_ARN, "m-1", "v")
    with pytest.raises(LeaseHeld) as raised:
        await world(store=store, owner="worker-b").flow.validate(EVENT, "m-1")
    # Invisible until any worker may take the lease over: its end plus the clock-skew margin, and a second.
    assert 300 + CLOCK_SKEW_SECONDS <= raised.value.delay_seconds <= 302 + CLOCK_SKEW_SECONDS


async def test_a_done_recovery_point_is_acknowledged_without_work():
    w = world()
    await w.flow.validate(EVENT, "m-1")
    again = world(store=w.ledger.store, owner="worker-b")
    outcome = await again.flow.validate(EVENT, "m-9")
    assert outcome.reason == "duplicate" and again.kind.calls == []


async def test_a_resumed_restore_waits_for_the_recorded_job_and_never_starts_a_second():
    w = world()
    await w.ledger.claim(RP_ARN, "m-1", "v")
    await w.ledger.mark_restoring(RP_ARN, "job-recorded", restored_identifier(RP_ARN), "postgres")
    await w.ledger.release(RP_ARN)  # the previous worker was stopped
    resumed = world(store=w.ledger.store, owner="worker-b")
    outcome = await resumed.flow.validate(EVENT, "m-1")
    assert outcome.reason == "validated"
    assert resumed.backup.started == [] and resumed.watcher.waited == ["job-recorded"]
    assert "preflight" not in resumed.kind.calls and "take_over" in resumed.kind.calls


async def test_after_the_checks_only_cleanup_and_the_report_remain():
    w = world()
    await w.ledger.claim(RP_ARN, "m-1", "v")
    draft = {"validation_id": "v", "status": "FAILED", "cleanup_status": "NOT_NEEDED", "checks": []}
    draft.update(restore_duration=3.0, age_latest_db_tx=None, data_gap_minutes=None, reason=None)
    await w.ledger.checkpoint_record(RP_ARN, draft)
    await w.ledger.release(RP_ARN)
    resumed = world(store=w.ledger.store, owner="worker-b")
    await resumed.flow.validate(EVENT, "m-1")
    assert resumed.kind.calls == ["cleanup"] and resumed.backup.started == []
    record = resumed.publisher.published[0][1]
    assert (record["status"], record["cleanup_status"]) == ("FAILED", "DELETED")
    assert resumed.ledger.state().status == "FAILED"


async def test_a_failed_restore_job_is_recorded_and_still_cleaned_up():
    w = world(backup=MemoryBackup(job_status="FAILED"))
    await w.flow.validate(EVENT, "m-1")
    record = w.publisher.published[0][1]
    assert record["status"] == "RESTORE_FAILED" and record["reason"].startswith("restore job FAILED")
    assert w.kind.calls[-1] == "cleanup" and "take_over" not in w.kind.calls
    assert record["cleanup_status"] == "DELETED"


async def test_a_restore_past_its_deadline_is_an_error_and_cleanup_runs():
    w = world(watcher_error=TimeoutError())
    await w.flow.validate(EVENT, "m-1")
    record = w.publisher.published[0][1]
    assert record["status"] == "ERROR" and "did not finish within" in record["reason"]
    assert w.kind.calls[-1] == "cleanup"


async def test_a_retryable_failure_leaves_no_record_and_the_message_comes_back():
    w = world(kind=MemoryKind(fail_at="take_over", error=ServiceUnavailable("throttled")))
    with pytest.raises(ServiceUnavailable):
        await w.flow.validate(EVENT, "m-1")
    assert w.publisher.published == [] and w.ledger.state().state == RESTORING
    assert not w.holdings.held


async def test_a_permanent_failure_becomes_an_error_record():
    w = world(kind=MemoryKind(fail_at="take_over", error=RequestRefused("InvalidParameterValue: no")))
    outcome = await w.flow.validate(EVENT, "m-1")
    record = w.publisher.published[0][1]
    assert outcome.reason == "validated" and record["status"] == "ERROR"
    assert record["reason"].startswith("RequestRefused: ")
    assert w.ledger.state().state == DONE


async def test_the_draft_reaches_the_ledger_before_cleanup():
    store = Store()
    kind = MemoryKind(fail_at="cleanup", error=asyncio.CancelledError())
    w = world(kind=kind, store=store)
    with pytest.raises(asyncio.CancelledError):
        await w.flow.validate(EVENT, "m-1")
    item = w.ledger.state()
    assert item.state == CHECKED and item.record is not None and item.record["status"] == "PASSED"
    assert item.lease_expires_at == 0, "a cancelled validation hands its lease over"


async def test_unselected_missing_and_unfinished_recovery_points_are_acknowledged():
    w = world()
    other = RecoveryPointReady("arn:aws:backup:us-east-1:111111111111:recovery-point:gone", "central", "copy")
    assert (await w.flow.validate(other, "m-1")).reason == "not_found"
    w.backup.recovery_point = w.backup.recovery_point.__class__(
        RP_ARN, "central", "arn:aws:rds:us-east-1:111111111111:db:billing", "RDS", None, "COMPLETED"
    )
    assert (await w.flow.validate(EVENT, "m-2")).reason == "unselected"
    partial = world(backup=MemoryBackup(status="PARTIAL"))
    assert (await partial.flow.validate(EVENT, "m-3")).reason == "not_completed"
    assert w.ledger.writes == [] and partial.ledger.writes == []


async def test_a_recovery_point_of_another_region_is_left_to_that_region_s_deployment():
    """One deployment per region (docs/fleet.md): nothing is described, claimed or restored here."""
    w = world()
    w.flow = dataclasses.replace(w.flow, region="eu-west-1")
    outcome = await w.flow.validate(EVENT, "m-1")
    assert (outcome.action, outcome.reason) == ("ack", "other_region")
    assert w.ledger.writes == [] and w.backup.started == [] and w.kind.calls == []
    assert ("recovery_point.other_region", {"region": "us-east-1", "worker_region": "eu-west-1"}) in w.log.events
    same = world()
    same.flow = dataclasses.replace(same.flow, region="us-east-1")
    assert (await same.flow.validate(EVENT, "m-2")).reason == "validated"


async def test_sampling_skips_a_second_recovery_point_of_the_same_source_within_the_interval():
    first = world(min_interval="1h")
    await first.flow.validate(EVENT, "m-1")
    second = world(store=first.ledger.store, owner="worker-b", min_interval="1h")
    second.backup.recovery_point = second.backup.recovery_point.__class__(
        RP_ARN + "-2", "central", first.backup.recovery_point.source_resource_arn, "RDS", None, "COMPLETED"
    )
    outcome = await second.flow.validate(RecoveryPointReady(RP_ARN + "-2", "central", "copy"), "m-2")
    assert outcome.reason == "sampled_out" and second.kind.calls == []
    assert second.ledger.state(RP_ARN + "-2").status == "SKIPPED"


async def test_checkpointed_record_is_json_in_the_ledger():
    w = world()
    await w.flow.validate(EVENT, "m-1")
    stored = w.ledger.store.items[RP_ARN]["record"]
    assert json.loads(stored)["validation_id"] == w.publisher.published[0][1]["validation_id"]


async def test_a_recovery_point_taken_over_from_a_dead_holder_goes_on_with_a_fresh_message():
    store = Store()
    await world(store=store, owner="worker-a").ledger.claim(RP_ARN, "m-1", "v")
    store.items[RP_ARN]["lease_expires_at"] = int(time.time()) - CLOCK_SKEW_SECONDS - 2  # worker-a died holding it
    taker = world(store=store, owner="worker-b")
    outcome = await taker.flow.validate(EVENT, "m-1")
    # Its receives were spent on the crash: a fresh copy goes on, the lease is released for it at once.
    assert (outcome.action, outcome.reason) == ("hand_over", "crash_hand_over")
    assert store.items[RP_ARN]["lease_expires_at"] == 0 and store.items[RP_ARN]["crash_hand_overs"] == 1
    assert taker.backup.started == [] and not taker.holdings.held
    fresh = world(store=store, owner="worker-c")
    assert (await fresh.flow.validate(EVENT, "m-2")).reason == "validated", "a released lease is no crash"
    assert len(fresh.backup.started) == 1


async def test_a_recovery_point_whose_holders_keep_dying_stops_getting_fresh_messages():
    store = Store()
    await world(store=store, owner="worker-a").ledger.claim(RP_ARN, "m-1", "v")
    store.items[RP_ARN].update(
        lease_expires_at=int(time.time()) - CLOCK_SKEW_SECONDS - 2, crash_hand_overs=CRASH_HAND_OVERS
    )
    taker = world(store=store, owner="worker-b")
    assert (await taker.flow.validate(EVENT, "m-1")).reason == "validated", "its receives count again"
