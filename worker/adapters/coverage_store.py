"""What the reconciler reads and writes in the ledger table: each selected source's last PASSED validation, in
`BatchGetItem`s of 100 keys, and its own state (worker/coverage_state.py) so that the next runner continues.

The state is one head item `reconciler#state` (`version`, the watermark, how many parts and the version they
were written at) and the parts `reconciler#sources#<n>` (the compressed sources, each naming that version).
Every save is conditioned on the version this runner read, so a runner that was replaced (its lease taken over
while it was paused) cannot overwrite its successor's state: its save is refused and it reads the state again
next pass.
A save that changes the sources writes the head and every part in one `TransactWriteItems`; one that only moves
the watermark updates the head alone. Every call has a timeout; keys DynamoDB leaves unprocessed are asked
again a bounded number of times, with growing pauses, after which the pass fails (the next one tries again).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.coverage_state import SavedState, decode_sources, encode_sources
from worker.errors import ServiceUnavailable

HEAD = "reconciler#state"
PART = "reconciler#sources#"
BATCH_KEYS = 100  # BatchGetItem's limit
CALL_TIMEOUT = 30.0
ATTEMPTS = 6  # BatchGetItem calls per batch, the first included, while keys stay unprocessed
LOAD_ATTEMPTS = 3  # reads of head + parts while a writer changes them in between
LOST_RACE = ("TransactionCanceledException", "ConditionalCheckFailedException")


def _number(value: Any) -> float | None:
    if isinstance(value, dict) and "N" in value:
        return float(Decimal(value["N"]))
    return None


@translate_errors
class CoverageStore:
    def __init__(
        self, client: Any, table: str, *, call_timeout: float = CALL_TIMEOUT, attempts: int = ATTEMPTS
    ) -> None:
        self._client = client
        self.table = table
        self.call_timeout = call_timeout
        self.attempts = attempts
        self.pause = 0.05  # before the first retry of unprocessed keys; doubled each time, at most 2 s

    async def last_passed_many(self, source_arns: Sequence[str]) -> dict[str, float]:
        """Each source's last PASSED validation (Unix seconds), for those that have one; consistent reads."""
        pks = [f"src#{arn}" for arn in dict.fromkeys(source_arns)]
        found: dict[str, float] = {}
        for start in range(0, len(pks), BATCH_KEYS):
            for item in await self._batch_get(pks[start : start + BATCH_KEYS], ("pk", "last_passed_at")):
                passed = _number(item.get("last_passed_at"))
                if passed is not None:
                    found[item["pk"]["S"].removeprefix("src#")] = passed
        return found

    async def load(self, known_version: int) -> SavedState | None:
        """The stored state, or None when it is still `known_version` (this runner's memory is current)."""
        for _ in range(LOAD_ATTEMPTS):
            head = await self._call(self._client.get_item(TableName=self.table, Key=_key(HEAD), ConsistentRead=True))
            item = head.get("Item")
            version = int(_number((item or {}).get("version")) or 0)
            if version == known_version:
                return None
            if item is None:
                return SavedState()
            state = await self._state(item, version)
            if state is not None:
                return state
        return SavedState(version=version)  # changing under us each time: start from nothing, list everything

    async def _state(self, head: dict[str, Any], version: int) -> SavedState | None:
        count = int(_number(head.get("parts")) or 0)
        watermark = _number(head.get("listed_until"))
        state = SavedState(version=version, parts=count)
        if count == 0 or watermark is None:
            return state  # the sources were not stored (too many): the next pass lists everything
        items = await self._batch_get([f"{PART}{n}" for n in range(count)], ("pk", "version", "part"))
        parts = {item["pk"]["S"]: item for item in items}
        ordered = [parts.get(f"{PART}{n}") for n in range(count)]
        parts_version = _number(head.get("parts_version"))
        if any(part is None or _number(part.get("version")) != parts_version for part in ordered):
            return None  # a save landed between the two reads
        stored = [bytes(p["part"]["B"]) for p in ordered if p]
        state.sources, state.reported_stopped, state.vaults = decode_sources(stored)
        state.listed_until = datetime.fromtimestamp(watermark, UTC)
        return state

    async def save(self, state: SavedState, sources_changed: bool) -> int | None:
        """Store `state` over the version it was read at; its new version, or None if another runner wrote
        since (nothing is written then)."""
        try:
            if state.version > 0 and state.parts > 0 and not sources_changed and state.listed_until is not None:
                await self._call(
                    self._client.update_item(
                        TableName=self.table,
                        Key=_key(HEAD),
                        UpdateExpression="SET #v = :new, listed_until = :until",
                        ConditionExpression="#v = :old",
                        ExpressionAttributeNames={"#v": "version"},
                        ExpressionAttributeValues={
                            ":new": {"N": str(state.version + 1)},
                            ":old": {"N": str(state.version)},
                            ":until": {"N": repr(state.listed_until.timestamp())},
                        },
                    )
                )
                return state.version + 1
            parts = encode_sources(state.sources, state.reported_stopped, state.vaults)
            await self._call(self._client.transact_write_items(TransactItems=self._writes(state, parts)))
        except ClientError as exc:
            if error_code(exc) in LOST_RACE:
                return None
            raise
        state.parts = len(parts or [])
        return state.version + 1

    def _writes(self, state: SavedState, parts: list[bytes] | None) -> list[dict[str, Any]]:
        """The head (conditioned on the version read) and every part; surplus parts of the old state deleted.
        Without parts (too many sources) the head says so and keeps no watermark: the next runner lists all."""
        new = str(state.version + 1)
        parts = parts if state.listed_until is not None else None
        head: dict[str, Any] = {
            "pk": {"S": HEAD},
            "version": {"N": new},
            "parts": {"N": str(len(parts or []))},
            "parts_version": {"N": new},  # what the parts say; a save of the watermark alone keeps it
        }
        if parts is not None and state.listed_until is not None:
            head["listed_until"] = {"N": repr(state.listed_until.timestamp())}
        put: dict[str, Any] = {"TableName": self.table, "Item": head}
        if state.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#v = :old"
            put["ExpressionAttributeNames"] = {"#v": "version"}
            put["ExpressionAttributeValues"] = {":old": {"N": str(state.version)}}
        writes: list[dict[str, Any]] = [{"Put": put}]
        for n, part in enumerate(parts or []):
            item = {"pk": {"S": f"{PART}{n}"}, "version": {"N": new}, "part": {"B": part}}
            writes.append({"Put": {"TableName": self.table, "Item": item}})
        for n in range(len(parts or []), state.parts):
            writes.append({"Delete": {"TableName": self.table, "Key": _key(f"{PART}{n}")}})
        return writes

    async def _batch_get(self, pks: list[str], attributes: Sequence[str]) -> list[dict[str, Any]]:
        names = {f"#a{n}": name for n, name in enumerate(attributes)}  # aliased: no reserved word can clash
        request: dict[str, Any] = {
            self.table: {
                "Keys": [_key(pk) for pk in pks],
                "ConsistentRead": True,
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
        }
        items: list[dict[str, Any]] = []
        for attempt in range(self.attempts):
            response = await self._call(self._client.batch_get_item(RequestItems=request))
            items += response.get("Responses", {}).get(self.table, [])
            request = response.get("UnprocessedKeys") or {}
            if not request.get(self.table, {}).get("Keys"):
                return items
            if attempt + 1 < self.attempts:
                await asyncio.sleep(min(2.0, self.pause * 2**attempt) * random.uniform(0.5, 1.0))
        left = len(request[self.table]["Keys"])
        raise ServiceUnavailable(f"BatchGetItem left {left} of {len(pks)} keys unprocessed after {self.attempts} calls")

    async def _call(self, call: Any) -> Any:
        return await asyncio.wait_for(call, self.call_timeout)


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}
