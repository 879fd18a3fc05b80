"""The check kinds of DynamoDB tables (`resource_type = "DynamoDB"` selections): their schema.

Every kind that reads items has a read budget in read capacity units: a check stops and reports "budget
exceeded" (ERROR, with the units used) rather than read a huge table without bound. `freshness` is shared with
the SQL kinds (policy_checks.FreshnessCheck): on a table it names an `attribute` instead of a `query`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from worker.policy_fields import SPEC, ExpectedValue, NonEmptyStr

# DynamoDB reads an eventually consistent 1 MB Scan page for 128 read units: the default budget allows a few.
DEFAULT_READ_BUDGET = 500.0
TABLE_KINDS = frozenset({"item_count", "partiql", "items", "table"})
KeyValue = str | int | float
ReadBudget = Field(default=DEFAULT_READ_BUDGET, gt=0)


class _Check(BaseModel):
    model_config = SPEC
    name: NonEmptyStr


class ItemCountCheck(_Check):
    """The exact item count (paginated `Scan`, `Select=COUNT`) is at least `min` and dropped at most `max_drop`
    (a fraction) since the previous run; `page_size` caps a Scan page's items (DynamoDB's own cap is 1 MB)."""

    kind: Literal["item_count"] = "item_count"
    min: int | None = Field(default=None, ge=0)
    max_drop: float | None = Field(default=None, ge=0, le=1)
    read_budget: float = ReadBudget
    page_size: int | None = Field(default=None, ge=1)


class PartiqlCheck(_Check):
    """A PartiQL SELECT (`ExecuteStatement`) returns `expect` (one item with one attribute), or `expect_rows`
    items. Read-only: any statement but a single SELECT is refused when the policy loads."""

    kind: Literal["partiql"] = "partiql"
    statement: NonEmptyStr
    expect: ExpectedValue | None = None
    expect_rows: int | None = Field(default=None, ge=0)
    read_budget: float = ReadBudget

    @field_validator("statement")
    @classmethod
    def _select_only(cls, statement: str) -> str:
        text = statement.strip().rstrip(";").strip()
        if not re.match(r"(?is)select\s", text) or ";" in text:
            raise ValueError("only a single SELECT statement is allowed (checks never write)")
        return text

    @model_validator(mode="after")
    def _one_expectation(self) -> PartiqlCheck:
        if (self.expect is None) == (self.expect_rows is None):
            raise ValueError("give exactly one of expect and expect_rows")
        return self


class ExpectedItem(BaseModel):
    model_config = SPEC
    key: dict[NonEmptyStr, KeyValue] = Field(min_length=1, max_length=2)
    attributes: dict[NonEmptyStr, ExpectedValue] = Field(default_factory=dict)


class ItemsCheck(_Check):
    """Each listed key exists (`BatchGetItem`), with the listed attribute values where given."""

    kind: Literal["items"] = "items"
    items: tuple[ExpectedItem, ...] = Field(min_length=1, max_length=100)


class TableSettingsCheck(_Check):
    """The restored table's settings, each only where given: key attributes, index names, billing mode,
    stream, encryption (`DEFAULT` for DynamoDB's owned key, `KMS`)."""

    kind: Literal["table"] = "table"
    partition_key: NonEmptyStr | None = None
    sort_key: NonEmptyStr | None = None
    indexes: tuple[NonEmptyStr, ...] | None = None
    billing_mode: Literal["PROVISIONED", "PAY_PER_REQUEST"] | None = None
    stream_enabled: bool | None = None
    encryption: Literal["DEFAULT", "KMS"] | None = None

    @model_validator(mode="after")
    def _something(self) -> TableSettingsCheck:
        settings = self.model_dump(exclude={"name", "kind"}, exclude_none=True)
        if not settings:
            raise ValueError("give at least one expected setting")
        return self


TableCheck = ItemCountCheck | PartiqlCheck | ItemsCheck | TableSettingsCheck
TABLE_CHECK_MODELS: dict[str, type[BaseModel]] = {
    "item_count": ItemCountCheck,
    "partiql": PartiqlCheck,
    "items": ItemsCheck,
    "table": TableSettingsCheck,
}


def for_tables(check: Any) -> bool:
    """Whether a check reads a DynamoDB table (a table kind, or a freshness check on an attribute)."""
    return check.kind in TABLE_KINDS or (check.kind == "freshness" and getattr(check, "attribute", None) is not None)
