"""DynamoDB tables: a backup copies a moto table's items into a recovery point; a restore creates a new table in
moto holding them, with the source's key schema, indexes and billing mode; the emulator's DynamoDB endpoint
shows that table CREATING until the restore is done.

Sources: AWS Backup developer guide, "Restore a DynamoDB table" (restore metadata `targetTableName`,
`encryptionType` Default|KMS, `kmsMasterKeyArn`); DynamoDB API reference, RestoreTableFromBackup (a target name
in use fails the restore with TableAlreadyExistsException), DescribeTable (TableStatus), GetItem/Scan/...
(ResourceNotFoundException when the table's "status might not be ACTIVE"), DeleteTable (ResourceInUseException
for a table being created); Backup API reference (resource type `DynamoDB`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
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


def through_emulator(emulator):
    """A DynamoDB client of the emulator's DynamoDB endpoint (the JSON protocol, passed through to moto)."""
    return boto3.client("dynamodb", endpoint_url=emulator.url, config=Config(retries={"max_attempts": 1}))


def start_restore(backup_client, dynamodb, items: int, prefix: str) -> tuple[str, str]:
    """(restore job id, target table name) of a restore of a new `items`-item table."""
    arn, _vault = back_up(backup_client, table_arn(dynamodb, make_table(dynamodb, items)))
    target = unique(prefix)
    dynamodb[1].append(target)
    job = backup_client.start_restore_job(
        RecoveryPointArn=arn, Metadata={"targetTableName": target}, IamRoleArn=ROLE_ARN, ResourceType="DynamoDB"
    )
    return job["RestoreJobId"], target


def refused_code(call, **params) -> str:
    with pytest.raises(ClientError) as refused:
        call(**params)
    return str(refused.value.response["Error"]["Code"])


def test_the_target_table_is_creating_until_the_restore_is_done(backup_client, dynamodb, emulator):
    """DynamoDB API reference: a table being created is described with TableStatus CREATING and listed; reads and
    writes of its items fail with ResourceNotFoundException ("its status might not be ACTIVE"); DeleteTable and
    UpdateTable fail with ResourceInUseException. Once the restore job is COMPLETED the table is ACTIVE, with
    every item."""
    emulator.configure(restore_seconds=4)
    ddb = through_emulator(emulator)
    job_id, target = start_restore(backup_client, dynamodb, 30, "bv-creating")
    seen: set[str] = set()
    refusals: dict[str, str] = {}
    status = "PENDING"
    while status in ("PENDING", "RUNNING"):
        try:
            table_status = ddb.describe_table(TableName=target)["Table"]["TableStatus"]
        except ddb.exceptions.ResourceNotFoundException:
            table_status = "absent"
        # The job's status after the table's: a table seen ACTIVE must belong to a job already COMPLETED.
        status = backup_client.describe_restore_job(RestoreJobId=job_id)["Status"]
        seen.add(f"{status}:{table_status}")
        if table_status == "CREATING" and not refusals:
            assert target in ddb.list_tables()["TableNames"]
            key = {"pk": {"S": "order-0"}}
            statement = f'SELECT * FROM "{target}"'
            refusals = {
                "GetItem": refused_code(ddb.get_item, TableName=target, Key=key),
                "BatchGetItem": refused_code(ddb.batch_get_item, RequestItems={target: {"Keys": [key]}}),
                "Scan": refused_code(ddb.scan, TableName=target, Select="COUNT"),
                "Query": refused_code(
                    ddb.query,
                    TableName=target,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": "order-0"}},
                ),
                "ExecuteStatement": refused_code(ddb.execute_statement, Statement=statement),
                "PutItem": refused_code(ddb.put_item, TableName=target, Item={**key, "day": {"S": "x"}}),
                "TransactGetItems": refused_code(
                    ddb.transact_get_items, TransactItems=[{"Get": {"TableName": target, "Key": key}}]
                ),
                "DeleteTable": refused_code(ddb.delete_table, TableName=target),
                "UpdateTable": refused_code(ddb.update_table, TableName=target, BillingMode="PAY_PER_REQUEST"),
            }
        time.sleep(0.05)
    assert status == "COMPLETED"
    # Never ACTIVE while the job runs: no ACTIVE table whose data is still to come.
    assert "RUNNING:CREATING" in seen, seen
    assert not {"PENDING:ACTIVE", "RUNNING:ACTIVE"} & seen, seen
    not_active = {op: "ResourceNotFoundException" for op in ("GetItem", "BatchGetItem", "Scan", "Query")}
    not_active |= {op: "ResourceNotFoundException" for op in ("ExecuteStatement", "PutItem", "TransactGetItems")}
    assert refusals == {**not_active, "DeleteTable": "ResourceInUseException", "UpdateTable": "ResourceInUseException"}
    restored = ddb.describe_table(TableName=target)["Table"]
    assert restored["TableStatus"] == "ACTIVE"
    assert len(ddb.scan(TableName=target)["Items"]) == 30
    # The job's COMPLETED event follows the table's ACTIVE: whoever reacts to it finds the table usable.
    completed = [e for e in emulator.events() if e["detail"].get("restoreJobId") == job_id]
    assert completed and completed[-1]["detail"].get("status") == "COMPLETED"


def test_a_table_can_turn_active_after_its_job_completes(backup_client, dynamodb, emulator):
    """AWS documents no order between the job's COMPLETED and the table's ACTIVE; with the emulator's lag knob
    a client sees a COMPLETED job whose table is still CREATING, and must wait for ACTIVE."""
    emulator.configure(restore_seconds=0.5, table_active_lag_seconds=2)
    ddb = through_emulator(emulator)
    job_id, target = start_restore(backup_client, dynamodb, 5, "bv-lag")
    assert wait_restore_job(backup_client, job_id)["Status"] == "COMPLETED"
    assert ddb.describe_table(TableName=target)["Table"]["TableStatus"] == "CREATING"
    assert refused_code(ddb.scan, TableName=target) == "ResourceNotFoundException"
    deadline = time.monotonic() + 30
    while ddb.describe_table(TableName=target)["Table"]["TableStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, "the table never turned ACTIVE"
        time.sleep(0.1)
    assert len(ddb.scan(TableName=target)["Items"]) == 5
    ddb.delete_table(TableName=target)


def test_every_other_call_passes_through_unchanged(dynamodb, emulator):
    """Tables no restore is creating (a ledger, a source) work through the emulator's endpoint as in moto,
    refusals included."""
    ddb = through_emulator(emulator)
    name = unique("ledger")
    dynamodb[1].append(name)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    condition = {"ConditionExpression": "attribute_not_exists(pk)"}
    code = refused_code(ddb.put_item, TableName=name, Item={"pk": {"S": "a"}}, **condition)
    assert code == "ConditionalCheckFailedException"
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert refused_code(ddb.describe_table, TableName=unique("missing")) == "ResourceNotFoundException"
    assert name in ddb.list_tables()["TableNames"]
    ddb.delete_table(TableName=name)


async def test_the_worker_adapter_never_calls_a_table_in_use_gone(backup_client, dynamodb, emulator):
    """The worker's DynamoDbTables.delete over the refusals above: DeleteTable on a table being created raises
    (the cleanup records FAILED and the sweeper retries), never "not found", which a record would then claim;
    once ACTIVE it deletes, and a table already DELETING counts as deleted."""
    from aiobotocore.session import get_session

    from worker.adapters.dynamodb_tables import DynamoDbTables
    from worker.errors import RequestRefused

    emulator.configure(restore_seconds=0.2, table_active_lag_seconds=3)
    job_id, target = start_restore(backup_client, dynamodb, 3, "bv-adapter")
    assert wait_restore_job(backup_client, job_id)["Status"] == "COMPLETED"
    async with get_session().create_client("dynamodb", endpoint_url=emulator.url) as client:
        tables = DynamoDbTables(client)
        with pytest.raises(RequestRefused) as refused:
            await tables.delete(target)
        assert refused.value.code == "ResourceInUseException"
        deadline = time.monotonic() + 30
        while (await tables.describe(target)).status != "ACTIVE":
            assert time.monotonic() < deadline, "the table never turned ACTIVE"
            await asyncio.sleep(0.1)
        assert await tables.delete(target) is True
        assert await tables.delete(target) in (True, False)  # DELETING (True) or already gone (False)
        assert await tables.describe(target) is None or (await tables.describe(target)).status == "DELETING"
