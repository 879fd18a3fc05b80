"""DynamoDB tables restored for validation: describe, read (with the capacity each read consumed), delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.tables import Key, Page, TableInfo

_CAPACITY = "TOTAL"


def _keys(schema: list[dict[str, str]]) -> tuple[str | None, str | None]:
    by_type = {part["KeyType"]: part["AttributeName"] for part in schema}
    return by_type.get("HASH"), by_type.get("RANGE")


def _table(raw: dict[str, Any]) -> TableInfo:
    indexes = [*raw.get("GlobalSecondaryIndexes", []), *raw.get("LocalSecondaryIndexes", [])]
    partition, sort = _keys(raw.get("KeySchema", []))
    sse = raw.get("SSEDescription") or {}
    stream = raw.get("StreamSpecification") or {}
    return TableInfo(
        name=raw["TableName"],
        arn=raw.get("TableArn", ""),
        status=raw.get("TableStatus", ""),
        created_at=raw.get("CreationDateTime"),
        partition_key=partition,
        sort_key=sort,
        indexes=tuple(sorted(index["IndexName"] for index in indexes)),
        index_keys={index["IndexName"]: _keys(index["KeySchema"]) for index in indexes},
        billing_mode=(raw.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
        stream_enabled=bool(stream.get("StreamEnabled")),
        encryption="KMS" if sse.get("SSEType") == "KMS" and sse.get("Status") in ("ENABLED", "UPDATING") else "DEFAULT",
    )


def _units(consumed: Any) -> float | None:
    """CapacityUnits of one ConsumedCapacity, or the sum of a list of them (BatchGetItem)."""
    if isinstance(consumed, list):
        parts = [_units(part) for part in consumed]
        known = [part for part in parts if part is not None]
        return sum(known) if known else None
    if isinstance(consumed, dict) and consumed.get("CapacityUnits") is not None:
        return float(consumed["CapacityUnits"])
    return None


@translate_errors
class DynamoDbTables:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def describe(self, name: str) -> TableInfo | None:
        try:
            response = await self._client.describe_table(TableName=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        return _table(response["Table"])

    async def delete(self, name: str) -> bool:
        """True when deleted (or already being deleted), False when it did not exist. A table DeleteTable refuses
        as in use for another reason (CREATING, UPDATING) raises: the caller records FAILED, the sweeper retries."""
        try:
            await self._client.delete_table(TableName=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            if error_code(exc) == "ResourceInUseException":
                table = await self.describe(name)
                if table is None:
                    return False
                if table.status == "DELETING":
                    return True
            raise
        return True

    async def list_names(self, prefix: str) -> list[str]:
        names: list[str] = []
        async for page in self._client.get_paginator("list_tables").paginate():
            names.extend(name for name in page.get("TableNames", []) if name.startswith(prefix))
        return names

    async def scan(self, name: str, *, count_only: bool, projection: str | None, limit: int | None, start: Any) -> Page:
        request: dict[str, Any] = {"TableName": name, "ReturnConsumedCapacity": _CAPACITY}
        if count_only:
            request["Select"] = "COUNT"
        if projection:
            # An expression attribute name: the attribute may be a reserved word.
            request["ProjectionExpression"] = "#a"
            request["ExpressionAttributeNames"] = {"#a": projection}
        if limit:
            request["Limit"] = limit
        if start:
            request["ExclusiveStartKey"] = start
        raw = await self._client.scan(**request)
        units = _units(raw.get("ConsumedCapacity"))
        return Page(raw.get("Items", []), int(raw.get("Count", 0)), units, raw.get("LastEvaluatedKey"))

    async def query_newest(self, name: str, index: str, key_name: str, key_value: Any) -> Page:
        """The first item of one partition of `index` in descending sort-key order."""
        raw = await self._client.query(
            TableName=name,
            IndexName=index,
            KeyConditionExpression="#k = :v",
            ExpressionAttributeNames={"#k": key_name},
            ExpressionAttributeValues={":v": key_value},
            ScanIndexForward=False,
            Limit=1,
            ReturnConsumedCapacity=_CAPACITY,
        )
        return Page(raw.get("Items", []), int(raw.get("Count", 0)), _units(raw.get("ConsumedCapacity")))

    async def get_items(self, name: str, keys: Sequence[Key]) -> Page:
        """The items of `keys` that exist (BatchGetItem, unprocessed keys asked again)."""
        found: list[Key] = []
        units: list[float] = []
        pending: dict[str, Any] = {name: {"Keys": list(keys), "ConsistentRead": True}}
        while pending:
            raw = await self._client.batch_get_item(RequestItems=pending, ReturnConsumedCapacity=_CAPACITY)
            found.extend(raw.get("Responses", {}).get(name, []))
            cost = _units(raw.get("ConsumedCapacity"))
            units += [cost] if cost is not None else []
            pending = raw.get("UnprocessedKeys") or {}
        return Page(found, len(found), sum(units) if units else None)

    async def execute(self, statement: str, start: Any) -> Page:
        request: dict[str, Any] = {"Statement": statement, "ReturnConsumedCapacity": _CAPACITY}
        if start:
            request["NextToken"] = start
        raw = await self._client.execute_statement(**request)
        items = raw.get("Items", [])
        return Page(items, len(items), _units(raw.get("ConsumedCapacity")), raw.get("NextToken"))
