"""The check kinds a policy declares (`[[selection.check]]`): their schema and default names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from worker.policy_fields import (
    SPEC,
    ColumnName,
    Duration,
    ExpectedValue,
    Name,
    NonEmptyStr,
    PluginReference,
    PositiveDuration,
    TableName,
    import_callable,
)
from worker.policy_table_checks import TABLE_CHECK_MODELS, ReadBudget, TableCheck

# ---- checks --------------------------------------------------------------------------------------


class _Check(BaseModel):
    model_config = SPEC
    name: Name


class FreshnessCheck(_Check):
    """The newest row (the timestamp `query` returns) is recent, relative to now and to the recovery point.
    On a DynamoDB table: the newest value of `attribute` (epoch seconds or ISO-8601), by a `Query` on `index`
    (partition `partition_value`, sorted by the attribute) when given, else a projected Scan within the budget."""

    kind: Literal["freshness"] = "freshness"
    query: NonEmptyStr | None = None
    attribute: NonEmptyStr | None = None
    index: NonEmptyStr | None = None
    partition_value: str | int | float | None = None
    read_budget: float = ReadBudget
    max_age: PositiveDuration
    max_gap: Duration | None = None

    @model_validator(mode="after")
    def _query_or_attribute(self) -> FreshnessCheck:
        if self.query is None and self.attribute is None:
            raise ValueError('missing required key "query" (or "attribute" on a DynamoDB table)')
        if self.query is not None and self.attribute is not None:
            raise ValueError("give a query (SQL) or an attribute (DynamoDB), not both")
        if (self.index is None) != (self.partition_value is None):
            raise ValueError("index and partition_value go together")
        if self.index is not None and self.attribute is None:
            raise ValueError("index needs attribute")
        return self


class RowCountCheck(_Check):
    """`table` has at least `min` rows and lost at most `max_drop` (a fraction) since the previous run."""

    kind: Literal["row_count"] = "row_count"
    table: TableName
    min: int | None = Field(default=None, ge=0)
    max_drop: float | None = Field(default=None, ge=0, le=1)
    where: NonEmptyStr | None = None


class SqlCheck(_Check):
    """`query` returns one value equal to `expect`, or within `expect_min`..`expect_max`."""

    kind: Literal["sql"] = "sql"
    query: NonEmptyStr
    expect: ExpectedValue | None = None
    expect_min: int | float | None = None
    expect_max: int | float | None = None

    @model_validator(mode="after")
    def _one_expectation(self) -> SqlCheck:
        has_range = self.expect_min is not None or self.expect_max is not None
        if self.expect is None and not has_range:
            raise ValueError("give expect, or expect_min and/or expect_max")
        if self.expect is not None and has_range:
            raise ValueError("give either expect or expect_min/expect_max, not both")
        if self.expect_min is not None and self.expect_max is not None and self.expect_min > self.expect_max:
            raise ValueError("expect_min is greater than expect_max")
        return self


class SchemaCheck(_Check):
    """Each table in `tables` exists and has the listed columns."""

    kind: Literal["schema"] = "schema"
    tables: dict[TableName, tuple[ColumnName, ...]] = Field(min_length=1)


class PluginCheck(_Check):
    """A Python check: `async def f(db, ctx, params) -> CheckOutcome` (see worker.checks)."""

    kind: Literal["plugin"] = "plugin"
    function: PluginReference
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def callable(self) -> Callable[..., Any]:
        return import_callable(self.function)


CheckSpec = FreshnessCheck | RowCountCheck | SqlCheck | SchemaCheck | PluginCheck | TableCheck
CHECK_MODELS: dict[str, type[BaseModel]] = {
    **TABLE_CHECK_MODELS,
    "freshness": FreshnessCheck,
    "row_count": RowCountCheck,
    "sql": SqlCheck,
    "schema": SchemaCheck,
    "plugin": PluginCheck,
}


def _default_check_name(check: Mapping[str, Any]) -> str:
    kind = check.get("kind")
    if kind == "row_count" and isinstance(check.get("table"), str):
        return f"row_count:{check['table']}"
    if kind == "plugin" and isinstance(check.get("function"), str):
        return f"plugin:{check['function'].rpartition(':')[2]}"
    return kind if isinstance(kind, str) else "check"


def with_default_names(checks: list[Any]) -> list[Any]:
    """Name unnamed checks `<kind>` / `<kind>:<table>`, suffixed -2, -3 ... where needed to stay unique."""
    taken = {c["name"] for c in checks if isinstance(c, dict) and isinstance(c.get("name"), str)}
    named = []
    for check in checks:
        if isinstance(check, dict) and "name" not in check:
            base = name = _default_check_name(check)
            suffix = 2
            while name in taken:
                name, suffix = f"{base}-{suffix}", suffix + 1
            taken.add(name)
            check = {**check, "name": name}
        named.append(check)
    return named
