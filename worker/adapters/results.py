"""Where records go: S3 (the durable copy, for Athena) and CloudWatch Logs (one EMF line each)."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code


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

    async def ping(self) -> None:
        await self._s3.head_bucket(Bucket=self.bucket)


class LogSink:
    """One stream per worker process; the stream is created on first use."""

    def __init__(self, logs_client: Any, group: str, stream: str) -> None:
        self._logs = logs_client
        self.group = group
        self.stream = stream
        self._stream_ready = False

    async def put(self, document: dict[str, Any]) -> None:
        if not self._stream_ready:
            try:
                await self._logs.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
            except ClientError as exc:
                if error_code(exc) != "ResourceAlreadyExistsException":
                    raise
            self._stream_ready = True
        await self._logs.put_log_events(
            logGroupName=self.group,
            logStreamName=self.stream,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": json.dumps(document, default=str)}],
        )
