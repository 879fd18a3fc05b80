"""The policy file's field types: durations, table and column names, ARN globs, accounts, plugin references.
Each validator raises a message that the policy's error report places on the file's line."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, PlainValidator

from worker.durations import DURATION_HINT, format_duration, parse_duration

# AWS Backup's resource type names; checked so that "RSD" fails at start-up instead of matching nothing.
RESOURCE_TYPES = (
    "Aurora", "CloudFormation", "DocumentDB", "DynamoDB", "EBS", "EC2", "EFS", "FSx", "Neptune", "RDS",
    "Redshift", "S3", "SAP HANA on Amazon EC2", "Storage Gateway", "Timestream", "VirtualMachine",
)  # fmt: skip

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"
_TABLE_NAME = re.compile(rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})?")
_ACCOUNT_ID = re.compile(r"\d{12}")


# ---- field types ---------------------------------------------------------------------------------


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a duration string ({DURATION_HINT}), got {value!r}")
    return parse_duration(value)


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


# PostgreSQL's statement_timeout is an int of milliseconds (MySQL and MariaDB take more): the strictest wins.
MAX_STATEMENT_TIMEOUT = timedelta(milliseconds=2_147_483_647)
MAX_NAME_LENGTH = 128


def _statement_timeout(value: timedelta) -> timedelta:
    if value > MAX_STATEMENT_TIMEOUT:
        raise ValueError(
            f"must be at most {format_duration(MAX_STATEMENT_TIMEOUT)} "
            "(PostgreSQL's statement_timeout is at most 2147483647 ms)"
        )
    if value.total_seconds() < 0.001:
        raise ValueError("must be at least 1 ms")
    return value


def table_name_parts(name: str) -> tuple[str, ...]:
    """`"sales.orders"` -> `("sales", "orders")`; ValueError unless a plain, maybe schema-qualified, name."""
    if not _TABLE_NAME.fullmatch(name):
        raise ValueError(f'invalid table name "{name}" (letters, digits, _ and $, optionally "schema.table")')
    return tuple(name.split("."))


def _table_name(name: str) -> str:
    table_name_parts(name)
    return name


def _column_name(name: str) -> str:
    if not re.fullmatch(_IDENTIFIER, name):
        raise ValueError(f'invalid column name "{name}" (letters, digits, _ and $)')
    return name


def _expected_value(value: object) -> bool | int | float | str:
    if not isinstance(value, bool | int | float | str):
        raise ValueError(f"expect must be a number, string or boolean, got {value!r}")
    return value


def _arn_glob(pattern: str) -> str:
    if pattern != "*" and not pattern.startswith("arn:"):
        raise ValueError(f'invalid glob "{pattern}": use "*" or an ARN pattern starting with "arn:"')
    if pattern.count("[") != pattern.count("]"):
        raise ValueError(f'invalid glob "{pattern}": unbalanced [ ]')
    return pattern


def _account_ids(value: object) -> object:
    ids = [value] if isinstance(value, str) else value
    if isinstance(ids, list):
        for account in ids:
            if not isinstance(account, str) or not _ACCOUNT_ID.fullmatch(account):
                raise ValueError(f"invalid account id {account!r} (12 digits, as a string)")
    return ids


def _resource_type(value: str) -> str:
    for known in RESOURCE_TYPES:
        if value.lower() == known.lower():
            return known
    raise ValueError(f'unknown resource type "{value}" (one of: {", ".join(RESOURCE_TYPES)})')


@functools.cache
def import_callable(reference: str) -> Callable[..., Any]:
    """`"package.module:function"` -> the function (attribute paths like `module:Class.method` work too)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f'invalid function "{reference}" (use "package.module:callable")')
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except Exception as exc:  # noqa: BLE001 - importing user code can fail in any way; report, don't crash
        raise ValueError(f'cannot import "{reference}": {type(exc).__name__}: {exc}') from None
    if not callable(target):
        raise ValueError(f'"{reference}" is not callable')
    return target  # type: ignore[no-any-return]


def _importable(reference: str) -> str:
    import_callable(reference)
    return reference


Duration = Annotated[timedelta, BeforeValidator(_duration)]
PositiveDuration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_positive)]
StatementTimeout = Annotated[
    timedelta, BeforeValidator(_duration), AfterValidator(_positive), AfterValidator(_statement_timeout)
]
NonEmptyStr = Annotated[str, Field(min_length=1)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
TableName = Annotated[str, AfterValidator(_table_name)]
ColumnName = Annotated[str, AfterValidator(_column_name)]
ExpectedValue = Annotated[bool | int | float | str, PlainValidator(_expected_value)]
ArnGlob = Annotated[str, AfterValidator(_arn_glob)]
AccountIds = Annotated[tuple[str, ...], BeforeValidator(_account_ids)]
ResourceType = Annotated[str, AfterValidator(_resource_type)]
PluginReference = Annotated[str, AfterValidator(_importable)]

SPEC = ConfigDict(frozen=True, extra="forbid")
