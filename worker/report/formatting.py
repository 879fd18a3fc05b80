"""How figures read in the text table, the CSV and the HTML: one spelling everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def short_name(arn: str) -> str:
    """`arn:aws:rds:us-east-1:123:db:orders` -> `orders`; anything else unchanged."""
    return arn.rsplit(":", 1)[-1] if arn.startswith("arn:") else arn


def minutes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.1f}"


def age(hours: float | None) -> str:
    if hours is None:
        return "never"
    if hours < 1:
        return f"{round(hours * 60)}m ago"
    if hours < 48:
        return f"{hours:.1f}h ago"
    return f"{hours / 24:.1f}d ago"


def moment(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def cell(value: Any) -> str:
    """A value as CSV text: ISO-8601 UTC times, empty for null."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ratio(passed: int, runs: int) -> str:
    return "-" if not runs else f"{100.0 * passed / runs:.0f}%"
