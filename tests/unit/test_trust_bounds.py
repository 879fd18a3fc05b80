"""Bounds that must add up (worker.policy_bounds), engine limits and durations that overflow: refused with the
policy file's line, never a traceback."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest

from worker.adapters.database import open_database
from worker.durations import parse_duration
from worker.policy import CHECK_TIMEOUT_MARGIN, MAX_CHECKS, PolicyError, parse_policy
from worker.policy_bounds import DeploymentBounds
from worker.settings import DB_CONNECT_TIMEOUT_SECONDS

SELECTION = """
[[selection]]
name = "orders"
{extra}
[[selection.check]]
kind = "sql"
query = "SELECT 1"
expect = 1
"""


def policy(defaults: str = "", extra: str = "") -> str:
    return f"[defaults]\n{defaults}\n" + SELECTION.format(extra=extra)


def problem(text: str, deployment: DeploymentBounds | None = None) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, deployment=deployment)
    return caught.value


@pytest.mark.parametrize("value", ["99999999999999d", "9999999999999999999999h", "1000000000d"])
def test_a_duration_that_overflows_is_a_line_numbered_error(value):
    error = problem(policy(f'restore_timeout = "{value}"'))
    assert error.line == 2
    assert "too long" in error.problem


def test_parse_duration_overflow_is_a_value_error():
    with pytest.raises(ValueError, match="too long"):
        parse_duration("99999999999999d")


def test_a_statement_timeout_postgresql_cannot_take_is_refused_at_its_line():
    error = problem(policy(extra='statement_timeout = "25d"'))
    assert error.line == 6
    assert "2147483647 ms" in error.problem
    parse_policy(policy(extra='statement_timeout = "24d20h31m23s"'))  # the largest it takes


def test_check_timeout_must_exceed_the_statement_timeout():
    error = problem(policy('statement_timeout = "2m"', 'check_timeout = "1m"'))
    assert error.line == 6 and "must be longer than statement_timeout" in error.problem


def test_check_budget_shorter_than_one_check_is_refused():
    error = problem(policy('check_budget = "30s"\nstatement_timeout = "1m"'))
    assert error.line == 2 and "check_budget (30s) is shorter than check_timeout (1m30s)" in error.problem


def test_defaults_derive_check_timeout_and_budget_from_the_statement_timeout():
    (selection,) = parse_policy(policy('statement_timeout = "1m"')).selections
    assert selection.check_timeout == timedelta(minutes=1) + CHECK_TIMEOUT_MARGIN
    assert selection.check_budget == selection.check_timeout * len(selection.checks)


def test_a_sweeper_ttl_shorter_than_a_validation_is_refused_at_the_restore_timeout_line():
    deployment = DeploymentBounds(resource_ttl=timedelta(hours=6), connect=timedelta(seconds=65))
    error = problem(policy('restore_timeout = "6h"'), deployment)
    assert error.line == 2
    assert "BV_RESOURCE_TTL_SECONDS (6h)" in error.problem and "sweeper could delete a copy" in error.problem
    parse_policy(policy('restore_timeout = "5h"'), deployment=deployment)


def test_more_checks_than_a_record_can_hold_are_refused():
    checks = "".join(
        f'\n[[selection.check]]\nname = "c{n}"\nkind = "sql"\nquery = "SELECT 1"\nexpect = 1\n'
        for n in range(MAX_CHECKS)
    )
    error = problem(policy() + checks)
    assert f"at most {MAX_CHECKS}" in error.problem


def test_the_settings_connect_timeout_is_the_adapters():
    default = inspect.signature(open_database.__wrapped__).parameters["connect_timeout"].default  # type: ignore[attr-defined]
    assert default == DB_CONNECT_TIMEOUT_SECONDS
