"""SQS: receive, acknowledge, and keep messages invisible while their jobs run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int


class Queue:
    def __init__(self, client: Any, url: str) -> None:
        self._client = client
        self.url = url

    def sibling(self, url: str) -> Queue:
        """Another queue on the same client (the DLQ)."""
        return Queue(self._client, url)

    async def send(self, body: str) -> str:
        response = await self._client.send_message(QueueUrl=self.url, MessageBody=body)
        return str(response["MessageId"])

    async def receive(self, max_messages: int, wait_seconds: int, visibility_seconds: int) -> list[Message]:
        response = await self._client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [
            Message(
                message_id=raw["MessageId"],
                receipt_handle=raw["ReceiptHandle"],
                body=raw.get("Body", ""),
                receive_count=int(raw.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
            for raw in response.get("Messages", [])
        ]

    async def delete(self, receipt_handle: str) -> None:
        await self._client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt_handle)

    async def set_visibility(self, receipt_handle: str, seconds: int) -> None:
        await self._client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(43200, seconds))
        )

    async def extend_many(self, receipt_handles: Sequence[str], seconds: int) -> list[str]:
        """Heartbeat in batches of ten; returns the handles SQS refused (message gone or handle stale)."""
        failed: list[str] = []
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start : start + 10]
            response = await self._client.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                    for index, handle in enumerate(chunk)
                ],
            )
            failed.extend(chunk[int(entry["Id"])] for entry in response.get("Failed", []))
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
