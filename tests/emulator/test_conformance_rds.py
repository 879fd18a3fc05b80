"""RDS operations the worker uses, on their happy and error paths, through botocore, the AWS CLI and raw Query.

Sources: the Amazon RDS API reference (DescribeDBInstances `MaxRecords` "Minimum 20, maximum 100";
ModifyDBInstance `ApplyImmediately`; DeleteDBInstance `SkipFinalSnapshot` / `FinalDBSnapshotIdentifier`;
DescribeAccountAttributes), its Common Errors (`MissingParameter`, `InvalidParameterValue`,
`InvalidParameterCombination`, `InvalidAction`) and botocore's service model.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from harness.aws import create_source, describe_instance, unique, wait_for, wait_instance

pytestmark = pytest.mark.usefixtures("cleanup_instances")
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
ACCOUNT = "123456789012"
NS = {"rds": "http://rds.amazonaws.com/doc/2014-10-31/"}


def query(raw, url: str, **fields: str):
    return raw(url, "POST", "/", urlencode({"Version": "2014-10-31", **fields}).encode(), FORM)


def own_instances(rds) -> int:
    """Instances of the emulator's account (the listing also shows other accounts' restores)."""
    pages = rds.get_paginator("describe_db_instances").paginate()
    return sum(1 for page in pages for i in page["DBInstances"] if i["DBInstanceArn"].split(":")[4] == ACCOUNT)


def error_of(response) -> tuple[str, str]:
    root = ET.fromstring(response.body)
    error = root.find("rds:Error", NS)
    assert error is not None, response.body
    return error.findtext("rds:Type", namespaces=NS) or "", error.findtext("rds:Code", namespaces=NS) or ""


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Action": "ModifyDBInstance"}, "MissingParameter"),
        ({"Action": "DeleteDBInstance"}, "MissingParameter"),
        ({"Action": "DescribeDBInstances", "MaxRecords": "ten"}, "InvalidParameterValue"),
        ({"Action": "DescribeDBInstances", "MaxRecords": "19"}, "InvalidParameterValue"),
        ({"Action": "DescribeDBInstances", "MaxRecords": "101"}, "InvalidParameterValue"),
        (
            {"Action": "DeleteDBInstance", "DBInstanceIdentifier": "x", "SkipFinalSnapshot": "yes"},
            "InvalidParameterValue",
        ),
        ({"Action": "RebootTheInternet"}, "InvalidAction"),
        ({}, "InvalidAction"),
    ],
)
def test_client_mistakes_are_a_400_sender_error_response(raw, emulator, fields, code):
    response = query(raw, emulator.url, **fields)
    assert response.status == 400, response.body
    assert error_of(response) == ("Sender", code)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["describe-db-instances", "--db-instance-identifier", "no-such-db"], "DBInstanceNotFound"),
        (["describe-db-instances", "--page-size", "5"], "InvalidParameterValue"),
        (["describe-db-subnet-groups", "--db-subnet-group-name", "no-such-group"], "DBSubnetGroupNotFoundFault"),
        (
            ["delete-db-instance", "--db-instance-identifier", "no-such-db", "--skip-final-snapshot"],
            "DBInstanceNotFound",
        ),
    ],
)
def test_the_aws_cli_gets_the_documented_error_codes(aws_cli, emulator, args, code):
    result = aws_cli(emulator.url, "rds", *args)
    assert result.code != 0
    assert f"({code})" in result.stderr, result.stderr


def test_account_attributes_report_the_instance_quota_through_the_cli(aws_cli, emulator, rds_client):
    emulator.configure(max_db_instances=77)
    create_source(rds_client, "postgres")
    result = aws_cli(emulator.url, "rds", "describe-account-attributes")
    assert result.code == 0, result.stderr
    quotas = {q["AccountQuotaName"]: q for q in result.output["AccountQuotas"]}
    assert quotas["DBInstances"]["Max"] == 77
    assert quotas["DBInstances"]["Used"] == own_instances(rds_client) >= 1
    assert "DBClusters" in quotas


def test_create_beyond_the_quota_is_instance_quota_exceeded(emulator, rds_client):
    # Instances an earlier test left are deleted in the background; one vanishing between the count and the
    # create would free a place under the quota.
    deadline = time.monotonic() + 120
    while any(i["DBInstanceStatus"] == "deleting" for i in rds_client.describe_db_instances()["DBInstances"]):
        assert time.monotonic() < deadline, "instances still deleting after 120 s"
        time.sleep(0.5)
    used = own_instances(rds_client)
    emulator.configure(max_db_instances=used)
    with pytest.raises(rds_client.exceptions.InstanceQuotaExceededFault):
        create_source(rds_client, "postgres")


def test_a_class_change_waits_for_the_maintenance_window_unless_applied_immediately(aws_cli, emulator, rds_client):
    source = create_source(rds_client, "mariadb")
    identifier = source["DBInstanceIdentifier"]
    rds_client.modify_db_instance(DBInstanceIdentifier=identifier, DBInstanceClass="db.r6g.large")
    described = describe_instance(rds_client, identifier)
    assert described["DBInstanceClass"] == source["DBInstanceClass"]
    assert described["PendingModifiedValues"] == {"DBInstanceClass": "db.r6g.large"}
    result = aws_cli(
        emulator.url,
        "rds",
        "modify-db-instance",
        "--db-instance-identifier",
        identifier,
        "--db-instance-class",
        "db.t4g.small",
        "--apply-immediately",
    )
    assert result.code == 0, result.stderr
    assert result.output["DBInstance"]["DBInstanceClass"] == "db.t4g.small"
    assert result.output["DBInstance"]["PendingModifiedValues"] == {}


def test_modify_and_delete_are_refused_in_the_states_rds_refuses_them(emulator, rds_client):
    emulator.configure(instance_available_seconds=2.0)
    identifier = unique("state")
    rds_client.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        MasterUsername="app",
        MasterUserPassword="Source-pass-1",
        AllocatedStorage=20,
    )
    with pytest.raises(rds_client.exceptions.InvalidDBInstanceStateFault):
        rds_client.modify_db_instance(DBInstanceIdentifier=identifier, DeletionProtection=False)
    with pytest.raises(rds_client.exceptions.InvalidDBInstanceStateFault):  # no final snapshot while creating
        rds_client.delete_db_instance(DBInstanceIdentifier=identifier, FinalDBSnapshotIdentifier="final-1")
    with pytest.raises(rds_client.exceptions.ClientError) as both:
        rds_client.delete_db_instance(
            DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, FinalDBSnapshotIdentifier="final-1"
        )
    assert both.value.response["Error"]["Code"] == "InvalidParameterCombination"
    emulator.configure(instance_available_seconds=0.1)
    wait_instance(rds_client, identifier)
    rds_client.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    # Still visible while it is being deleted, and a second delete is refused meanwhile.
    assert describe_instance(rds_client, identifier)["DBInstanceStatus"] == "deleting"
    with pytest.raises(rds_client.exceptions.InvalidDBInstanceStateFault):
        rds_client.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    with pytest.raises(rds_client.exceptions.InvalidDBInstanceStateFault):
        rds_client.modify_db_instance(DBInstanceIdentifier=identifier, MasterUserPassword="Another-pass-2")


def test_describe_pages_through_the_cli_with_a_valid_page_size(aws_cli, emulator, rds_client):
    for _ in range(3):
        create_source(rds_client, "postgres")

    def settled() -> bool:
        # An instance an earlier test deleted may vanish between the CLI's listing and ours (a loaded machine).
        return all(i["DBInstanceStatus"] != "deleting" for i in rds_client.describe_db_instances()["DBInstances"])

    wait_for(settled, timeout=60, what="earlier deletions to finish")
    result = aws_cli(emulator.url, "rds", "describe-db-instances", "--page-size", "20")
    assert result.code == 0, result.stderr
    expected = {i["DBInstanceIdentifier"] for i in rds_client.describe_db_instances()["DBInstances"]}
    assert {i["DBInstanceIdentifier"] for i in result.output["DBInstances"]} == expected


def test_subnet_groups_and_the_default_vpc(emulator_factory, aws_env):
    import boto3

    handle = emulator_factory(default_vpc=False)
    rds = boto3.client("rds", endpoint_url=handle.url)
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    with pytest.raises(rds.exceptions.ClientError) as caught:
        rds.create_db_instance(
            DBInstanceIdentifier=unique("novpc"),
            Engine="postgres",
            DBInstanceClass="db.t4g.micro",
            MasterUsername="app",
            MasterUserPassword="Source-pass-1",
        )
    assert caught.value.response["Error"]["Code"] == "InvalidVPCNetworkStateFault"
    with pytest.raises(rds.exceptions.ClientError) as named_default:
        rds.create_db_subnet_group(DBSubnetGroupName="default", DBSubnetGroupDescription="d", SubnetIds=["subnet-1"])
    assert named_default.value.response["Error"]["Code"] == "InvalidParameterValue"
    rds.create_db_subnet_group(DBSubnetGroupName="Central-DB", DBSubnetGroupDescription="d", SubnetIds=["subnet-1"])
    identifier = unique("placed")
    rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        MasterUsername="app",
        MasterUserPassword="Source-pass-1",
        DBSubnetGroupName="central-db",
    )
    placed = wait_for(lambda: describe_instance(rds, identifier), what="instance")
    assert placed["DBSubnetGroup"]["DBSubnetGroupName"] == "central-db"
    rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)


def test_tags_round_trip_through_the_cli_and_unknown_arns_are_refused(aws_cli, emulator, rds_client):
    arn = create_source(rds_client, "postgres")["DBInstanceArn"]
    added = aws_cli(emulator.url, "rds", "add-tags-to-resource", "--resource-name", arn, "--tags", "Key=owner,Value=bv")
    assert added.code == 0, added.stderr
    listed = aws_cli(emulator.url, "rds", "list-tags-for-resource", "--resource-name", arn)
    assert listed.code == 0 and {"Key": "owner", "Value": "bv"} in listed.output["TagList"]
    removed = aws_cli(emulator.url, "rds", "remove-tags-from-resource", "--resource-name", arn, "--tag-keys", "owner")
    assert removed.code == 0, removed.stderr
    assert rds_client.list_tags_for_resource(ResourceName=arn)["TagList"] == []
    missing = aws_cli(
        emulator.url, "rds", "list-tags-for-resource", "--resource-name", arn.rsplit(":", 1)[0] + ":no-such-db"
    )
    assert missing.code != 0 and "(DBInstanceNotFound)" in missing.stderr
    invalid = aws_cli(emulator.url, "rds", "list-tags-for-resource", "--resource-name", "not-an-arn")
    assert invalid.code != 0 and "(InvalidParameterValue)" in invalid.stderr
