"""DynamoDB tables: a backup copies a moto table's items into a recovery point; a restore creates a new table in
moto holding them, with the source's key schema, indexes and billing mode.

Sources: AWS Backup developer guide, "Restore a DynamoDB table" (restore metadata `targetTableName`,
`encryptionType` Default|KMS, `kmsMasterKeyArn`); DynamoDB API reference, RestoreTableFromBackup (a target name
in use fails the restore with TableAlreadyExistsException); Backup API reference (resource type `DynamoDB`).
"""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

import boto3
import pytest
from harness.aws import ROLE_ARN, unique, wait_backup_job, wait_copy_job, wait_restore_job

from standins.tables import create_orders_table
from worker.kinds.dynamodb import restore_metadata


@pytest.fixture
def dynamodb():
    client = boto3.client("dynamodb")
    made: list[str] = []
    yield client, made
    for name in made:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_table(TableName=name)


def make_table(dynamodb, items: int, *, stamp_minutes_apart: float = 1.0) -> str:
    """An orders table whose `updated_at` stamps are `stamp_minutes_apart` apart, the newest now."""
    client, made = dynamodb
    name = unique("orders")
    made.append(name)
    create_orders_table(name, items, timedelta(minutes=stamp_minutes_apart * max(items - 1, 1)), client)
    return name


def back_up(backup, table_arn: str) -> tuple[str, str]:
    vault = unique("prod")
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=table_arn, IamRoleArn=ROLE_ARN)
    assert wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"
    return str(job["RecoveryPointArn"]), vault


def table_arn(dynamodb, name: str) -> str:
    return str(dynamodb[0].describe_table(TableName=name)["Table"]["TableArn"])


def test_backup_restore_and_copy_of_a_table(backup_client, dynamodb, emulator):
    client, made = dynamodb
    source = make_table(dynamodb, 30)
    arn, vault = back_up(backup_client, table_arn(dynamodb, source))
    assert arn.startswith("arn:aws:backup:us-east-1:")
    point = backup_client.describe_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
    assert point["ResourceType"] == "DynamoDB" and point["Status"] == "COMPLETED"
    recorded = backup_client.get_recovery_point_restore_metadata(BackupVaultName=vault, RecoveryPointArn=arn)
    assert recorded["ResourceType"] == "DynamoDB"
    assert recorded["RestoreMetadata"] == {"originalTableName": source, "encryptionType": "Default"}
    # Written after the backup: the restore must not hold it.
    client.put_item(TableName=source, Item={"pk": {"S": "late"}, "day": {"S": "all"}, "updated_at": {"N": "1"}})

    central = unique("central")
    backup_client.create_backup_vault(BackupVaultName=central)
    copy = backup_client.start_copy_job(
        RecoveryPointArn=arn,
        SourceBackupVaultName=vault,
        DestinationBackupVaultArn=f"arn:aws:backup:us-east-1:123456789012:backup-vault:{central}",
        IamRoleArn=ROLE_ARN,
    )
    copied = wait_copy_job(backup_client, copy["CopyJobId"])
    assert copied["State"] == "COMPLETED" and copied["ResourceType"] == "DynamoDB"

    target = unique("bv-restored")
    made.append(target)
    job = backup_client.start_restore_job(
        RecoveryPointArn=copied["DestinationRecoveryPointArn"],
        Metadata={"targetTableName": target},
        IamRoleArn=ROLE_ARN,
        ResourceType="DynamoDB",
    )
    done = wait_restore_job(backup_client, job["RestoreJobId"])
    assert done["Status"] == "COMPLETED", done
    assert done["ResourceType"] == "DynamoDB"
    restored = client.describe_table(TableName=target)["Table"]
    assert done["CreatedResourceArn"] == restored["TableArn"]
    assert restored["TableStatus"] == "ACTIVE"
    assert restored["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert [index["IndexName"] for index in restored["GlobalSecondaryIndexes"]] == ["by_day"]
    assert restored["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    keys = {item["pk"]["S"] for item in client.scan(TableName=target)["Items"]}
    assert keys == {f"order-{n}" for n in range(30)}
    # The job's events, as for RDS, name the resource type; the COMPLETED one carries the table's ARN.
    details = [
        event["detail"] for event in emulator.events() if event["detail"].get("restoreJobId") == job["RestoreJobId"]
    ]
    assert [d["status"] for d in details if "status" in d][-1] == "COMPLETED"
    assert {d["resourceType"] for d in details if "resourceType" in d} == {"DynamoDB"}
    assert details[-1]["createdResourceArn"] == restored["TableArn"]


def test_restore_metadata_is_validated_as_aws_does(backup_client, dynamodb):
    arn, _ = back_up(backup_client, table_arn(dynamodb, make_table(dynamodb, 1)))
    refused = {
        "no target name": {},
        "unknown encryption": {"targetTableName": unique("bv-x"), "encryptionType": "AES"},
        "KMS without a key": {"targetTableName": unique("bv-x"), "encryptionType": "KMS"},
    }
    for why, metadata in refused.items():
        with pytest.raises(backup_client.exceptions.InvalidParameterValueException):
            backup_client.start_restore_job(RecoveryPointArn=arn, Metadata=metadata, IamRoleArn=ROLE_ARN)
            pytest.fail(why)
    with pytest.raises(backup_client.exceptions.InvalidParameterValueException, match="does not match DynamoDB"):
        backup_client.start_restore_job(
            RecoveryPointArn=arn, Metadata={"targetTableName": "x"}, IamRoleArn=ROLE_ARN, ResourceType="RDS"
        )


def test_a_target_name_in_use_fails_the_job_and_leaves_the_table_alone(backup_client, dynamodb):
    client, _ = dynamodb
    existing = make_table(dynamodb, 2)
    arn, _ = back_up(backup_client, table_arn(dynamodb, make_table(dynamodb, 5)))
    job = backup_client.start_restore_job(
        RecoveryPointArn=arn, Metadata={"targetTableName": existing}, IamRoleArn=ROLE_ARN
    )
    done = wait_restore_job(backup_client, job["RestoreJobId"])
    assert done["Status"] == "FAILED"
    assert "TableAlreadyExistsException" in done["StatusMessage"]
    assert "CreatedResourceArn" not in done
    assert client.describe_table(TableName=existing)["Table"]["ItemCount"] in (0, 2)
    assert len(client.scan(TableName=existing)["Items"]) == 2


def test_a_stale_copy_lacks_the_newest_items(backup_client, dynamodb, emulator):
    client, made = dynamodb
    source = make_table(dynamodb, 10, stamp_minutes_apart=30)
    source_arn = table_arn(dynamodb, source)
    emulator.set_stale(source_arn, 120, table=source, column="updated_at")
    arn, _ = back_up(backup_client, source_arn)
    target = unique("bv-stale")
    made.append(target)
    job = backup_client.start_restore_job(
        RecoveryPointArn=arn, Metadata={"targetTableName": target}, IamRoleArn=ROLE_ARN
    )
    assert wait_restore_job(backup_client, job["RestoreJobId"])["Status"] == "COMPLETED"
    keys = {item["pk"]["S"] for item in client.scan(TableName=target)["Items"]}
    # The newest two hours (items 6..9 at 30-minute steps, the newest included) are missing.
    assert keys == {f"order-{n}" for n in range(6)}


def test_the_aws_cli_restores_a_table(aws_cli, emulator, backup_client, dynamodb):
    client, made = dynamodb
    arn, _ = back_up(backup_client, table_arn(dynamodb, make_table(dynamodb, 3)))
    target = unique("bv-cli")
    made.append(target)
    started = aws_cli(
        emulator.url,
        "backup",
        "start-restore-job",
        "--recovery-point-arn",
        arn,
        "--iam-role-arn",
        ROLE_ARN,
        "--resource-type",
        "DynamoDB",
        "--metadata",
        f"targetTableName={target},encryptionType=Default",
    )
    assert started.code == 0, started.stderr
    done = wait_restore_job(backup_client, started.output["RestoreJobId"])
    assert done["Status"] == "COMPLETED"
    assert len(client.scan(TableName=target)["Items"]) == 3


def test_a_customer_key_is_recorded_and_kept_by_the_restore(backup_client, dynamodb):
    """The restore metadata names the source's customer managed key; restoring with it (what the worker's
    DynamoDB kind asks) gives a table encrypted with that key."""
    client, made = dynamodb
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    name = unique("orders-kms")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
    )
    made.append(name)
    arn, vault = back_up(backup_client, table_arn(dynamodb, name))
    recorded = backup_client.get_recovery_point_restore_metadata(BackupVaultName=vault, RecoveryPointArn=arn)
    assert recorded["RestoreMetadata"]["encryptionType"] == "KMS"
    target = unique("bv-kms")
    made.append(target)
    metadata = restore_metadata(recorded["RestoreMetadata"], target)
    job = backup_client.start_restore_job(RecoveryPointArn=arn, Metadata=metadata, IamRoleArn=ROLE_ARN)
    assert wait_restore_job(backup_client, job["RestoreJobId"])["Status"] == "COMPLETED"
    sse = client.describe_table(TableName=target)["Table"]["SSEDescription"]
    assert sse["SSEType"] == "KMS" and sse["KMSMasterKeyArn"] == recorded["RestoreMetadata"]["kmsMasterKeyArn"]


def test_the_target_table_is_never_active_before_the_restore_is_done(backup_client, dynamodb, emulator):
    """AWS: the table is CREATING until its data is in, ACTIVE once the job is COMPLETED. moto creates tables
    ACTIVE, so the emulator creates the table at the end of the restore: while the job runs, no ACTIVE table
    with partial data is there to be read."""
    client, made = dynamodb
    emulator.configure(restore_seconds=3)
    source = make_table(dynamodb, 30)
    arn, _vault = back_up(backup_client, table_arn(dynamodb, source))
    target = unique("bv-creating")
    made.append(target)
    job = backup_client.start_restore_job(
        RecoveryPointArn=arn, Metadata={"targetTableName": target}, IamRoleArn=ROLE_ARN, ResourceType="DynamoDB"
    )
    seen: set[str] = set()
    while (status := backup_client.describe_restore_job(RestoreJobId=job["RestoreJobId"])["Status"]) in (
        "PENDING",
        "RUNNING",
    ):
        try:
            client.describe_table(TableName=target)
        except client.exceptions.ResourceNotFoundException:
            seen.add(f"{status}:absent")
        else:
            seen.add(f"{status}:present")  # only in the last moments of RUNNING: being filled, then COMPLETED
        time.sleep(0.05)
    # Most of the restore time the table is not there: never an ACTIVE table whose data is still to come.
    assert "RUNNING:absent" in seen, seen
    assert status == "COMPLETED"
    restored = client.describe_table(TableName=target)["Table"]
    assert restored["TableStatus"] == "ACTIVE"
    assert len(client.scan(TableName=target)["Items"]) == 30
