"""What callers of the policy use: `Policy` and its `Selection`s, each with its effective settings already
merged over `[defaults]` (worker.policy resolves them from the file), and the matching rules."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from worker.policy_checks import CheckSpec


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
