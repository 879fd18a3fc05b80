"""The emulator's reading of restore testing schedules: AWS's six-field cron in the plan's timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.restore_testing_schedule import due, parse_cron

MONDAY_0259_UTC = datetime(2026, 11, 2, 2, 59, 30, tzinfo=UTC)


def test_a_daily_schedule_fires_at_its_minute_only():
    after = MONDAY_0259_UTC
    assert due("cron(0 3 ? * * *)", None, after, after + timedelta(minutes=1))
    assert not due("cron(0 3 ? * * *)", None, after + timedelta(minutes=1), after + timedelta(minutes=59))


def test_the_timezone_moves_the_minute():
    # 04:00 in Paris (UTC+1 in November) is 03:00 UTC.
    assert due("cron(0 4 ? * * *)", "Europe/Paris", MONDAY_0259_UTC, MONDAY_0259_UTC + timedelta(minutes=1))
    assert not due("cron(0 3 ? * * *)", "Europe/Paris", MONDAY_0259_UTC, MONDAY_0259_UTC + timedelta(minutes=1))


def test_days_of_the_week_count_from_sunday_and_take_names():
    window = (MONDAY_0259_UTC, MONDAY_0259_UTC + timedelta(minutes=1))
    assert due("cron(0 3 ? * 2 *)", None, *window)  # 2 = Monday
    assert due("cron(0 3 ? * MON-FRI *)", None, *window)
    assert not due("cron(0 3 ? * SUN,SAT *)", None, *window)
    assert due("cron(*/15 * ? * * *)", None, *window)
    assert not due("cron(0 3 1 * ? *)", None, *window)  # the first of the month only


@pytest.mark.parametrize(
    "expression",
    ["rate(1 hour)", "cron(0 3 * * * *)", "cron(0 3 ? * ? *)", "cron(60 3 ? * * *)", "cron(0 3 L * ? *)"],
)
def test_what_is_refused(expression):
    with pytest.raises(ValueError):
        parse_cron(expression)
