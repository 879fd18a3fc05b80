"""Aurora cleanup, once the cluster is proven ours (its restore job created it): the instance we added goes first,
then the cluster; never a cluster with an instance we did not add, never an instance outside the cluster (pure
logic over in-memory ports; the end-to-end cases are in tests/integration/test_worker_aurora.py)."""

import pytest

from worker.errors import NotOurs
from worker.kinds.aurora_ownership import delete_cluster_and_instance
from worker.model import OWNER_TAG
from worker.ports import DbCluster, DbInstance

OURS = {OWNER_TAG: "true"}


def cluster(identifier="bv-abc", members=(), tags=OURS):
    return DbCluster(identifier, f"arn:cluster:{identifier}", "available", "aurora-postgresql", "h", 5432, "d", "u",
                     False, None, tuple(members), dict(tags))  # fmt: skip


def instance(identifier, tags=OURS):
    return DbInstance(identifier, f"arn:db:{identifier}", "available", "aurora-postgresql", "h", 5432, "d", "u",
                      False, None, dict(tags))  # fmt: skip


class Fakes:
    def __init__(self, instances=()):
        self.instances = {i.identifier: i for i in instances}
        self.deleted: list[str] = []
        self.tagged: list[str] = []

    async def describe(self, identifier):
        return self.instances.get(identifier)

    async def tag(self, arn, tags):
        self.tagged.append(arn)

    async def delete(self, identifier):
        self.deleted.append(identifier)
        return True

    async def delete_cluster(self, identifier):
        self.deleted.append(identifier)
        return "DELETED"


async def test_ours_goes_instance_first_then_cluster():
    fakes = Fakes([instance("bv-abc-1")])
    outcome = await delete_cluster_and_instance(fakes, fakes, cluster(members=["bv-abc-1"]))
    assert outcome == "DELETED" and fakes.deleted == ["bv-abc-1", "bv-abc"] and fakes.tagged == []


async def test_an_untagged_cluster_and_instance_proven_ours_are_tagged_then_deleted():
    """A restore that finished after its validation gave up was never tagged; the IAM policy needs the tag."""
    fakes = Fakes([instance("bv-abc-1", tags={})])
    outcome = await delete_cluster_and_instance(fakes, fakes, cluster(members=["bv-abc-1"], tags={}))
    assert outcome == "DELETED" and fakes.tagged == ["arn:cluster:bv-abc", "arn:db:bv-abc-1"]
    assert fakes.deleted == ["bv-abc-1", "bv-abc"]


async def test_an_instance_with_our_name_outside_the_cluster_is_left_alone():
    fakes = Fakes([instance("bv-abc-1")])
    outcome = await delete_cluster_and_instance(fakes, fakes, cluster(members=[]))
    assert outcome == "DELETED" and fakes.deleted == ["bv-abc"]


@pytest.mark.parametrize(
    ("found", "why"),
    [
        (cluster(members=["bv-abc-1", "prod-reader"]), "did not add"),
        (cluster(identifier="prod"), "prefix"),
    ],
)
async def test_anything_not_provably_ours_is_left_alone(found, why):
    fakes = Fakes([instance("bv-abc-1")])
    with pytest.raises(NotOurs, match=why):
        await delete_cluster_and_instance(fakes, fakes, found)
    assert fakes.deleted == [] and fakes.tagged == []
