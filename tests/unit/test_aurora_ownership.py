"""Aurora cleanup deletes a cluster only when ledger, name and tag agree, and never a cluster with an
instance we did not add (pure logic over in-memory ports; the end-to-end cases are in tests/integration)."""

import pytest

from worker.errors import NotOurs
from worker.kinds.aurora_ownership import delete_cluster_and_instance
from worker.ledger_item import ResourceEntry
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
    def __init__(self, instances=(), ledger=("bv-abc", "bv-abc-1")):
        self.instances = {i.identifier: i for i in instances}
        self.ledger = set(ledger)
        self.deleted: list[str] = []

    async def resource(self, identifier):
        return ResourceEntry(identifier, "rp", 0) if identifier in self.ledger else None

    async def item(self, arn):
        return None

    async def describe(self, identifier):
        return self.instances.get(identifier)

    async def delete(self, identifier):
        self.deleted.append(identifier)
        return True

    async def delete_cluster(self, identifier):
        self.deleted.append(identifier)
        return "DELETED"


async def test_ours_goes_instance_first_then_cluster():
    fakes = Fakes([instance("bv-abc-1")])
    outcome = await delete_cluster_and_instance(fakes, fakes, fakes, cluster(members=["bv-abc-1"]))
    assert outcome == "DELETED" and fakes.deleted == ["bv-abc-1", "bv-abc"]


@pytest.mark.parametrize(
    ("found", "fakes", "why"),
    [
        (cluster(members=["bv-abc-1", "prod-reader"]), Fakes([instance("bv-abc-1")]), "did not add"),
        (cluster(tags={}), Fakes(), "lacks the"),
        (cluster(), Fakes(ledger=()), "not in the ledger"),
        (cluster(identifier="prod"), Fakes(), "prefix"),
        (cluster(members=["bv-abc-1"]), Fakes([instance("bv-abc-1", tags={})]), "lacks the"),
    ],
)
async def test_anything_not_provably_ours_is_left_alone(found, fakes, why):
    with pytest.raises(NotOurs, match=why):
        await delete_cluster_and_instance(fakes, fakes, fakes, found)
    assert fakes.deleted == []
