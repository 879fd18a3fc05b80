"""Taking over a restored instance (worker/kinds/rds_prepare.py): the order of calls, on a fake RDS.

The same path runs against the emulator in tests/integration/test_worker_flow.py; this pins down the decisions.
"""

import asyncio
from dataclasses import replace

import pytest

from worker.errors import DeadlineExceeded, InstanceNotReady
from worker.kinds.rds_prepare import take_over
from worker.ports import DbInstance

READY = DbInstance(
    identifier="bv-1",
    arn="arn:aws:rds:us-east-1:123456789012:db:bv-1",
    status="available",
    engine="postgres",
    host="db.example",
    port=5432,
    db_name=None,
    master_username="admin",
    password_pending=False,
    created_at=None,
)


class FakeRds:
    """Scripted descriptions, one per describe (the last repeats); modify refused `refusals` times."""

    def __init__(self, described: list[DbInstance], refusals: int = 0) -> None:
        self.described = described
        self.refusals = refusals
        self.calls: list[str] = []

    async def describe(self, identifier: str) -> DbInstance | None:
        self.calls.append("describe")
        return self.described.pop(0) if len(self.described) > 1 else self.described[0]

    async def set_master_password(self, identifier: str, password: str) -> None:
        self.calls.append("modify")
        if self.refusals:
            self.refusals -= 1
            raise InstanceNotReady("still creating")


def deadline(seconds: float = 30) -> float:
    return asyncio.get_running_loop().time() + seconds


async def test_an_available_instance_is_described_reset_and_described_once_more():
    rds = FakeRds([READY])
    connection, instance = await take_over(rds, "bv-1", deadline(), None)
    assert rds.calls == ["describe", "modify", "describe"]
    assert (connection.host, connection.port, connection.user, connection.database) == (
        "db.example",
        5432,
        "admin",
        "postgres",
    )
    assert instance == READY


async def test_a_creating_instance_is_waited_for_before_the_reset():
    creating = replace(READY, status="creating")
    rds = FakeRds([creating, READY])
    await take_over(rds, "bv-1", deadline(), "orders")
    assert rds.calls == ["describe", "describe", "modify", "describe"]


async def test_a_reset_refused_after_all_waits_once_more_then_resets_again():
    rds = FakeRds([READY], refusals=1)
    await take_over(rds, "bv-1", deadline(), "orders")
    assert rds.calls == ["describe", "modify", "describe", "modify", "describe"]


async def test_a_pending_password_is_waited_out():
    pending = replace(READY, status="resetting-master-credentials", password_pending=True)
    rds = FakeRds([READY, pending, READY])
    connection, _ = await take_over(rds, "bv-1", deadline(), "orders")
    assert rds.calls == ["describe", "modify", "describe", "describe"]
    assert connection.database == "orders"


async def test_a_password_that_never_applies_ends_at_the_deadline():
    pending = replace(READY, password_pending=True)
    with pytest.raises(DeadlineExceeded):
        await take_over(FakeRds([READY, pending]), "bv-1", deadline(1.0), None)


async def test_the_password_is_new_each_time_and_not_in_the_repr():
    first, _ = await take_over(FakeRds([READY]), "bv-1", deadline(), None)
    second, _ = await take_over(FakeRds([READY]), "bv-1", deadline(), None)
    assert first.password != second.password and len(first.password) >= 32
    assert first.password not in repr(first)
