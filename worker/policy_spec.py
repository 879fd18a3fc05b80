"""The policy file's schema: the `*Spec` pydantic models (unknown keys are errors), the checks across fields
that no single field can make, and the keys each table allows (for "did you mean" hints).

`worker.policy` validates a file against this schema and resolves it into the `Policy` callers use.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from worker.policy_checks import CHECK_MODELS, CheckSpec, with_default_names
from worker.policy_errors import Loc, item_at
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
)
from worker.policy_kinds import kind_mismatches
from worker.policy_table_checks import for_tables

# With at most this many checks, each bounded in size (worker.record), a record fits everywhere it goes.
MAX_CHECKS = 50


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


def cross_checks(spec: PolicyFile) -> list[tuple[Loc, str]]:
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


def allowed_keys(loc: Loc, raw: Mapping[str, Any]) -> list[str]:
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
