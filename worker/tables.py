"""The DynamoDB table port: what the DynamoDB kind and its checks read, and the values crossing it.

Read-only apart from `delete` (IAM lets the worker delete `bv-` tables and never write items); every read
asks DynamoDB for the capacity it consumed, so each check records its read cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

Key = Mapping[str, Any]  # a key or item in DynamoDB's wire form: {"pk": {"S": "a"}}


@dataclass(frozen=True)
class TableInfo:
    name: str
    arn: str
    status: str
    created_at: datetime | None
    partition_key: str | None
    sort_key: str | None
    indexes: tuple[str, ...] = ()
    index_keys: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)  # index -> (hash, range)
    billing_mode: str = "PROVISIONED"
    stream_enabled: bool = False
    encryption: str = "DEFAULT"


@dataclass(frozen=True)
class Page:
    """One page of a read: its items (or only their count), what it cost, and where the next one starts."""

    items: Sequence[Key]
    count: int
    read_units: float | None  # None when DynamoDB did not report consumed capacity
    next_start: Any = None  # LastEvaluatedKey / NextToken; None on the last page


class TablePort(Protocol):
    async def describe(self, name: str) -> TableInfo | None: ...
    async def delete(self, name: str) -> bool: ...
    async def list_names(self, prefix: str) -> list[str]: ...
    async def scan(
        self, name: str, *, count_only: bool, projection: str | None, limit: int | None, start: Any
    ) -> Page: ...
    async def query_newest(self, name: str, index: str, key_name: str, key_value: Any) -> Page: ...
    async def get_items(self, name: str, keys: Sequence[Key]) -> Page: ...
    async def execute(self, statement: str, start: Any) -> Page: ...


def to_wire(value: Any) -> dict[str, Any]:
    """A policy value (TOML string, number or boolean) as a DynamoDB attribute value."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    return {"S": str(value)}


def from_wire(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as a plain value: numbers as text-exact int/float, other types as their text."""
    if "S" in value:
        return value["S"]
    if "N" in value:
        number = float(value["N"])
        return int(number) if number.is_integer() and "." not in value["N"] else number
    if "BOOL" in value:
        return bool(value["BOOL"])
    if "NULL" in value:
        return None
    return str(next(iter(value.values()), None))
