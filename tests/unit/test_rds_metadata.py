"""The RDS kind's restore metadata: the restoring account's network, never the source account's names."""

import json
from types import SimpleNamespace

import pytest

from worker.kinds.rds_metadata import SOURCE_ACCOUNT_NAMES, Network, build_metadata

RECORDED = {
    "Engine": "postgres",
    "DBInstanceClass": "db.r6g.4xlarge",
    "DBSubnetGroupName": "prod-subnets",
    "VpcSecurityGroupIds": '["sg-prod"]',
    "OptionGroupName": "prod-options",
    "DBParameterGroupName": "prod-params",
    "AvailabilityZone": "us-east-1a",
    "MultiAZ": "true",
}
DEFAULTS = Network("bv-default-subnets", ("sg-default-1", "sg-default-2"))


def overrides(**kw):
    base = dict(db_instance_class="db.t4g.micro", db_subnet_group=None, vpc_security_group_ids=(), parameters={})
    return SimpleNamespace(**{**base, **kw})


def test_without_a_selection_network_the_deployment_defaults_apply():
    metadata = build_metadata(RECORDED, "bv-1", overrides(), DEFAULTS)
    assert metadata["DBSubnetGroupName"] == "bv-default-subnets"
    assert json.loads(metadata["VpcSecurityGroupIds"]) == ["sg-default-1", "sg-default-2"]


def test_a_selection_network_wins_over_the_defaults():
    chosen = overrides(db_subnet_group="team-subnets", vpc_security_group_ids=("sg-team",))
    metadata = build_metadata(RECORDED, "bv-1", chosen, DEFAULTS)
    assert metadata["DBSubnetGroupName"] == "team-subnets"
    assert json.loads(metadata["VpcSecurityGroupIds"]) == ["sg-team"]


@pytest.mark.parametrize("name", SOURCE_ACCOUNT_NAMES)
def test_source_account_names_are_never_passed_through(name):
    metadata = build_metadata(RECORDED, "bv-1", overrides(), Network())
    assert name not in metadata


def test_our_own_parameters_may_name_groups_of_the_restoring_account():
    mine = overrides(parameters={"DBParameterGroupName": "bv-params", "MultiAZ": "true"})
    metadata = build_metadata(RECORDED, "bv-1", mine, DEFAULTS)
    assert metadata["DBParameterGroupName"] == "bv-params"
    assert metadata["MultiAZ"] == "false", "what is forced is never undone by a parameter"
    assert (metadata["DBInstanceIdentifier"], metadata["DBInstanceClass"]) == ("bv-1", "db.t4g.micro")
