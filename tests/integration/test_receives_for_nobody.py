"""Receives for nobody on moto, with Terraform's maxReceiveCount (5): a message whose receives were taken by no
worker (a crash, a dead long poll) is refreshed near its last receive and validated, not dead-lettered; one that
lost every receive is rescued from the DLQ and validated; one that kills every worker still reaches the DLQ once
its refreshes are spent (worker/refresh.py, worker/rescue.py)."""

from __future__ import annotations

import json

import boto3
import structlog
from harness.worker_stack import make_stack, metric_value, run_inline
from prometheus_client import CollectorRegistry

from worker.adapters.aws import open_clients
from worker.adapters.dead_letters import DeadLetterQueue, FailureNotes
from worker.adapters.sqs import Queue
from worker.intake import Consumer, Timing
from worker.metrics import Metrics
from worker.model import Outcome
from worker.ports import Message
from worker.refresh import MAX_REFRESHES, REFRESH_ATTRIBUTE
from worker.rescue import Source, rescue_pass

PRODUCTION_MAX_RECEIVES = 5  # deploy/terraform/modules/intake (the kill -9 scenario reads it from there)


def lose_receives(queue_url: str, count: int) -> str:
    """Receive the waiting message `count` times and never settle it, as a killed worker or its dead long poll
    does (visibility 0: back at once); returns its MessageId."""
    sqs = boto3.client("sqs")
    ids = set()
    for _ in range(count):
        [raw] = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0, WaitTimeSeconds=2)["Messages"]
        ids.add(raw["MessageId"])
    [message_id] = ids
    return message_id


async def test_a_message_whose_earlier_receives_went_to_nobody_is_validated_not_dead_lettered(emulator):
    stack = await make_stack(max_receive_count=PRODUCTION_MAX_RECEIVES)
    try:
        source = await stack.add_source("postgres")
        arn = await stack.backup_and_copy(source)  # no worker yet: the copy event waits on the queue
        await stack.wait_until(lambda: stack.queue_depth() == 1, what="copy event queued")
        original = lose_receives(stack.resources.queue_url, PRODUCTION_MAX_RECEIVES - 1)
        async with run_inline(stack) as registry:
            records = await stack.wait_for_records(1, timeout=90)
            await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=30, what="queue drained")
        assert [(r["recovery_point_arn"], r["status"]) for r in records] == [(arn, "PASSED")]
        assert metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "refreshed"}) == 1
        item = boto3.client("dynamodb").get_item(TableName=stack.resources.ledger_table, Key={"pk": {"S": f"rp#{arn}"}})
        assert item["Item"]["message_id"]["S"] != original, "the fresh copy did the work, not the spent original"
        assert stack.queue_depth(stack.resources.dlq_url) == 0
    finally:
        await stack.close()


async def test_a_message_that_lost_every_receive_to_nobody_is_rescued_from_the_dlq_and_validated(emulator):
    stack = await make_stack(max_receive_count=PRODUCTION_MAX_RECEIVES)
    dlq_url = stack.resources.dlq_url
    try:
        source = await stack.add_source("postgres")
        arn = await stack.backup_and_copy(source)
        await stack.wait_until(lambda: stack.queue_depth() == 1, what="copy event queued")
        lose_receives(stack.resources.queue_url, PRODUCTION_MAX_RECEIVES)
        boto3.client("sqs").receive_message(QueueUrl=stack.resources.queue_url, WaitTimeSeconds=1)  # to the DLQ
        await stack.wait_until(lambda: stack.queue_depth(dlq_url) == 1, what="dead-lettered")
        async with run_inline(stack) as registry:
            records = await stack.wait_for_records(1, timeout=120)
            await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=30, what="queue drained")
        assert [(r["recovery_point_arn"], r["status"]) for r in records] == [(arn, "PASSED")]
        assert metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "rescued"}) == 1
        assert stack.queue_depth(dlq_url) == 0
    finally:
        await stack.close()


async def test_a_message_that_kills_every_worker_reaches_the_dlq_once_its_refreshes_are_spent(emulator):
    stack = await make_stack(max_receive_count=PRODUCTION_MAX_RECEIVES)
    body = json.dumps({"recoveryPointArn": "arn:aws:backup:us-east-1:111111111111:recovery-point:killer"})

    async def never(message: Message) -> Outcome:
        raise AssertionError("a killed worker decides nothing")

    try:
        metrics = Metrics(CollectorRegistry())
        async with open_clients(metrics) as clients:
            queue = Queue(clients.sqs, stack.resources.queue_url)
            notes = FailureNotes(clients.dynamodb, stack.resources.ledger_table)
            most = await queue.max_receive_count()
            assert most == PRODUCTION_MAX_RECEIVES
            assert await queue.sibling(stack.resources.dlq_url).max_receive_count() is None
            consumer = Consumer(queue, never, 1, Timing(30, 1), metrics, structlog.get_logger(), notes, most)
            stack.send(body)
            refreshed = receives = 0
            while stack.queue_depth(stack.resources.dlq_url) == 0:
                receives += 1
                assert receives <= (MAX_REFRESHES + 1) * PRODUCTION_MAX_RECEIVES + 5, "it must end in the DLQ"
                # Each receive: the worker that takes it dies (visibility 0: back at once), unless it refreshes.
                for message in await queue.receive(1, 1, 0):
                    refreshed += await consumer.refresh_if_due(message)
            # The rescue pass leaves it there too: its refreshes are spent.
            dlq = DeadLetterQueue(clients.sqs, stack.resources.dlq_url)
            source = Source(queue, most)
            assert await rescue_pass(dlq, notes, {}, source, metrics, structlog.get_logger()) == 0
        assert refreshed == MAX_REFRESHES
        [dead] = boto3.client("sqs").receive_message(
            QueueUrl=stack.resources.dlq_url, MessageAttributeNames=["All"], WaitTimeSeconds=2
        )["Messages"]
        assert dead["Body"] == body
        assert dead["MessageAttributes"][REFRESH_ATTRIBUTE]["StringValue"] == str(MAX_REFRESHES)
        assert stack.queue_depth() == 0
    finally:
        await stack.close()
