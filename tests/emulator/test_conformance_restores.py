"""Restores meet the restoring account's reality: its network, its quotas; internal errors end jobs FAILED.

Sources: AWS Backup restores validate the RDS parameters asynchronously and report the RDS fault in the restore
job's StatusMessage (Backup developer guide, "Restoring an Amazon RDS database"; DescribeRestoreJob);
GetRecoveryPointRestoreMetadata returns the metadata recorded at backup time (Backup API reference); RDS
faults and quotas per the RDS API reference (CreateDBInstance errors, DescribeAccountAttributes).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from harness.aws import ROLE_ARN, create_source, unique, wait_backup_job, wait_copy_job, wait_restore_job

from emulator import restores
from worker.kinds.rds_metadata import Network as RestoreNetwork
from worker.kinds.rds_metadata import build_metadata

pytestmark = pytest.mark.usefixtures("cleanup_instances")
CENTRAL_ACCOUNT = "210987654321"


def backed_up(backup, rds, **network) -> str:
    source = create_source(rds, "postgres", **network)
    vault = unique("prod")
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN)
    assert wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"
    return str(job["RecoveryPointArn"]), vault


def restore(backup, arn: str, metadata: dict[str, str]) -> dict:
    job = backup.start_restore_job(RecoveryPointArn=arn, Metadata=metadata, IamRoleArn=ROLE_ARN)
    return wait_restore_job(backup, job["RestoreJobId"])


@pytest.fixture
def copied(backup_client, rds_client, emulator):
    """A recovery point of a source on its own network, copied to a vault of the central account: (arn, vault)."""
    subnets = unique("prod-db")
    rds_client.create_db_subnet_group(DBSubnetGroupName=subnets, DBSubnetGroupDescription="d", SubnetIds=["subnet-p"])
    emulator.add_network(security_groups=["sg-0prod"], option_groups=["prod-opts"], parameter_groups=["prod-pg"])
    point, vault = backed_up(
        backup_client,
        rds_client,
        DBSubnetGroupName=subnets,
        VpcSecurityGroupIds=["sg-0prod"],
        OptionGroupName="prod-opts",
        DBParameterGroupName="prod-pg",
    )
    central = unique("central")
    destination = f"arn:aws:backup:us-east-1:{CENTRAL_ACCOUNT}:backup-vault:{central}"
    copy = backup_client.start_copy_job(
        RecoveryPointArn=point, SourceBackupVaultName=vault, DestinationBackupVaultArn=destination, IamRoleArn=ROLE_ARN
    )
    done = wait_copy_job(backup_client, copy["CopyJobId"])
    assert done["State"] == "COMPLETED"
    return done["DestinationRecoveryPointArn"], central, subnets


def test_a_copy_restored_with_its_recorded_metadata_fails_in_the_central_account(backup_client, emulator, copied):
    arn, central, source_subnets = copied
    recorded = backup_client.get_recovery_point_restore_metadata(
        BackupVaultName=central, RecoveryPointArn=arn, BackupVaultAccountId=CENTRAL_ACCOUNT
    )["RestoreMetadata"]
    # The copy records the *source* account's names, as AWS does.
    assert recorded["DBSubnetGroupName"] == source_subnets
    assert json.loads(recorded["VpcSecurityGroupIds"]) == ["sg-0prod"]
    assert (recorded["OptionGroupName"], recorded["DBParameterGroupName"]) == ("prod-opts", "prod-pg")
    unchanged = restore(backup_client, arn, {**recorded, "DBInstanceIdentifier": unique("asis")})
    assert unchanged["Status"] == "FAILED"
    assert unchanged["StatusMessage"].startswith("DBSubnetGroupNotFoundFault")
    assert "CreatedResourceArn" not in unchanged

    emulator.add_network(CENTRAL_ACCOUNT, subnet_groups={"central-db": ["subnet-c"]}, security_groups=["sg-0central"])
    ours = RestoreNetwork("central-db", ("sg-0central",))
    selection = SimpleNamespace(db_instance_class=None, db_subnet_group=None, vpc_security_group_ids=(), parameters={})
    metadata = build_metadata(recorded, unique("bv"), selection, ours)
    done = restore(backup_client, arn, metadata)
    assert done["Status"] == "COMPLETED", done.get("StatusMessage")
    assert done["CreatedResourceArn"].split(":")[4] == CENTRAL_ACCOUNT


@pytest.mark.parametrize(
    ("key", "fault"),
    [
        ("VpcSecurityGroupIds", "InvalidParameterValue"),
        ("OptionGroupName", "OptionGroupNotFoundFault"),
        ("DBParameterGroupName", "DBParameterGroupNotFound"),
    ],
)
def test_each_source_name_left_in_fails_the_restore_with_its_fault(backup_client, emulator, copied, key, fault):
    arn, central, _ = copied
    recorded = backup_client.get_recovery_point_restore_metadata(
        BackupVaultName=central, RecoveryPointArn=arn, BackupVaultAccountId=CENTRAL_ACCOUNT
    )["RestoreMetadata"]
    emulator.add_network(CENTRAL_ACCOUNT, subnet_groups={"central-db": ["subnet-c"]})
    source_names = ("VpcSecurityGroupIds", "OptionGroupName", "DBParameterGroupName", "DBSubnetGroupName")
    metadata = {k: v for k, v in recorded.items() if k not in source_names}
    metadata.update({"DBInstanceIdentifier": unique("left"), "DBSubnetGroupName": "central-db", key: recorded[key]})
    done = restore(backup_client, arn, metadata)
    assert done["Status"] == "FAILED"
    assert done["StatusMessage"].startswith(fault)


def test_without_a_default_vpc_a_restore_needs_a_subnet_group(backup_client, rds_client, emulator):
    arn, _ = backed_up(backup_client, rds_client)
    group = unique("hardened")
    rds_client.create_db_subnet_group(DBSubnetGroupName=group, DBSubnetGroupDescription="d", SubnetIds=["subnet-h"])
    emulator.configure(default_vpc=False)
    bare = restore(backup_client, arn, {"DBInstanceIdentifier": unique("bare")})
    assert bare["Status"] == "FAILED" and bare["StatusMessage"].startswith("InvalidVPCNetworkStateFault")
    named_default = restore(
        backup_client, arn, {"DBInstanceIdentifier": unique("dflt"), "DBSubnetGroupName": "default"}
    )
    assert named_default["StatusMessage"].startswith("DBSubnetGroupNotFoundFault")
    placed = restore(backup_client, arn, {"DBInstanceIdentifier": unique("placed"), "DBSubnetGroupName": group})
    assert placed["Status"] == "COMPLETED", placed.get("StatusMessage")


def test_a_restore_beyond_the_instance_quota_fails_with_rds_fault(backup_client, rds_client, emulator):
    arn, _ = backed_up(backup_client, rds_client)
    attributes = rds_client.describe_account_attributes()["AccountQuotas"]
    used = next(q["Used"] for q in attributes if q["AccountQuotaName"] == "DBInstances")
    emulator.configure(max_db_instances=used)
    over = restore(backup_client, arn, {"DBInstanceIdentifier": unique("over")})
    assert over["Status"] == "FAILED" and over["StatusMessage"].startswith("InstanceQuotaExceeded")
    emulator.configure(max_db_instances=used + 1)
    assert restore(backup_client, arn, {"DBInstanceIdentifier": unique("fits")})["Status"] == "COMPLETED"


def test_an_internal_error_in_the_restore_task_fails_the_job(backup_client, rds_client, emulator, monkeypatch):
    arn, _ = backed_up(backup_client, rds_client)

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug inside the emulator")

    monkeypatch.setattr(restores, "_register", broken)
    done = restore(backup_client, arn, {"DBInstanceIdentifier": unique("bug")})
    assert done["Status"] == "FAILED"
    assert "internal error" in done["StatusMessage"] and "RuntimeError" in done["StatusMessage"]
