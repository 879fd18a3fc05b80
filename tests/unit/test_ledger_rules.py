"""The ledger item's rules, read from stored attributes (worker/ledger_item.py)."""

import json
import time

from worker.ledger_item import CHECKED, CLAIMED, RESTORING, ClaimResult, LedgerItem

ARN = "arn:aws:backup:us-east-1:111111111111:recovery-point:rp-1"


def test_stored_attributes_become_a_typed_item():
    item = LedgerItem.from_attributes(
        {
            "pk": f"rp#{ARN}",
            "state": CHECKED,
            "owner": "w-1",
            "message_id": "m-1",
            "lease_expires_at": 100,
            "claimed_at": 50,
            "restore_job_id": "job-1",
            "restore_started_at": 60,
            "engine": "",
            "record": json.dumps({"status": "PASSED"}),
        }
    )
    assert item.recovery_point_arn == ARN
    assert (item.state, item.restore_job_id, item.restore_started_at) == (CHECKED, "job-1", 60)
    assert item.engine is None, "an empty engine is unknown, not a name"
    assert item.record == {"status": "PASSED"} and item.checked


def test_only_a_first_claim_is_fresh():
    assert LedgerItem(ARN).fresh
    assert not LedgerItem(ARN, restore_job_id="job-1").fresh
    assert not LedgerItem(ARN, state=RESTORING, restore_job_id="job-1").fresh
    assert not LedgerItem(ARN, state=CHECKED).fresh


def test_lease_remaining_never_negative():
    now = time.time()
    assert LedgerItem(ARN, lease_expires_at=int(now) + 30).lease_remaining(now) == 30
    assert LedgerItem(ARN, lease_expires_at=int(now) - 30).lease_remaining(now) == 0


def test_a_held_claim_is_ours_only_for_the_same_message():
    held = ClaimResult("held", LedgerItem(ARN, state=CLAIMED, message_id="m-1"))
    assert held.held_by_message("m-1") and not held.held_by_message("m-2")
    assert not ClaimResult("done", LedgerItem(ARN, message_id="m-1")).held_by_message("m-1")
