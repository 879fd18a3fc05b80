"""Values the checks read from a database, as the record holds them: timestamps, numbers, freshness figures."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from worker.model import as_utc


class CheckError(Exception):
    """The check could not be evaluated (e.g. a freshness query that returns no timestamp)."""


def as_utc_timestamp(value: Any) -> datetime:
    """What a freshness query returned, as an aware UTC datetime; CheckError if it is not a timestamp."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise CheckError(f"the query must return a timestamp, got {type(value).__name__} {to_jsonable(value)!r}")


def to_jsonable(value: Any) -> str | int | float | bool | None:
    """A driver value as something JSON can hold: datetimes as ISO-8601 UTC, Decimals as numbers."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)
