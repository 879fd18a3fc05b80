"""Dead letters on the stand-ins: a poison message dead-lettered by the real worker and a healthy one
dead-lettered by a consumer that died while holding it; `dlq` names why each failed, `dlq --redrive` moves them
back (moto has no StartMessageMoveTask: the receive/send/delete loop), and the healthy one ends in a record."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from harness.worker_stack import make_stack, run_cli, run_inline

from worker.dlq import NO_NOTE
from worker.intake import LONG_POLL_SECONDS

MAX_RECEIVES = 2
POISON = "this is not an event"


@pytest.fixture
async def stack(emulator):
    made = await make_stack(max_receive_count=MAX_RECEIVES)
    yield made
    await made.close()


def dead_letter_by_dying_consumer(queue_url: str) -> None:
    """Receive the waiting message as often as the redrive policy allows, never settling it (a consumer killed
    while holding it, each time); the receive after the last moves it to the DLQ."""
    sqs = boto3.client("sqs")
    for _ in range(MAX_RECEIVES + 1):
        sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=1, WaitTimeSeconds=2)
        time.sleep(1.2)


async def test_dlq_lists_reasons_and_redrive_brings_a_healthy_message_to_a_record(stack):
    dlq_url = stack.resources.dlq_url
    source = await stack.add_source("postgres")
    arn = await stack.backup_and_copy(source)  # no worker running yet: the copy event waits on the queue
    await stack.wait_until(lambda: stack.queue_depth() == 1, what="copy event queued")
    dead_letter_by_dying_consumer(stack.resources.queue_url)
    await stack.wait_until(lambda: stack.queue_depth(dlq_url) == 1, what="healthy message dead-lettered")
    async with run_inline(stack):
        stack.send(POISON)
        await stack.wait_until(lambda: stack.queue_depth(dlq_url) == 2, timeout=60, what="poison dead-lettered")
    # A long poll the stopped worker left open in the server may still take a message for up to its 20 s.
    redrive_not_before = time.monotonic() + LONG_POLL_SECONDS + 1

    listing = run_cli(stack, "dlq", "--json")
    assert listing.returncode == 0, listing.stderr
    rows = {row["body"][:20]: row for row in json.loads(listing.stdout)}
    poison = rows[POISON[:20]]
    assert poison["reason"] == "malformed" and poison["detail"] and poison["attempts"] == MAX_RECEIVES
    healthy = next(row for key, row in rows.items() if key != POISON[:20])
    assert "Copy Job State Change" in healthy["body"]
    assert healthy["reason"] == NO_NOTE and healthy["detail"] is None
    text = run_cli(stack, "dlq")
    assert "2 message(s) in the DLQ" in text.stdout and "reason: malformed" in text.stdout
    assert stack.queue_depth(dlq_url) == 2  # listing leaves them where they are

    time.sleep(max(0.0, redrive_not_before - time.monotonic()))
    redrive = run_cli(stack, "dlq", "--redrive")
    assert redrive.returncode == 0, redrive.stderr
    assert "moving by receive/send/delete" in redrive.stdout and "moved 2 message(s) back" in redrive.stdout
    assert stack.queue_depth(dlq_url) == 0 and stack.queue_depth() == 2

    async with run_inline(stack):
        records = await stack.wait_for_records(1, timeout=90)
        await stack.wait_until(lambda: stack.queue_depth(dlq_url) == 1, timeout=60, what="poison back in DLQ")
    assert [(r["recovery_point_arn"], r["status"]) for r in records] == [(arn, "PASSED")]
    assert stack.queue_depth() == 0


async def test_a_failed_attempt_notes_its_error_for_the_dlq_listing(stack):
    """A validation whose record cannot be written (the results bucket is wrong) is retried later; meanwhile
    the ledger holds why, keyed by the message's id, which the DLQ keeps should the message end there."""
    source = await stack.add_source("postgres")
    async with run_inline(stack, results_bucket=f"{stack.prefix}-no-such-bucket"):
        await stack.backup_and_copy(source)

        def noted() -> list[dict]:
            items = boto3.client("dynamodb").scan(TableName=stack.resources.ledger_table)["Items"]
            return [item for item in items if item["pk"]["S"].startswith("msg#")]

        await stack.wait_until(lambda: bool(noted()), timeout=60, what="failure noted")
    [note] = noted()
    assert note["reason"]["S"] == "error" and note["receive_count"]["N"] == "1"
    assert note["detail"]["S"].startswith("NoSuchBucket: ") and "PutObject" in note["detail"]["S"]
    assert stack.restored_instances() == []  # cleanup ran before the report failed
