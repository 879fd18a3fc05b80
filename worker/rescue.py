"""The rescue pass: dead letters that lost receives to nobody go back to their queue as fresh copies.

A message can spend its last receives on nobody (a worker killed between the receive and the claim, a killed
worker's long poll still open at SQS), so that no worker sees it near its last receive and SQS moves it to the
DLQ though the worker decided fewer outcomes than it had receives. One worker of the fleet (the runner-lease
holder) looks at the DLQ every `RESCUE_INTERVAL_SECONDS` and sends such messages back, each copy counting one
more refresh (worker/refresh.py: the same rule and the same bound, so a message that kills every worker stays
in the DLQ). Everything else stays where it is, visible again at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from worker.adapters.dead_letters import DeadLetter, DeadLetterQueue, FailureNotes
from worker.adapters.sqs import Queue
from worker.metrics import Metrics
from worker.refresh import rescue_due, well_formed

RESCUE_INTERVAL_SECONDS = 30
RESCUE_BATCH = 50
RESCUE_VISIBILITY_SECONDS = 60  # hidden while a pass decides; released at its end
CALL_SECONDS = 10


@dataclass(frozen=True)
class Source:
    """A queue the worker consumes, as the DLQ names it (`DeadLetterQueueSourceArn`), with its redrive policy."""

    queue: Queue
    max_receive_count: int | None
    arn: str | None = None


async def rescue_pass(
    dlq: DeadLetterQueue,
    notes: FailureNotes,
    sources: dict[str, Source],
    default: Source,
    metrics: Metrics,
    log: Any,
) -> int:
    """One look at the DLQ; returns how many messages went back. A dead letter without a source ARN (moto sets
    none) is judged against the work queue and sent back there, as `dlq --redrive` does."""
    letters = await asyncio.wait_for(dlq.take(RESCUE_BATCH, RESCUE_VISIBILITY_SECONDS), CALL_SECONDS * 3)
    keep: list[str] = []
    rescued = 0
    try:
        for letter in letters:
            source = sources.get(letter.source_arn or "", default)
            try:
                sent = await _rescue(letter, source, dlq, notes)
            except Exception as exc:  # noqa: BLE001 - left in the DLQ for the next pass
                log.warning("message.rescue_failed", message_id=letter.message_id, error=type(exc).__name__)
                sent = False
            if sent:
                rescued += 1
                metrics.sqs_messages.labels("rescued").inc()
                log.info("message.rescued", message_id=letter.message_id, refreshes=letter.refreshes + 1)
            else:
                keep.append(letter.receipt_handle)
    finally:
        await asyncio.wait_for(dlq.release(keep), CALL_SECONDS * 3)
    return rescued


async def _rescue(letter: DeadLetter, source: Source, dlq: DeadLetterQueue, notes: FailureNotes) -> bool:
    decided = await asyncio.wait_for(notes.decided(letter.message_id), CALL_SECONDS)
    if not rescue_due(decided, source.max_receive_count, letter.refreshes, well_formed(letter.body)):
        return False
    await asyncio.wait_for(source.queue.send(letter.body, 0, letter.refreshes + 1), CALL_SECONDS)
    # A crash here leaves the letter in the DLQ beside its copy: the ledger settles the duplicate.
    await asyncio.wait_for(dlq.delete(letter.receipt_handle), CALL_SECONDS)
    return True
