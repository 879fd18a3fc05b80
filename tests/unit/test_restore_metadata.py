"""Restore metadata never carries the source account's network: ours (selection, else deployment) or RDS's default."""

import json
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.kinds.rds_metadata import Network as RestoreNetwork
from worker.kinds.rds_metadata import build_metadata
from worker.kinds.rds_metadata import network_for as restore_network

SOURCE_NETWORK = {
    "DBSubnetGroupName": "prod-db-subnets",
    "VpcSecurityGroupIds": '["sg-0prod"]',
    "OptionGroupName": "prod-options",
    "DBParameterGroupName": "prod-params",
    "AvailabilityZone": "eu-west-1b",
}
RECORDED = {"DBInstanceIdentifier": "orders", "Engine": "postgres", "DBName": "orders", **SOURCE_NETWORK}
DEPLOYMENT = RestoreNetwork("bv-restores", ("sg-0bv1", "sg-0bv2"))


def selection(subnet_group=None, groups=(), parameters=None, db_class=None):
    return SimpleNamespace(
        db_instance_class=db_class,
        db_subnet_group=subnet_group,
        vpc_security_group_ids=groups,
        parameters=parameters or {},
    )


def test_without_any_network_configured_the_source_names_are_dropped_not_passed_through():
    metadata = build_metadata(RECORDED, "bv-1", selection())
    assert not set(SOURCE_NETWORK) & set(metadata)
    assert metadata["Engine"] == "postgres" and metadata["DBName"] == "orders"


def test_the_deployment_network_applies_when_the_selection_names_none():
    metadata = build_metadata(RECORDED, "bv-1", selection(), DEPLOYMENT)
    assert metadata["DBSubnetGroupName"] == "bv-restores"
    assert json.loads(metadata["VpcSecurityGroupIds"]) == ["sg-0bv1", "sg-0bv2"]
    assert "OptionGroupName" not in metadata and "DBParameterGroupName" not in metadata
    assert "AvailabilityZone" not in metadata


def test_the_selection_network_wins_over_the_deployment_one_member_by_member():
    metadata = build_metadata(RECORDED, "bv-1", selection(subnet_group="team-subnets"), DEPLOYMENT)
    assert metadata["DBSubnetGroupName"] == "team-subnets"
    assert json.loads(metadata["VpcSecurityGroupIds"]) == ["sg-0bv1", "sg-0bv2"]
    metadata = build_metadata(RECORDED, "bv-1", selection(groups=("sg-0team",)), DEPLOYMENT)
    assert metadata["DBSubnetGroupName"] == "bv-restores"
    assert json.loads(metadata["VpcSecurityGroupIds"]) == ["sg-0team"]


def test_restore_network_is_the_effective_choice_the_preflight_checks():
    assert restore_network(selection(), RestoreNetwork()) == RestoreNetwork(None, ())
    assert restore_network(selection(), DEPLOYMENT) == DEPLOYMENT
    assert restore_network(selection("x", ("sg-1",)), DEPLOYMENT) == RestoreNetwork("x", ("sg-1",))


def test_recorded_keys_are_dropped_whatever_their_case():
    recorded = {"dbsubnetgroupname": "prod", "multiaz": "true", "DBINSTANCEIDENTIFIER": "orders", "Engine": "mysql"}
    metadata = build_metadata(recorded, "bv-1", selection(), DEPLOYMENT)
    lowered = [key.lower() for key in metadata]
    assert len(lowered) == len(set(lowered)), metadata
    assert metadata["DBSubnetGroupName"] == "bv-restores"
    assert metadata["MultiAZ"] == "false" and metadata["DBInstanceIdentifier"] == "bv-1"


def test_policy_parameters_may_name_our_own_groups_but_never_undo_what_is_forced():
    parameters = {"DBParameterGroupName": "bv-params", "MultiAZ": "true"}
    metadata = build_metadata(RECORDED, "bv-1", selection(parameters=parameters), DEPLOYMENT)
    assert metadata["DBParameterGroupName"] == "bv-params"
    assert metadata["MultiAZ"] == "false"


@given(
    st.dictionaries(
        st.sampled_from([*SOURCE_NETWORK, *(k.lower() for k in SOURCE_NETWORK), "Engine", "Port"]),
        st.text(min_size=1, max_size=8),
    )
)
def test_no_source_network_value_ever_reaches_the_metadata(recorded):
    before = dict(recorded)
    metadata = build_metadata(recorded, "bv-1", selection(), DEPLOYMENT)
    network_keys = {k.lower() for k in SOURCE_NETWORK}
    for key, value in metadata.items():
        if key.lower() in network_keys:
            assert value in ("bv-restores", json.dumps(list(DEPLOYMENT.security_group_ids)))
    assert recorded == before  # pure: the input is not changed


@pytest.mark.parametrize("key", list(SOURCE_NETWORK))
def test_each_source_network_key_alone_is_dropped(key):
    assert key not in build_metadata({key: SOURCE_NETWORK[key]}, "bv-1", selection())
