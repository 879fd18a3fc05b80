"""Dead letters people can act on: why each message failed, what is in the DLQ, and moving it back.

SQS moves a message to the DLQ by itself (the redrive policy's maxReceiveCount), keeping its MessageId, and a
message's attributes cannot be changed once sent. So the reason does not travel with the message: each time
the worker fails to handle a message it notes why in the ledger (`msg#<message id>`, expiring after SQS's
longest retention), and `dlq` joins the DLQ's messages to those notes by MessageId. The last note is the reason
the message was given up on. Each note also counts one decided outcome (`outcomes`), which tells receives the
worker acted on from receives lost to a crash or a dead long poll (worker/refresh.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.adapters.sqs import refreshes_of
from worker.errors import RequestRefused, ServiceUnavailable

NOTE_TTL_SECONDS = 14 * 86400  # SQS's longest message retention
PEEK_VISIBILITY_SECONDS = 30


@translate_errors
class FailureNotes:
    def __init__(self, dynamodb_client: Any, table: str) -> None:
        self._db = dynamodb_client
        self.table = table

    async def note(self, message_id: str, reason: str, detail: str, receive_count: int) -> None:
        """The latest reason, and one more decided outcome in `outcomes` (an atomic ADD: notes may race)."""
        now = int(time.time())
        await self._db.update_item(
            TableName=self.table,
            Key={"pk": {"S": f"msg#{message_id}"}},
            UpdateExpression=(
                "SET reason = :reason, detail = :detail, receive_count = :count, noted_at = :now,"
                " expires_at = :expires ADD outcomes :one"
            ),
            ExpressionAttributeValues={
                ":reason": {"S": reason},
                ":detail": {"S": detail[:500] or "-"},
                ":count": {"N": str(receive_count)},
                ":now": {"N": str(now)},
                ":expires": {"N": str(now + NOTE_TTL_SECONDS)},
                ":one": {"N": "1"},
            },
        )

    async def decided(self, message_id: str) -> int:
        """How many receives of the message ended in a noted outcome (0: none, or no note)."""
        response = await self._db.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"msg#{message_id}"}},
            ProjectionExpression="outcomes",
            ConsistentRead=True,
        )
        return int(response.get("Item", {}).get("outcomes", {}).get("N", "0"))

    async def get_many(self, message_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(message_ids), 100):
            keys = [{"pk": {"S": f"msg#{mid}"}} for mid in dict.fromkeys(message_ids[start : start + 100])]
            for _ in range(5):  # unprocessed keys come back under throttling; a bounded number of tries
                response = await self._db.batch_get_item(RequestItems={self.table: {"Keys": keys}})
                for item in response.get("Responses", {}).get(self.table, []):
                    found[item["pk"]["S"].removeprefix("msg#")] = {
                        "reason": item.get("reason", {}).get("S"),
                        "detail": item.get("detail", {}).get("S"),
                        "receive_count": int(item.get("receive_count", {}).get("N", "0")),
                        "noted_at": int(item.get("noted_at", {}).get("N", "0")),
                    }
                keys = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                if not keys:
                    break
                await asyncio.sleep(0.5)
        return found


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    body: str
    sent_at: int  # epoch milliseconds, when first sent to the source queue
    receive_count: int
    source_arn: str | None
    attributes: dict[str, Any]
    receipt_handle: str = ""
    refreshes: int = 0  # the `bv-refreshes` message attribute (worker/refresh.py)


@translate_errors
class DeadLetterQueue:
    def __init__(self, sqs_client: Any, url: str) -> None:
        self._sqs = sqs_client
        self.url = url

    async def arn(self, url: str | None = None) -> str:
        response = await self._sqs.get_queue_attributes(QueueUrl=url or self.url, AttributeNames=["QueueArn"])
        return str(response["Attributes"]["QueueArn"])

    async def _receive(self, visibility: int) -> list[dict[str, Any]]:
        response = await self._sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=visibility,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    async def peek(self, limit: int) -> list[DeadLetter]:
        """Up to `limit` messages; each is hidden while listing and made visible again at the end."""
        seen: dict[str, DeadLetter] = {}
        handles: list[str] = []
        try:
            while len(seen) < limit:
                batch = await self._receive(PEEK_VISIBILITY_SECONDS)
                if not batch:
                    break
                for raw in batch:
                    handles.append(raw["ReceiptHandle"])
                    seen.setdefault(raw["MessageId"], _dead_letter(raw))
        finally:
            await self._release(handles)
        return list(seen.values())[:limit]

    async def take(self, limit: int, visibility: int) -> list[DeadLetter]:
        """Up to `limit` messages, hidden for `visibility` seconds: each to be deleted or released."""
        taken: dict[str, DeadLetter] = {}
        while len(taken) < limit:
            batch = await self._receive(visibility)
            if not batch:
                break
            for raw in batch:
                taken[raw["ReceiptHandle"]] = _dead_letter(raw)
        return list(taken.values())

    async def delete(self, receipt_handle: str) -> None:
        await self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=receipt_handle)

    async def release(self, handles: list[str]) -> None:
        """Visible again at once."""
        await self._release(handles)

    async def _release(self, handles: list[str]) -> None:
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start : start + 10])
            ]
            await self._sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)

    async def start_move_task(self) -> str:
        """SQS's own redrive: each message back to the queue it came from. Raises where unsupported."""
        response = await self._sqs.start_message_move_task(SourceArn=await self.arn())
        return str(response.get("TaskHandle", ""))

    async def move_task_status(self) -> dict[str, Any] | None:
        response = await self._sqs.list_message_move_tasks(SourceArn=await self.arn(), MaxResults=1)
        results = response.get("Results", [])
        return dict(results[0]) if results else None

    async def move_back(self, destinations: dict[str, str], default_url: str, limit: int) -> int:
        """The fallback redrive: receive, send to the source queue (by DeadLetterQueueSourceArn, else the work
        queue), delete. At least once: a crash between send and delete leaves a copy, which the ledger dedupes."""
        moved = 0
        while moved < limit:
            batch = (await self._receive(60))[: limit - moved]
            if not batch:
                break
            for raw in batch:
                source = raw.get("Attributes", {}).get("DeadLetterQueueSourceArn")
                await self._sqs.send_message(
                    QueueUrl=destinations.get(str(source), default_url),
                    MessageBody=raw.get("Body", ""),
                    **({"MessageAttributes": raw["MessageAttributes"]} if raw.get("MessageAttributes") else {}),
                )
                await self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=raw["ReceiptHandle"])
                moved += 1
        return moved


def _dead_letter(raw: dict[str, Any]) -> DeadLetter:
    attributes = raw.get("Attributes", {})
    return DeadLetter(
        message_id=raw["MessageId"],
        body=raw.get("Body", ""),
        sent_at=int(attributes.get("SentTimestamp", "0")),
        receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
        source_arn=attributes.get("DeadLetterQueueSourceArn"),
        attributes=dict(raw.get("MessageAttributes", {})),
        receipt_handle=raw.get("ReceiptHandle", ""),
        refreshes=refreshes_of(raw),
    )


def unsupported(exc: BaseException) -> bool:
    """StartMessageMoveTask refused or not implemented by this endpoint (moto answers 500)."""
    if isinstance(exc, RequestRefused | ServiceUnavailable):
        code = exc.code
    elif isinstance(exc, ClientError):
        code = error_code(exc)
    else:
        return False
    return code not in {"AccessDenied", "AccessDeniedException"}
