"""Where records go: S3 (the durable copy, for Athena) and CloudWatch Logs (one EMF line each)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors


@translate_errors
class ResultStore:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket

    async def put_json(self, key: str, document: dict[str, Any]) -> None:
        await self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(document, separators=(",", ":"), default=str).encode(),
            ContentType="application/json",
        )

    async def get_json(self, key: str) -> dict[str, Any]:
        response = await self._s3.get_object(Bucket=self.bucket, Key=key)
        async with response["Body"] as body:
            document: dict[str, Any] = json.loads(await body.read())
        return document

    async def ping(self) -> None:
        await self._s3.head_bucket(Bucket=self.bucket)


class LogSink:
    """One stream per worker process; the stream is created on first use.

    Lines wait up to `linger` seconds for company and go out together, one PutLogEvents call per batch: the
    record's durable copy is in S3 already, so a line lost in a crash is not worth a call per validation.
    """

    MAX_BATCH = 1000

    def __init__(
        self,
        logs_client: Any,
        group: str,
        stream: str,
        *,
        linger: float = 0.5,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._logs = logs_client
        self.group = group
        self.stream = stream
        self._stream_ready = False
        self._linger = linger
        self._on_error = on_error
        self._buffer: list[dict[str, Any]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def put(self, document: dict[str, Any]) -> None:
        self._buffer.append({"timestamp": int(time.time() * 1000), "message": json.dumps(document, default=str)})
        if len(self._buffer) >= self.MAX_BATCH:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._linger, self._flush)

    async def close(self) -> None:
        """Send what is buffered and wait for every batch in flight."""
        self._flush()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, events: list[dict[str, Any]]) -> None:
        try:
            if not self._stream_ready:
                try:
                    await self._logs.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
                except ClientError as exc:
                    if error_code(exc) != "ResourceAlreadyExistsException":
                        raise
                self._stream_ready = True
            await self._logs.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=events)
        except Exception as exc:  # noqa: BLE001 - S3 holds the records; reported, not retried
            if self._on_error is not None:
                self._on_error(exc)
