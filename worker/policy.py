"""The validation policy: which recovery points to validate, how to restore them and which checks to run.

The file is TOML (see docs/policy.md). It is validated completely at start-up, and every problem is reported
with the file's line number, because a typo that silently disabled a check would be worse than no check: the
validation would keep passing. Hence unknown keys are errors and plugin functions are imported at load time.

Two layers: the `*Spec` pydantic models are the file's schema; `Policy` and `Selection` are what callers use,
with the selection's effective settings already merged over `[defaults]`.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, ValidationError, model_validator

from worker.policy_bounds import DeploymentBounds, SelectionBounds, bound_problems, where_set
from worker.policy_checks import (
    CHECK_MODELS,
    CheckSpec,
    FreshnessCheck,
    PluginCheck,
    RowCountCheck,
    SchemaCheck,
    SqlCheck,
    with_default_names,
)
from worker.policy_errors import CHECK_KINDS, Loc, PolicyError, item_at, policy_error, syntax_error, validation_problem
from worker.policy_fields import (
    SPEC,
    AccountIds,
    ArnGlob,
    Duration,
    Name,
    NonEmptyStr,
    PositiveDuration,
    ResourceType,
    StatementTimeout,
    table_name_parts,
)
from worker.policy_kinds import kind_mismatches
from worker.policy_table_checks import for_tables

__all__ = [
    "CHECK_KINDS",
    "CheckSpec",
    "FreshnessCheck",
    "PluginCheck",
    "Policy",
    "PolicyError",
    "RowCountCheck",
    "SchemaCheck",
    "Selection",
    "SqlCheck",
    "load_policy",
    "parse_policy",
    "table_name_parts",
]

_T = TypeVar("_T")

# With at most this many checks, each bounded in size (worker.record), a record fits everywhere it goes.
MAX_CHECKS = 50
# How long a check gets beyond its statement timeout unless `check_timeout` says otherwise: reconnecting after a
# lost connection, the client's own grace on the query, transaction control.
CHECK_TIMEOUT_MARGIN = timedelta(seconds=30)


# ---- the file's schema ---------------------------------------------------------------------------


class DefaultsSpec(BaseModel):
    model_config = SPEC
    db_instance_class: NonEmptyStr = "db.t4g.micro"
    # The instance added to a restored Aurora cluster (db.t4g.micro does not exist for Aurora).
    aurora_instance_class: NonEmptyStr = "db.t4g.medium"
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


class ServerlessSpec(BaseModel):
    """Aurora Serverless v2 capacity for the restored cluster; its instance is then `db.serverless`."""

    model_config = SPEC
    min_capacity: Annotated[float, Field(ge=0, le=256, multiple_of=0.5)] = 0.5
    max_capacity: Annotated[float, Field(ge=1, le=256, multiple_of=0.5)] = 1.0


class RestoreSpec(BaseModel):
    model_config = SPEC
    db_instance_class: NonEmptyStr | None = None
    serverless_v2: ServerlessSpec | None = None
    db_subnet_group: NonEmptyStr | None = None
    vpc_security_group_ids: tuple[NonEmptyStr, ...] | None = None
    parameters: dict[str, str] = Field(default_factory=dict)


class SelectionSpec(BaseModel):
    model_config = SPEC
    name: Name
    resource_type: ResourceType | None = None
    source_arn: ArnGlob = "*"
    source_account: AccountIds = ()
    tags: dict[NonEmptyStr, str] = Field(default_factory=dict)
    restore_testing_plan: NonEmptyStr | None = None  # name or ARN glob: validate that plan's restore tests
    min_interval: Duration | None = None
    rpo_target: Duration | None = None
    rto_target: Duration | None = None
    coverage_slo: PositiveDuration | None = None  # the reconciler's SLO for this selection's sources
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
            return {**data, "check": with_default_names(data["check"])}
        return data

    @property
    def matches_everything(self) -> bool:
        fields = (self.resource_type, self.source_arn, self.source_account, self.tags, self.restore_testing_plan)
        return fields == (None, "*", (), {}, None)


class PolicyFile(BaseModel):
    model_config = SPEC
    defaults: DefaultsSpec = DefaultsSpec()
    selections: tuple[SelectionSpec, ...] = Field(default=(), alias="selection")


# ---- what callers use ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreSettings:
    db_instance_class: str
    db_subnet_group: str | None
    vpc_security_group_ids: tuple[str, ...]
    parameters: Mapping[str, str]
    aurora_instance_class: str = "db.t4g.medium"
    serverless_v2: tuple[float, float] | None = None  # (min, max) ACUs


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
    restore_testing_plan: str | None = None
    coverage_slo: timedelta | None = None  # None: the deployment's BV_COVERAGE_SLO_HOURS

    def tests_plan(self, plan_arn: str) -> bool:
        """Whether this selection validates restore tests of the plan (its glob against the ARN or the name)."""
        if self.restore_testing_plan is None:
            return False
        name = plan_arn.rsplit(":restore-testing-plan:", 1)[-1]
        return any(fnmatch.fnmatchcase(value, self.restore_testing_plan) for value in (plan_arn, name))

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
        """The first selection, in file order, that the source resource matches. Selections that name a restore
        testing plan are only for that plan's restores (`match_restore_test`), never for backups and copies."""
        for selection in self.selections:
            if selection.restore_testing_plan is None and selection.matches(
                resource_type, source_arn, account_id, tags
            ):
                return selection
        return None

    @property
    def uses_tags(self) -> bool:
        """Whether any selection looks at tags (else the recovery point's tags need not be read)."""
        return any(selection.tags for selection in self.selections)

    def match_restore_test(
        self,
        plan_arn: str,
        resource_type: str | None,
        source_arn: str,
        account_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Selection | None:
        """The first selection naming this restore testing plan whose other conditions the source meets."""
        for selection in self.selections:
            if selection.tests_plan(plan_arn) and selection.matches(resource_type, source_arn, account_id, tags):
                return selection
        return None

    def names_plan(self, plan_arn: str) -> bool:
        return any(selection.tests_plan(plan_arn) for selection in self.selections)

    @property
    def tests_restores(self) -> bool:
        return any(selection.restore_testing_plan is not None for selection in self.selections)

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
        aurora_instance_class=_pick(spec.restore.db_instance_class, defaults.aurora_instance_class),
        serverless_v2=_capacity(spec.restore.serverless_v2),
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
        restore_testing_plan=spec.restore_testing_plan,
        coverage_slo=spec.coverage_slo,
    )


def _capacity(spec: ServerlessSpec | None) -> tuple[float, float] | None:
    return None if spec is None else (spec.min_capacity, spec.max_capacity)


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
    return [
        SelectionBounds(
            index,
            selection.restore_timeout,
            selection.statement_timeout,
            selection.check_timeout,
            selection.check_budget,
            where_set(index, selection_spec.model_fields_set, spec.defaults.model_fields_set),
        )
        for index, (selection_spec, selection) in enumerate(zip(spec.selections, selections, strict=True))
    ]


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
        problems.extend((("selection", index, *loc), why) for loc, why in kind_mismatches(selection))
        if selection.coverage_slo is not None and selection.restore_testing_plan is not None:
            problem = (
                "the reconciler watches the event-driven selections only: a restore testing plan picks its sources"
            )
            problems.append((("selection", index, "coverage_slo"), problem))
        check_names: set[str] = set()
        on_tables = (selection.resource_type or "").lower() == "dynamodb"
        for number, check in enumerate(selection.checks):
            if check.kind != "plugin" and for_tables(check) != on_tables:
                where = "DynamoDB tables" if for_tables(check) else "SQL databases"
                fix = 'resource_type = "DynamoDB"' if for_tables(check) else "another resource_type"
                problem = f"this {check.kind} check reads {where}: its selection needs {fix}"
                problems.append((("selection", index, "check", number, "kind"), problem))
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
        elif loc[2:4] == ("restore", "serverless_v2") and len(loc) == 5:
            model = ServerlessSpec
        elif loc[2] == "check" and len(loc) == 5 and isinstance(loc[3], int):
            model = CHECK_MODELS.get(str(item_at(selection.get("check"), loc[3]).get("kind")))
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items() if name != "kind"]
