"""SQS: receive, acknowledge, and keep messages invisible while their jobs run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import translate_errors
from worker.ports import Message
from worker.refresh import MAX_REFRESHES, REFRESH_ATTRIBUTE

# Acknowledgements wait this long for company, then go ten to a DeleteMessageBatch call.
DELETE_LINGER_SECONDS = 0.05
# Heartbeat batches (ChangeMessageVisibilityBatch) in flight at once.
EXTEND_CALLS_AT_ONCE = 8


@translate_errors
class Queue:
    def __init__(self, client: Any, url: str) -> None:
        self._client = client
        self.url = url
        self._deletes: list[tuple[str, asyncio.Future[None]]] = []
        self._delete_timer: asyncio.TimerHandle | None = None
        self._delete_tasks: set[asyncio.Task[None]] = set()

    @property
    def client(self) -> Any:
        """The SQS client, for the DLQ's adapter (worker/adapters/dead_letters.py)."""
        return self._client

    def sibling(self, url: str) -> Queue:
        """Another queue on the same client (the DLQ)."""
        return Queue(self._client, url)

    async def send(self, body: str, delay_seconds: int = 0, refreshes: int = 0) -> str:
        """A new message (receive count 0); `refreshes` travels with it as a message attribute when not 0."""
        attributes = {REFRESH_ATTRIBUTE: {"DataType": "Number", "StringValue": str(refreshes)}} if refreshes else {}
        response = await self._client.send_message(
            QueueUrl=self.url,
            MessageBody=body,
            DelaySeconds=delay_seconds,
            **({"MessageAttributes": attributes} if attributes else {}),
        )
        return str(response["MessageId"])

    async def redrive(self) -> tuple[str, int | None]:
        """The queue's ARN and its redrive policy's maxReceiveCount (None: no redrive policy), in one call."""
        response = await self._client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["QueueArn", "RedrivePolicy"]
        )
        attributes = response.get("Attributes", {})
        policy = attributes.get("RedrivePolicy")
        value = json.loads(policy).get("maxReceiveCount") if policy else None
        return str(attributes["QueueArn"]), int(value) if value is not None else None

    async def max_receive_count(self) -> int | None:
        """The redrive policy's maxReceiveCount (None: the queue has no redrive policy)."""
        return (await self.redrive())[1]

    async def receive(self, max_messages: int, wait_seconds: int, visibility_seconds: int) -> list[Message]:
        response = await self._client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=[REFRESH_ATTRIBUTE],
        )
        return [
            Message(
                message_id=raw["MessageId"],
                receipt_handle=raw["ReceiptHandle"],
                body=raw.get("Body", ""),
                receive_count=int(raw.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                refreshes=refreshes_of(raw),
            )
            for raw in response.get("Messages", [])
        ]

    async def delete(self, receipt_handle: str) -> None:
        """Acknowledge; deletions made within DELETE_LINGER_SECONDS of each other share one batch call."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        # Read by the caller, or here when the caller was cancelled meanwhile (no "never retrieved" warning).
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._deletes.append((receipt_handle, done))
        if len(self._deletes) >= 10:
            self._flush_deletes()
        elif self._delete_timer is None:
            self._delete_timer = loop.call_later(DELETE_LINGER_SECONDS, self._flush_deletes)
        await asyncio.shield(done)

    def _flush_deletes(self) -> None:
        if self._delete_timer is not None:
            self._delete_timer.cancel()
            self._delete_timer = None
        while self._deletes:
            batch, self._deletes = self._deletes[:10], self._deletes[10:]
            task = asyncio.get_running_loop().create_task(self._delete_batch(batch))
            self._delete_tasks.add(task)
            task.add_done_callback(self._delete_tasks.discard)

    async def _delete_batch(self, batch: list[tuple[str, asyncio.Future[None]]]) -> None:
        try:
            response = await self._client.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(index), "ReceiptHandle": handle} for index, (handle, _) in enumerate(batch)],
            )
        except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        failed = {int(entry["Id"]): entry for entry in response.get("Failed", [])}
        for index, (_, done) in enumerate(batch):
            if done.done():
                continue
            entry = failed.get(index)
            if entry is None:
                done.set_result(None)
            else:
                error = {"Code": entry.get("Code", "Failed"), "Message": entry.get("Message", "")}
                done.set_exception(ClientError({"Error": error}, "DeleteMessageBatch"))

    async def set_visibility(self, receipt_handle: str, seconds: int) -> None:
        await self._client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(43200, seconds))
        )

    async def extend_many(self, receipt_handles: Sequence[str], seconds: int) -> list[str]:
        """Heartbeat in batches of ten, `EXTEND_CALLS_AT_ONCE` calls at a time (one after the other, 5,000
        batches for 50,000 messages outlast the heartbeat's period); returns the handles SQS refused (message
        gone or handle stale). A call that fails raises once every other batch has been tried."""
        chunks = iter([receipt_handles[start : start + 10] for start in range(0, len(receipt_handles), 10)])
        failed: list[str] = []
        errors: list[BaseException] = []

        async def lane() -> None:
            for chunk in chunks:  # the lanes share one iterator: each batch is sent once
                try:
                    response = await self._client.change_message_visibility_batch(
                        QueueUrl=self.url,
                        Entries=[
                            {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                            for index, handle in enumerate(chunk)
                        ],
                    )
                except Exception as exc:  # noqa: BLE001 - the other batches still get their heartbeat
                    errors.append(exc)
                    continue
                failed.extend(chunk[int(entry["Id"])] for entry in response.get("Failed", []))

        await asyncio.gather(*(lane() for _ in range(EXTEND_CALLS_AT_ONCE)))
        if errors:
            raise errors[0]
        return failed

    async def depth(self) -> tuple[int, int]:
        """(visible, in flight) approximate message counts."""
        response = await self._client.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
        attributes = response.get("Attributes", {})
        return (
            int(attributes.get("ApproximateNumberOfMessages", 0)),
            int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        )


def refreshes_of(raw: dict[str, Any]) -> int:
    """The copy's refresh count; anything unreadable counts as the bound (never refreshed again)."""
    value = raw.get("MessageAttributes", {}).get(REFRESH_ATTRIBUTE, {}).get("StringValue")
    if value is None:
        return 0
    try:
        return max(0, int(value))
    except ValueError:
        return MAX_REFRESHES
