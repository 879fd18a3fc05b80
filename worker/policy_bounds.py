"""Bounds that must add up: per selection, and against the deployment's settings (docs/reliability.md).

A policy can be valid key by key and still contradict itself or the deployment: a check timeout shorter than
the statement timeout it must wait for, or a sweeper TTL that deletes a copy while its checks still run. These
are refused at start-up and by `check-config`, each pointing at the line that sets the bound.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import timedelta

from worker.durations import format_duration
from worker.policy_errors import Loc


@dataclass(frozen=True)
class DeploymentBounds:
    """What the deployment's settings (worker.settings.Settings.deployment_bounds) allow one validation."""

    resource_ttl: timedelta  # BV_RESOURCE_TTL_SECONDS: the sweeper deletes copies older than this
    connect: timedelta  # the worst case of connecting to a restored database, retries included


@dataclass(frozen=True)
class SelectionBounds:
    """One selection's effective bounds, and where the file sets each ("defaults" or the selection's index)."""

    index: int
    restore_timeout: timedelta
    statement_timeout: timedelta
    check_timeout: timedelta
    check_budget: timedelta
    set_in: dict[str, Loc]


BOUND_KEYS = ("restore_timeout", "statement_timeout", "check_timeout", "check_budget")


def where_set(index: int, in_selection: Set[str], in_defaults: Set[str]) -> dict[str, Loc]:
    """Where the file sets each bound of selection `index`: its own key, else `[defaults]`, else (a built-in
    default) the selection as a whole."""
    set_in: dict[str, Loc] = {}
    for key in BOUND_KEYS:
        if key in in_selection:
            set_in[key] = ("selection", index, key)
        elif key in in_defaults:
            set_in[key] = ("defaults", key)
        else:
            set_in[key] = ("selection", index)
    return set_in


def instance_lifetime(bounds: SelectionBounds, deployment: DeploymentBounds) -> timedelta:
    """The longest a restored copy can exist while its validation still needs it (before cleanup starts):
    it appears after StartRestoreJob, within `restore_timeout` it is available with our password, then the
    checks connect and run."""
    return bounds.restore_timeout + deployment.connect + bounds.check_budget


def bound_problems(selections: Sequence[SelectionBounds], deployment: DeploymentBounds | None) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for bounds in selections:
        if bounds.check_timeout <= bounds.statement_timeout:
            problems.append(
                (
                    bounds.set_in["check_timeout"],
                    f"check_timeout ({_show(bounds.check_timeout)}) must be longer than statement_timeout "
                    f"({_show(bounds.statement_timeout)}): a check must be able to wait for its query",
                )
            )
        if bounds.check_budget < bounds.check_timeout:
            problems.append(
                (
                    bounds.set_in["check_budget"],
                    f"check_budget ({_show(bounds.check_budget)}) is shorter than check_timeout "
                    f"({_show(bounds.check_timeout)}): not even one check could use its time",
                )
            )
        if deployment is not None and instance_lifetime(bounds, deployment) >= deployment.resource_ttl:
            lifetime = instance_lifetime(bounds, deployment)
            problems.append(
                (
                    bounds.set_in["restore_timeout"],
                    f"restore_timeout ({_show(bounds.restore_timeout)}) + connecting ({_show(deployment.connect)}) "
                    f"+ check_budget ({_show(bounds.check_budget)}) = {_show(lifetime)} is not shorter than "
                    f"BV_RESOURCE_TTL_SECONDS ({_show(deployment.resource_ttl)}): the sweeper could delete a copy "
                    "under test; raise the TTL or lower the bounds",
                )
            )
    return problems


def _show(value: timedelta) -> str:
    return format_duration(value)
