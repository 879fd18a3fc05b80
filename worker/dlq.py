"""`backup-validator dlq`: what is dead-lettered and why; `--redrive` moves it back."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from worker.adapters.aws import open_clients
from worker.adapters.dead_letters import DeadLetter, DeadLetterQueue, FailureNotes, unsupported
from worker.metrics import Metrics
from worker.settings import Settings

NO_NOTE = "no failure recorded (the worker stopped or was killed while handling it, or the note expired)"
MOVE_TASK_WAIT_SECONDS = 120


def describe(letter: DeadLetter, note: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "message_id": letter.message_id,
        "sent_at": datetime.fromtimestamp(letter.sent_at / 1000, UTC).isoformat() if letter.sent_at else None,
        "source_queue": letter.source_arn,
        "reason": (note or {}).get("reason") or NO_NOTE,
        "detail": (note or {}).get("detail"),
        "attempts": (note or {}).get("receive_count"),
        "body": letter.body[:300],
    }


async def list_command(settings: Settings, limit: int, as_json: bool) -> int:
    if not settings.dlq_url:
        print("backup-validator: BV_DLQ_URL is not set")
        return 2
    async with open_clients(Metrics(CollectorRegistry()), max_attempts=3) as clients:
        letters = await DeadLetterQueue(clients.sqs, settings.dlq_url).peek(limit)
        notes = await FailureNotes(clients.dynamodb, settings.ledger_table).get_many([x.message_id for x in letters])
    rows = [describe(letter, notes.get(letter.message_id)) for letter in letters]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{len(rows)} message(s) in the DLQ")
        for row in rows:
            print(f"{row['message_id']}  sent {row['sent_at']}  reason: {row['reason']}")
            if row["detail"]:
                print(f"    {row['detail']}")
            print(f"    body: {row['body'][:120]}")
    return 0


async def redrive_command(settings: Settings, limit: int) -> int:
    if not settings.dlq_url:
        print("backup-validator: BV_DLQ_URL is not set")
        return 2
    async with open_clients(Metrics(CollectorRegistry()), max_attempts=3) as clients:
        dlq = DeadLetterQueue(clients.sqs, settings.dlq_url)
        try:
            handle = await dlq.start_move_task()
        except Exception as exc:
            if not unsupported(exc):
                raise
            print(f"StartMessageMoveTask unavailable here ({type(exc).__name__}); moving by receive/send/delete")
            moved = await dlq.move_back(await _destinations(dlq, settings), settings.queue_url, limit)
            print(f"moved {moved} message(s) back")
            return 0
        print(f"SQS message move task started ({handle})")
        return await _wait_for_task(dlq)


async def _destinations(dlq: DeadLetterQueue, settings: Settings) -> dict[str, str]:
    urls = [url for url in (settings.queue_url, settings.events_queue_url) if url]
    return {await dlq.arn(url): url for url in urls}


async def _wait_for_task(dlq: DeadLetterQueue) -> int:
    deadline = time.monotonic() + MOVE_TASK_WAIT_SECONDS
    while time.monotonic() < deadline:
        status = await dlq.move_task_status() or {}
        state = status.get("Status")
        if state in {"COMPLETED", "FAILED", "CANCELLED"}:
            moved = status.get("ApproximateNumberOfMessagesMoved", 0)
            print(f"move task {state}: {moved} message(s) moved {status.get('FailureReason', '')}".rstrip())
            return 0 if state == "COMPLETED" else 1
        await asyncio.sleep(2)
    print(f"move task still running after {MOVE_TASK_WAIT_SECONDS}s; `backup-validator dlq` shows what is left")
    return 0
