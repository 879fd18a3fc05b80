"""The validation policy: which recovery points to validate, how to restore them and which checks to run.

The file is TOML (see docs/policy.md). It is validated completely at start-up, and every problem is reported
with the file's line number, because a typo that silently disabled a check would be worse than no check: the
validation would keep passing. Hence unknown keys are errors and plugin functions are imported at load time.

Two layers: the `*Spec` pydantic models are the file's schema; `Policy` and `Selection` are what callers use,
with the selection's effective settings already merged over `[defaults]`.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    model_validator,
)

from worker.durations import DURATION_HINT, format_duration, parse_duration
from worker.policy_bounds import DeploymentBounds, SelectionBounds, bound_problems
from worker.policy_errors import CHECK_KINDS, Loc, PolicyError, item_at, policy_error, syntax_error, validation_problem

__all__ = ["CHECK_KINDS", "Policy", "PolicyError", "Selection", "load_policy", "parse_policy"]

_T = TypeVar("_T")

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
# With at most this many checks, each bounded in size (worker.stages.report), a record fits everywhere it goes.
MAX_CHECKS = 50
MAX_NAME_LENGTH = 128
# How long a check gets beyond its statement timeout unless `check_timeout` says otherwise: reconnecting after a
# lost connection, the client's own grace on the query, transaction control.
CHECK_TIMEOUT_MARGIN = timedelta(seconds=30)


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

_SPEC = ConfigDict(frozen=True, extra="forbid")


# ---- checks --------------------------------------------------------------------------------------


class _Check(BaseModel):
    model_config = _SPEC
    name: Name


class FreshnessCheck(_Check):
    """The newest row (the timestamp `query` returns) is recent, relative to now and to the recovery point."""

    kind: Literal["freshness"] = "freshness"
    query: NonEmptyStr
    max_age: PositiveDuration
    max_gap: Duration | None = None


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
    """A Python check: `async def f(db, ctx, params) -> CheckOutcome` (see worker.stages.checks)."""

    kind: Literal["plugin"] = "plugin"
    function: PluginReference
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def callable(self) -> Callable[..., Any]:
        return import_callable(self.function)


CheckSpec = FreshnessCheck | RowCountCheck | SqlCheck | SchemaCheck | PluginCheck
_CHECK_MODELS: dict[str, type[_Check]] = {
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


def _with_default_names(checks: list[Any]) -> list[Any]:
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


# ---- the file's schema ---------------------------------------------------------------------------


class DefaultsSpec(BaseModel):
    model_config = _SPEC
    db_instance_class: NonEmptyStr = "db.t4g.micro"
    db_subnet_group: NonEmptyStr | None = None
    vpc_security_group_ids: tuple[NonEmptyStr, ...] = ()
    restore_timeout: PositiveDuration = timedelta(hours=6)
    statement_timeout: StatementTimeout = timedelta(seconds=60)
    check_timeout: PositiveDuration | None = None
    check_budget: PositiveDuration | None = None
    min_interval: Duration = timedelta(0)
    database: NonEmptyStr | None = None
    rpo_target: Duration | None = None
    rto_target: Duration | None = None


class RestoreSpec(BaseModel):
    model_config = _SPEC
    db_instance_class: NonEmptyStr | None = None
    db_subnet_group: NonEmptyStr | None = None
    vpc_security_group_ids: tuple[NonEmptyStr, ...] | None = None
    parameters: dict[str, str] = Field(default_factory=dict)


class SelectionSpec(BaseModel):
    model_config = _SPEC
    name: Name
    resource_type: ResourceType | None = None
    source_arn: ArnGlob = "*"
    source_account: AccountIds = ()
    tags: dict[NonEmptyStr, str] = Field(default_factory=dict)
    min_interval: Duration | None = None
    rpo_target: Duration | None = None
    rto_target: Duration | None = None
    restore: RestoreSpec = RestoreSpec()
    restore_timeout: PositiveDuration | None = None
    statement_timeout: StatementTimeout | None = None
    check_timeout: PositiveDuration | None = None
    check_budget: PositiveDuration | None = None
    database: NonEmptyStr | None = None
    checks: tuple[Annotated[CheckSpec, Field(discriminator="kind")], ...] = Field(
        default=(), alias="check", max_length=MAX_CHECKS
    )

    @model_validator(mode="before")
    @classmethod
    def _name_checks(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("check"), list):
            return {**data, "check": _with_default_names(data["check"])}
        return data

    @property
    def matches_everything(self) -> bool:
        return (self.resource_type, self.source_arn, self.source_account, self.tags) == (None, "*", (), {})


class PolicyFile(BaseModel):
    model_config = _SPEC
    defaults: DefaultsSpec = DefaultsSpec()
    selections: tuple[SelectionSpec, ...] = Field(default=(), alias="selection")


# ---- what callers use ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreSettings:
    db_instance_class: str
    db_subnet_group: str | None
    vpc_security_group_ids: tuple[str, ...]
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class Selection:
    """One `[[selection]]` with its effective settings (its own where given, else `[defaults]`)."""

    name: str
    resource_type: str | None
    source_arn: str
    source_accounts: tuple[str, ...]
    tags: Mapping[str, str]
    min_interval: timedelta
    rpo_target: timedelta | None
    rto_target: timedelta | None
    restore: RestoreSettings
    restore_timeout: timedelta
    statement_timeout: timedelta
    check_timeout: timedelta  # one check, whatever it does
    check_budget: timedelta  # the whole check phase
    database: str | None
    checks: tuple[CheckSpec, ...]

    def matches(
        self,
        resource_type: str | None,
        source_arn: str,
        account_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> bool:
        """Every condition given must hold; a condition on something the caller does not know fails."""
        if self.resource_type is not None and (resource_type or "").lower() != self.resource_type.lower():
            return False
        if not fnmatch.fnmatchcase(source_arn, self.source_arn):
            return False
        if self.source_accounts and account_id not in self.source_accounts:
            return False
        return all(
            tags is not None and key in tags and fnmatch.fnmatchcase(tags[key], pattern)
            for key, pattern in self.tags.items()
        )


@dataclass(frozen=True)
class Policy:
    source: str
    selections: tuple[Selection, ...]

    def match(
        self,
        resource_type: str | None,
        source_arn: str,
        account_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Selection | None:
        """The first selection, in file order, that the source resource matches."""
        for selection in self.selections:
            if selection.matches(resource_type, source_arn, account_id, tags):
                return selection
        return None

    @property
    def uses_tags(self) -> bool:
        """Whether any selection looks at tags (else the recovery point's tags need not be read)."""
        return any(selection.tags for selection in self.selections)

    def selection(self, name: str) -> Selection | None:
        return next((s for s in self.selections if s.name == name), None)


def _pick(override: _T | None, default: _T) -> _T:
    return default if override is None else override


def _resolve(spec: SelectionSpec, defaults: DefaultsSpec) -> Selection:
    restore = RestoreSettings(
        db_instance_class=_pick(spec.restore.db_instance_class, defaults.db_instance_class),
        db_subnet_group=_pick(spec.restore.db_subnet_group, defaults.db_subnet_group),
        vpc_security_group_ids=_pick(spec.restore.vpc_security_group_ids, defaults.vpc_security_group_ids),
        parameters=dict(spec.restore.parameters),
    )
    statement_timeout = _pick(spec.statement_timeout, defaults.statement_timeout)
    check_timeout = _pick(spec.check_timeout, defaults.check_timeout) or statement_timeout + CHECK_TIMEOUT_MARGIN
    return Selection(
        name=spec.name,
        resource_type=spec.resource_type,
        source_arn=spec.source_arn,
        source_accounts=spec.source_account,
        tags=dict(spec.tags),
        min_interval=_pick(spec.min_interval, defaults.min_interval),
        rpo_target=_pick(spec.rpo_target, defaults.rpo_target),
        rto_target=_pick(spec.rto_target, defaults.rto_target),
        restore=restore,
        restore_timeout=_pick(spec.restore_timeout, defaults.restore_timeout),
        statement_timeout=statement_timeout,
        check_timeout=check_timeout,
        check_budget=_pick(spec.check_budget, defaults.check_budget) or check_timeout * max(1, len(spec.checks)),
        database=_pick(spec.database, defaults.database),
        checks=spec.checks,
    )


# ---- loading, and errors that point at the line --------------------------------------------------


def load_policy(path: str | Path, deployment: DeploymentBounds | None = None) -> Policy:
    """Read and validate the policy file; PolicyError (with a line number where possible) on any problem.
    With `deployment`, the selections' bounds must also fit the deployment's (worker.policy_bounds)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(path), None, f"cannot read the policy: {type(exc).__name__}: {exc}") from None
    return parse_policy(text, source=str(path), deployment=deployment)


def parse_policy(text: str, source: str = "<policy>", deployment: DeploymentBounds | None = None) -> Policy:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise syntax_error(exc, text, source) from None
    try:
        spec = PolicyFile.model_validate(raw)
    except ValidationError as exc:
        problems = [validation_problem(error) for error in exc.errors(include_url=False)]
        raise policy_error(problems, raw, text, source, _allowed_keys) from None
    selections = tuple(_resolve(selection, spec.defaults) for selection in spec.selections)
    problems = _cross_checks(spec) + bound_problems(_bounds(spec, selections), deployment)
    if problems:
        raise policy_error(problems, raw, text, source, _allowed_keys)
    return Policy(source, selections)


def _bounds(spec: PolicyFile, selections: Sequence[Selection]) -> list[SelectionBounds]:
    """Each selection's bounds, with the place in the file that sets each (for the error's line)."""
    found = []
    for index, (selection_spec, selection) in enumerate(zip(spec.selections, selections, strict=True)):
        set_in: dict[str, Loc] = {}
        for key in ("restore_timeout", "statement_timeout", "check_timeout", "check_budget"):
            if key in selection_spec.model_fields_set:
                set_in[key] = ("selection", index, key)
            elif key in spec.defaults.model_fields_set:
                set_in[key] = ("defaults", key)
            else:
                set_in[key] = ("selection", index)
        found.append(
            SelectionBounds(
                index,
                selection.restore_timeout,
                selection.statement_timeout,
                selection.check_timeout,
                selection.check_budget,
                set_in,
            )
        )
    return found


def _cross_checks(spec: PolicyFile) -> list[tuple[Loc, str]]:
    """What no single field can know: unique names, and no selection hidden behind a catch-all."""
    problems: list[tuple[Loc, str]] = []
    if not spec.selections:
        problems.append(((), "no [[selection]] table: nothing would ever be validated"))
    seen: set[str] = set()
    for index, selection in enumerate(spec.selections):
        if selection.name in seen:
            problems.append((("selection", index, "name"), f'duplicate selection name "{selection.name}"'))
        seen.add(selection.name)
        if selection.matches_everything and index < len(spec.selections) - 1:
            problem = "matches every recovery point, so the selections after it can never match"
            problems.append((("selection", index), problem))
        check_names: set[str] = set()
        for number, check in enumerate(selection.checks):
            if check.name in check_names:
                problems.append((("selection", index, "check", number, "name"), "duplicate check name"))
            check_names.add(check.name)
    return problems


def _allowed_keys(loc: Loc, raw: Mapping[str, Any]) -> list[str]:
    """The keys the table enclosing `loc` allows (for "did you mean" hints)."""
    tables: dict[Loc, type[BaseModel]] = {(): PolicyFile, ("defaults",): DefaultsSpec}
    model = tables.get(loc[:-1])
    if loc[:1] == ("selection",) and len(loc) >= 3 and isinstance(loc[1], int):
        selection = item_at(raw.get("selection"), loc[1])
        if len(loc) == 3:
            model = SelectionSpec
        elif loc[2] == "restore" and len(loc) == 4:
            model = RestoreSpec
        elif loc[2] == "check" and len(loc) == 5 and isinstance(loc[3], int):
            model = _CHECK_MODELS.get(str(item_at(selection.get("check"), loc[3]).get("kind")))
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items() if name != "kind"]
