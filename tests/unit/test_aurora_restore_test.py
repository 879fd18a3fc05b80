"""A restore testing job's Aurora cluster is AWS Backup's: the worker proves the job created it, adds one instance
of its own and deletes only that, never the cluster nor an instance it cannot prove its own (pure logic over
in-memory ports; the end-to-end case is tests/integration/test_restore_testing_kinds.py)."""

from __future__ import annotations

from typing import Any

import pytest
from memory_ports import MemoryBackup

from worker.errors import RestoreFailed
from worker.kinds import Target, restore_testing
from worker.kinds.aurora_restore_test import (
    add_our_instance,
    added_instance_identifier,
    delete_our_instance,
    prove_created,
)
from worker.ledger_item import ResourceEntry
from worker.model import OWNER_TAG, RestoreJob
from worker.policy import parse_policy
from worker.ports import DbCluster, DbInstance

PLAN = "arn:aws:backup:us-east-1:111111111111:restore-testing-plan:nightly"
CLUSTER = "awsbackup-restore-test-abc"
CLUSTER_ARN = f"arn:aws:rds:us-east-1:111111111111:cluster:{CLUSTER}"
OURS = added_instance_identifier(CLUSTER)
POLICY = """
[[selection]]
name = "aurora-tests"
resource_type = "Aurora"
source_arn = "arn:aws:rds:*:*:cluster:orders-*"
restore_testing_plan = "nightly"
[[selection.check]]
kind = "row_count"
table = "events"
min = 1
"""


class Log:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


class Rds:
    """RDS instances, the cluster API and the ledger's resource entries, in memory."""

    def __init__(
        self,
        instances: list[DbInstance] = (),
        ledger: tuple[str, ...] = (),
        members: tuple[str, ...] = (),  # type: ignore[assignment]
    ) -> None:
        self.instances = {i.identifier: i for i in instances}
        self.ledger = {identifier: target().recovery_point.arn for identifier in ledger}
        self.members = list(members)
        self.calls: list[str] = []

    async def describe(self, identifier: str) -> DbInstance | None:
        return self.instances.get(identifier)

    async def delete(self, identifier: str) -> bool:
        self.calls.append(f"delete {identifier}")
        instance = self.instances[identifier]
        self.instances[identifier] = DbInstance(**{**instance.__dict__, "status": "deleting"})
        return True

    async def resource(self, identifier: str) -> ResourceEntry | None:
        return ResourceEntry(identifier, self.ledger[identifier], 0) if identifier in self.ledger else None

    async def record_resource(self, identifier: str, recovery_point_arn: str) -> None:
        self.calls.append(f"ledger {identifier}")
        self.ledger[identifier] = recovery_point_arn

    async def add_instance(self, cluster_id: str, instance_id: str, engine: str, cls: str, tags: dict) -> None:
        self.calls.append(f"create {instance_id} in {cluster_id}")
        self.instances[instance_id] = instance(instance_id, tags)
        self.members.append(instance_id)

    async def describe_cluster(self, identifier: str) -> DbCluster | None:
        return cluster(tuple(self.members)) if identifier == CLUSTER else None

    async def describe_restore_job(self, job_id: str) -> RestoreJob:
        raise AssertionError("the job at hand names what it created")


def instance(identifier: str, tags: dict | None = None) -> DbInstance:
    return DbInstance(identifier, f"arn:aws:rds:us-east-1:111111111111:db:{identifier}", "available",
                      "aurora-postgresql", "h", 5432, "d", "u", False, None, dict(tags or {}))  # fmt: skip


def target() -> Target:
    selection = parse_policy(POLICY).selections[0]
    return Target(MemoryBackup().recovery_point, CLUSTER, selection, 0.0, restore_testing(PLAN))


def cluster(members: tuple[str, ...] = ()) -> DbCluster:
    return DbCluster(
        CLUSTER, CLUSTER_ARN, "available", "aurora-postgresql", "h", 5432, "d", "u", False, None, members=members
    )


async def test_the_cluster_must_be_the_one_the_job_created():
    rds = Rds()
    await prove_created(rds, RestoreJob("rt-1", "COMPLETED", CLUSTER_ARN), target())  # type: ignore[arg-type]
    other = RestoreJob("rt-1", "COMPLETED", "arn:aws:rds:us-east-1:111111111111:cluster:someone-elses")
    with pytest.raises(RestoreFailed, match="left untouched"):
        await prove_created(rds, other, target())  # type: ignore[arg-type]


async def test_our_instance_is_in_the_ledger_before_it_exists_and_deleted_alone():
    rds = Rds()
    assert await add_our_instance(rds, rds, rds, target(), cluster()) == OURS  # type: ignore[arg-type]
    assert rds.calls == [f"ledger {OURS}", f"create {OURS} in {CLUSTER}"]
    assert OURS.startswith("bv-") and rds.instances[OURS].tags[OWNER_TAG] == "true"
    # A resumed validation finds it again rather than creating a second one.
    assert await add_our_instance(rds, rds, rds, target(), cluster((OURS,))) == OURS  # type: ignore[arg-type]
    assert await delete_our_instance(rds, rds, rds, target(), Log()) == "LEFT_TO_AWS_BACKUP"  # type: ignore[arg-type]
    assert rds.calls[-1] == f"delete {OURS}" and len([c for c in rds.calls if c.startswith("create")]) == 1


async def test_an_instance_with_our_name_but_not_provably_ours_is_never_deleted():
    rds = Rds([instance(OURS)], ledger=(OURS,))  # no owner tag
    assert await delete_our_instance(rds, rds, rds, target(), Log()) == "FAILED"  # type: ignore[arg-type]
    with pytest.raises(RestoreFailed):
        await add_our_instance(rds, rds, rds, target(), cluster())  # type: ignore[arg-type]
    assert rds.calls == []


async def test_an_instance_with_our_name_tag_and_ledger_entry_outside_the_cluster_is_never_deleted():
    rds = Rds([instance(OURS, {OWNER_TAG: "true"})], ledger=(OURS,))  # not a member of the restore test's cluster
    assert await delete_our_instance(rds, rds, rds, target(), Log()) == "FAILED"  # type: ignore[arg-type]
    with pytest.raises(RestoreFailed, match="not a member"):
        await add_our_instance(rds, rds, rds, target(), cluster())  # type: ignore[arg-type]
    assert rds.calls == []


async def test_nothing_added_means_nothing_to_delete():
    rds = Rds()
    assert await delete_our_instance(rds, rds, rds, target(), Log()) == "LEFT_TO_AWS_BACKUP"  # type: ignore[arg-type]
    assert rds.calls == []
