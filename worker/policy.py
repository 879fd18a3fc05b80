"""The validation policy: which recovery points to validate, how to restore them and which checks to run.

The file is TOML (see docs/policy.md). It is validated completely at start-up, and every problem is reported
with the file's line number, because a typo that silently disabled a check would be worse than no check: the
validation would keep passing. Hence unknown keys are errors and plugin functions are imported at load time.

Two layers: the `*Spec` pydantic models are the file's schema (`worker.policy_spec`); `Policy` and `Selection`
(`worker.policy_model`) are what callers use, with the selection's effective settings already merged over
`[defaults]` here. This module loads and resolves, and is the import surface for the rest of the worker.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from worker.policy_bounds import DeploymentBounds, SelectionBounds, bound_problems, where_set
from worker.policy_checks import (
    CheckSpec,
    FreshnessCheck,
    PluginCheck,
    RowCountCheck,
    SchemaCheck,
    SqlCheck,
)
from worker.policy_errors import CHECK_KINDS, PolicyError, policy_error, syntax_error, validation_problem
from worker.policy_fields import table_name_parts
from worker.policy_model import Policy, RestoreSettings, Selection
from worker.policy_spec import (
    MAX_CHECKS,
    DefaultsSpec,
    PolicyFile,
    SelectionSpec,
    ServerlessSpec,
    allowed_keys,
    cross_checks,
)

__all__ = [
    "CHECK_KINDS",
    "CHECK_TIMEOUT_MARGIN",
    "MAX_CHECKS",
    "CheckSpec",
    "FreshnessCheck",
    "PluginCheck",
    "Policy",
    "PolicyError",
    "RestoreSettings",
    "RowCountCheck",
    "SchemaCheck",
    "Selection",
    "SqlCheck",
    "load_policy",
    "parse_policy",
    "table_name_parts",
]

_T = TypeVar("_T")

# How long a check gets beyond its statement timeout unless `check_timeout` says otherwise: reconnecting after a
# lost connection, the client's own grace on the query, transaction control.
CHECK_TIMEOUT_MARGIN = timedelta(seconds=30)


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
        raise policy_error(problems, raw, text, source, allowed_keys) from None
    selections = tuple(_resolve(selection, spec.defaults) for selection in spec.selections)
    problems = cross_checks(spec) + bound_problems(_bounds(spec, selections), deployment)
    if problems:
        raise policy_error(problems, raw, text, source, allowed_keys)
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
