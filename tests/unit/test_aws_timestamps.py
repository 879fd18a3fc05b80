"""The timestamp parser every AWS response goes through (worker/adapters/aws.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from worker.adapters.aws import parse_timestamp

MOMENT = datetime(2026, 11, 24, 2, 31, 7, 980000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        MOMENT.timestamp(),  # JSON protocols (Backup, DynamoDB): epoch seconds
        int(MOMENT.timestamp()),
        "2026-11-24T02:31:07.980Z",  # XML protocols (RDS, S3)
        "2026-11-24T02:31:07.980+00:00",
        "2026-11-24T03:31:07.980+01:00",
        "Tue, 24 Nov 2026 02:31:07 GMT",  # RFC 822 headers: botocore's own parser
        "1795487467.98",  # epoch as text: botocore's own parser
    ],
)
def test_agrees_with_botocore_and_is_always_utc(value):
    ours = parse_timestamp(value)
    assert ours.tzinfo == UTC
    assert abs(ours - botocore_parse_timestamp(value)) < timedelta(microseconds=1)
    assert abs(ours - MOMENT) < timedelta(seconds=1)


def test_a_time_without_zone_is_utc_as_aws_means_it():
    assert parse_timestamp("2026-11-24T02:31:07") == MOMENT.replace(microsecond=0)


def test_other_zones_are_converted_not_relabelled():
    parsed = parse_timestamp("2026-11-24T12:00:00-05:00")
    assert parsed == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    assert parsed == datetime(2026, 11, 24, 12, 0, tzinfo=timezone(timedelta(hours=-5)))


def test_garbage_is_refused_as_botocore_refuses_it():
    with pytest.raises(ValueError):
        parse_timestamp("not a time")
