"""DynamoDB's JSON protocol (`X-Amz-Target: DynamoDB_20120810.<Operation>`), passed through to moto, except for
the tables a restore job is still creating: moto creates every table ACTIVE, AWS does not.

What AWS answers about a table whose status is CREATING (DynamoDB API reference):
- DescribeTable: the table, `TableStatus` CREATING; ListTables lists it (moto already holds it);
- the data plane (GetItem, BatchGetItem, Query, Scan, PutItem, ..., ExecuteStatement, the transactions):
  ResourceNotFoundException, "The operation tried to access a nonexistent table or index. The resource might
  not be specified correctly, or its status might not be ACTIVE.";
- DeleteTable, UpdateTable and the other changes of the table's settings: ResourceInUseException ("The operation
  conflicts with the resource's availability. For example ... you tried to delete a table currently in the
  CREATING state.").
Everything else, and every call about any other table, reaches moto unchanged (the ledger's table included).
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import Iterable
from typing import Any

import aiohttp
from aiohttp import web

from emulator.core import Emulator

log = logging.getLogger("emulator.dynamodb")

TARGET_PREFIX = "DynamoDB_20120810."
_JSON = "application/x-amz-json-1.0"
_ERROR_NAMESPACE = "com.amazonaws.dynamodb.v20120810#"

# Reads and writes of items: refused while the table is not ACTIVE.
DATA_PLANE = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
# Changes of the table itself: refused while it is being created.
IN_USE = frozenset(
    {
        "DeleteTable",
        "UpdateTable",
        "UpdateTimeToLive",
        "UpdateContinuousBackups",
        "UpdateTableReplicaAutoScaling",
        "UpdateContributorInsights",
        "UpdateKinesisStreamingDestination",
        "EnableKinesisStreamingDestination",
        "DisableKinesisStreamingDestination",
        "CreateBackup",
        "PutResourcePolicy",
        "DeleteResourcePolicy",
    }
)
_NOT_ACTIVE = (
    "Requested resource not found: The operation tried to access a nonexistent table or index. The resource might"
    " not be specified correctly, or its status might not be ACTIVE."
)
_HOP_BY_HOP = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding", "accept-encoding"}
)


def is_dynamodb(request: web.Request) -> bool:
    return request.method == "POST" and request.headers.get("X-Amz-Target", "").startswith(TARGET_PREFIX)


def _bare(name: Any) -> str:
    """A table name from a TableName parameter, which may also be the table's ARN."""
    text = str(name or "")
    return text.split(":table/", 1)[1].split("/", 1)[0] if ":table/" in text else text


def named_tables(operation: str, params: dict[str, Any], creating: Iterable[str]) -> set[str]:
    """The tables under restore that a request names."""
    creating = set(creating)
    if not creating:
        return set()
    names = {_bare(params.get("TableName")), _bare(params.get("ResourceArn"))}
    names.update(_bare(name) for name in (params.get("RequestItems") or {}))
    for item in params.get("TransactItems") or []:
        for part in (item or {}).values():
            if isinstance(part, dict):
                names.add(_bare(part.get("TableName")))
    statements = [params.get("Statement")]
    statements += [s.get("Statement") for s in (params.get("Statements") or params.get("TransactStatements") or [])]
    for statement in statements:
        if isinstance(statement, str):
            names.update(name for name in creating if _mentions(statement, name))
    return names & creating


def _mentions(statement: str, name: str) -> bool:
    """Whether a PartiQL statement names the table (quoted, or as a bare identifier)."""
    return f'"{name}"' in statement or re.search(rf"(?<![\w.\-]){re.escape(name)}(?![\w.\-])", statement) is not None


def _error(code: str, message: str) -> web.Response:
    body = json.dumps({"__type": _ERROR_NAMESPACE + code, "message": message}).encode()
    headers = {"x-amz-crc32": str(zlib.crc32(body)), "x-amzn-ErrorType": code}
    return web.Response(body=body, status=400, content_type=_JSON, headers=headers)


class DynamoDbProxy:
    """The pass-through to moto; one HTTP session for the emulator's lifetime."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        operation = request.headers["X-Amz-Target"][len(TARGET_PREFIX) :]
        body = await request.read()
        store = self.emu.store
        store.calls[f"dynamodb:{operation}"] += 1
        creating = self.emu.creating_tables
        if creating:
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = None  # moto answers what AWS answers to a body that is not JSON
            if isinstance(params, dict):
                refused = self._refusal(operation, named_tables(operation, params, creating))
                if refused is not None:
                    store.errors[f"dynamodb:{operation}:{refused.headers['x-amzn-ErrorType']}"] += 1
                    return refused
        status, headers, answer = await self._forward(request, body)
        if creating and operation == "DescribeTable" and status == 200:
            answer = self._describe_creating(answer)
            headers["x-amz-crc32"] = str(zlib.crc32(answer))
        return web.Response(body=answer, status=status, headers=headers)

    def _refusal(self, operation: str, named: set[str]) -> web.Response | None:
        if not named:
            return None
        if operation in DATA_PLANE:
            return _error("ResourceNotFoundException", _NOT_ACTIVE)
        if operation in IN_USE:
            name = sorted(named)[0]
            return _error(
                "ResourceInUseException",
                f"Attempt to change a resource which is still in use: Table is being created: {name}",
            )
        return None

    def _describe_creating(self, answer: bytes) -> bytes:
        described = json.loads(answer)
        table = described.get("Table") or {}
        if table.get("TableName") not in self.emu.creating_tables:
            return answer
        table["TableStatus"] = "CREATING"
        summary = table.get("RestoreSummary")
        if isinstance(summary, dict):
            summary["RestoreInProgress"] = True
        for index in table.get("GlobalSecondaryIndexes") or []:
            index["IndexStatus"] = "CREATING"
        self.emu.store.creating_answers[table["TableName"]] += 1
        return json.dumps(described).encode()

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = self.emu.config.dynamodb_url
        if not url:
            raise web.HTTPServiceUnavailable(text="no DynamoDB endpoint configured (--dynamodb-url)")
        if self._session is None:
            # moto answers in milliseconds; a stuck moto must not hold the caller forever.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        async with self._session.post(url.rstrip("/") + "/", data=body, headers=headers) as answer:
            payload = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return answer.status, kept, payload
