"""Aurora: the cluster restore metadata (pure) and the policy's Aurora options and kind mismatches."""

import json
from types import SimpleNamespace

import pytest

from worker.kinds.aurora_metadata import build_cluster_metadata, instance_identifier
from worker.kinds.rds_metadata import Network
from worker.policy import parse_policy
from worker.policy_errors import PolicyError

RECORDED = {
    "DBClusterIdentifier": "billing",
    "Engine": "aurora-postgresql",
    "EngineVersion": "16.4",
    "DatabaseName": "billing",
    "DBSubnetGroupName": "prod-subnets",
    "VpcSecurityGroupIds": '["sg-0prod"]',
    "DBClusterParameterGroupName": "prod-cluster-params",
    "AvailabilityZones": '["eu-west-1a"]',
    "BacktrackWindow": "86400",
    "GlobalClusterIdentifier": "prod-global",
    "DeletionProtection": "true",
}


def overrides(parameters=None, subnet_group=None):
    return SimpleNamespace(
        db_instance_class=None, db_subnet_group=subnet_group, vpc_security_group_ids=(), parameters=parameters or {}
    )


def test_cluster_metadata_is_ours_deletable_and_in_the_restoring_accounts_network():
    metadata = build_cluster_metadata(RECORDED, "bv-abc", overrides(), Network("bv-restores", ("sg-0bv",)))
    assert metadata["DBClusterIdentifier"] == "bv-abc" and metadata["DeletionProtection"] == "false"
    assert metadata["DBSubnetGroupName"] == "bv-restores"
    assert json.loads(metadata["VpcSecurityGroupIds"]) == ["sg-0bv"]
    for dropped in ("DBClusterParameterGroupName", "AvailabilityZones", "BacktrackWindow", "GlobalClusterIdentifier"):
        assert dropped not in metadata, dropped
    assert metadata["Engine"] == "aurora-postgresql" and metadata["DatabaseName"] == "billing"


def test_policy_parameters_cannot_undo_what_is_forced_whatever_their_case():
    parameters = {"deletionprotection": "true", "dbclusteridentifier": "prod", "Port": "5433"}
    metadata = build_cluster_metadata(RECORDED, "bv-abc", overrides(parameters))
    lowered = {key.lower(): value for key, value in metadata.items()}
    assert lowered["deletionprotection"] == "false" and lowered["dbclusteridentifier"] == "bv-abc"
    assert [k for k in metadata if k.lower() == "deletionprotection"] == ["DeletionProtection"]
    assert metadata["Port"] == "5433"


def test_the_added_instance_is_named_after_the_cluster():
    assert instance_identifier("bv-abc") == "bv-abc-1"


AURORA = """
[[selection]]
name = "billing"
resource_type = "Aurora"
source_arn = "arn:aws:rds:*:*:cluster:billing-*"
"""


def test_an_aurora_selection_takes_the_aurora_class_or_its_own_or_serverless():
    default = parse_policy(AURORA).selections[0].restore
    assert default.aurora_instance_class == "db.t4g.medium" and default.serverless_v2 is None
    own = parse_policy(AURORA + '[selection.restore]\ndb_instance_class = "db.r6g.large"\n').selections[0].restore
    assert own.aurora_instance_class == "db.r6g.large"
    text = AURORA + "[selection.restore]\nserverless_v2 = { min_capacity = 0, max_capacity = 4 }\n"
    assert parse_policy(text).selections[0].restore.serverless_v2 == (0.0, 4.0)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (AURORA.replace(":cluster:", ":db:"), 5, "matches DB cluster ARNs"),
        (AURORA.replace('"Aurora"', '"RDS"'), 5, 'use resource_type = "Aurora"'),
        (AURORA + '[selection.restore]\nparameters = { AllocatedStorage = "100" }\n', 7, "AllocatedStorage is a DB"),
        (AURORA.replace('"Aurora"', '"RDS"').replace(":cluster:", ":db:") + "restore.serverless_v2 = {}\n", 6,
         "Aurora clusters only"),
        (AURORA + '[selection.restore]\nserverless_v2 = {}\ndb_instance_class = "db.r6g.large"\n', 8,
         "db.serverless"),
        (AURORA + "[selection.restore]\nserverless_v2 = { min_capacity = 0.3 }\n", 7, "multiple of 0.5"),
    ],
)  # fmt: skip
def test_check_config_explains_options_that_do_not_fit_the_kind(text, line, words):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.toml")
    message = str(caught.value)
    assert f"policy.toml:{line}:" in message and words in message, message
