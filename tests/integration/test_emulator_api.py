"""AWS behaviours of the emulated APIs, seen through unmodified boto3: errors, idempotency, throttling, paging."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from harness.aws import (
    PASSWORD,
    ROLE_ARN,
    create_source,
    describe_instance,
    event_notes,
    insert_events,
    unique,
    wait_backup_job,
    wait_for,
    wait_gone,
    wait_instance,
    wait_restore_job,
)

pytestmark = pytest.mark.usefixtures("cleanup_instances")


def code_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    error = excinfo.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def client(service: str, url: str, retries: dict | None = None):
    return boto3.client(service, endpoint_url=url, config=Config(retries=retries or {"mode": "standard"}))


def recovery_point(backup, rds, engine: str = "mariadb", notes: tuple[str, ...] = ("a",)) -> tuple[dict, str]:
    source = create_source(rds, engine)
    insert_events(source, PASSWORD, list(notes))
    vault = unique("prod")
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN)
    assert wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"
    return source, job["RecoveryPointArn"]


def test_unknown_things_give_the_aws_error_codes(backup_client, rds_client, emulator):
    with pytest.raises(ClientError) as err:
        rds_client.describe_db_instances(DBInstanceIdentifier="no-such-db")
    assert code_of(err) == ("DBInstanceNotFound", 404)
    with pytest.raises(rds_client.exceptions.DBInstanceNotFoundFault):
        rds_client.delete_db_instance(DBInstanceIdentifier="no-such-db", SkipFinalSnapshot=True)
    with pytest.raises(rds_client.exceptions.DBSubnetGroupNotFoundFault):
        rds_client.describe_db_subnet_groups(DBSubnetGroupName="no-such-group")
    with pytest.raises(ClientError) as err:
        rds_client.create_db_instance(
            DBInstanceIdentifier="bad--name",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="a",
            MasterUserPassword="x" * 10,
        )
    assert code_of(err) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as err:
        rds_client.create_db_instance(
            DBInstanceIdentifier=unique("x"),
            DBInstanceClass="db.t3.micro",
            Engine="oracle-ee",
            MasterUsername="a",
            MasterUserPassword="x" * 10,
        )
    assert code_of(err)[0] == "InvalidParameterValue"

    with pytest.raises(backup_client.exceptions.ResourceNotFoundException):
        backup_client.describe_restore_job(RestoreJobId="0000-unknown")
    with pytest.raises(backup_client.exceptions.ResourceNotFoundException):
        backup_client.describe_backup_vault(BackupVaultName="no-such-vault")
    with pytest.raises(backup_client.exceptions.ResourceNotFoundException):
        backup_client.start_restore_job(
            RecoveryPointArn="arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-nope",
            Metadata={"DBInstanceIdentifier": "x"},
        )
    with pytest.raises(backup_client.exceptions.ResourceNotFoundException):
        backup_client.describe_copy_job(CopyJobId="nope")
    vault = unique("v")
    backup_client.create_backup_vault(BackupVaultName=vault)
    with pytest.raises(backup_client.exceptions.AlreadyExistsException):
        backup_client.create_backup_vault(BackupVaultName=vault)
    assert emulator.stats()["errors"]["rds:DescribeDBInstances:DBInstanceNotFound"] >= 1


def test_instance_state_rules(rds_client, emulator):
    emulator.configure(instance_available_seconds=1.0)
    identifier = unique("state")
    rds_client.create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t3.micro",
        Engine="mariadb",
        MasterUsername="a",
        MasterUserPassword=PASSWORD,
    )
    with pytest.raises(rds_client.exceptions.DBInstanceAlreadyExistsFault):
        rds_client.create_db_instance(
            DBInstanceIdentifier=identifier,
            DBInstanceClass="db.t3.micro",
            Engine="mariadb",
            MasterUsername="a",
            MasterUserPassword=PASSWORD,
        )
    creating = describe_instance(rds_client, identifier)
    assert creating["DBInstanceStatus"] == "creating" and "Endpoint" not in creating
    with pytest.raises(rds_client.exceptions.InvalidDBInstanceStateFault):
        rds_client.modify_db_instance(DBInstanceIdentifier=identifier, MasterUserPassword="Another-pass-1")
    wait_instance(rds_client, identifier)
    with pytest.raises(ClientError) as err:
        rds_client.delete_db_instance(DBInstanceIdentifier=identifier)
    assert code_of(err)[0] == "InvalidParameterCombination"
    rds_client.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
    with pytest.raises(rds_client.exceptions.InvalidDBInstanceStateFault):
        rds_client.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    wait_gone(rds_client, identifier)


def test_describe_filters_tags_and_subnet_groups(rds_client, emulator):
    group = unique("restore-subnets")
    rds_client.create_db_subnet_group(
        DBSubnetGroupName=group, DBSubnetGroupDescription="isolated", SubnetIds=["subnet-1", "subnet-2"]
    )
    with pytest.raises(rds_client.exceptions.DBSubnetGroupAlreadyExistsFault):
        rds_client.create_db_subnet_group(DBSubnetGroupName=group, DBSubnetGroupDescription="x", SubnetIds=["s"])
    described = rds_client.describe_db_subnet_groups(DBSubnetGroupName=group)["DBSubnetGroups"][0]
    assert [s["SubnetIdentifier"] for s in described["Subnets"]] == ["subnet-1", "subnet-2"]

    source = create_source(rds_client, "mariadb")
    arn = source["DBInstanceArn"]
    by_filter = rds_client.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [arn]}])
    assert [i["DBInstanceIdentifier"] for i in by_filter["DBInstances"]] == [source["DBInstanceIdentifier"]]
    assert source["InstanceCreateTime"] <= datetime.now(UTC)
    assert source["Endpoint"]["Port"] == 3306

    rds_client.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "team", "Value": "db"}, {"Key": "x", "Value": "1"}])
    rds_client.remove_tags_from_resource(ResourceName=arn, TagKeys=["x"])
    assert rds_client.list_tags_for_resource(ResourceName=arn)["TagList"] == [{"Key": "team", "Value": "db"}]
    assert describe_instance(rds_client, source["DBInstanceIdentifier"])["TagList"] == [{"Key": "team", "Value": "db"}]
    with pytest.raises(rds_client.exceptions.DBInstanceNotFoundFault):
        rds_client.list_tags_for_resource(ResourceName=arn.replace(source["DBInstanceIdentifier"], "gone"))


def test_restores_fail_as_rds_would(backup_client, rds_client, emulator):
    source, point = recovery_point(backup_client, rds_client)
    bad_group = backup_client.start_restore_job(
        RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": unique("rst"), "DBSubnetGroupName": "no-such-group"}
    )
    taken = backup_client.start_restore_job(
        RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": source["DBInstanceIdentifier"]}
    )
    failed = wait_restore_job(backup_client, bad_group["RestoreJobId"])
    assert failed["Status"] == "FAILED" and "DBSubnetGroupNotFoundFault" in failed["StatusMessage"]
    assert "CreatedResourceArn" not in failed
    failed = wait_restore_job(backup_client, taken["RestoreJobId"])
    assert failed["Status"] == "FAILED" and "DBInstanceAlreadyExists" in failed["StatusMessage"]
    with pytest.raises(backup_client.exceptions.InvalidParameterValueException):
        backup_client.start_restore_job(RecoveryPointArn=point, Metadata={})

    emulator.configure(restore_fail_rate=1.0)
    injected = backup_client.start_restore_job(RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": unique("rst")})
    failed = wait_restore_job(backup_client, injected["RestoreJobId"])
    assert failed["Status"] == "FAILED" and "emulated" in failed["StatusMessage"]


def test_the_same_idempotency_token_gives_one_restore(backup_client, rds_client, emulator):
    _, point = recovery_point(backup_client, rds_client)
    metadata = {"DBInstanceIdentifier": unique("rst")}
    first = backup_client.start_restore_job(RecoveryPointArn=point, Metadata=metadata, IdempotencyToken="ledger-key-1")
    second = backup_client.start_restore_job(RecoveryPointArn=point, Metadata=metadata, IdempotencyToken="ledger-key-1")
    assert first["RestoreJobId"] == second["RestoreJobId"]
    assert wait_restore_job(backup_client, first["RestoreJobId"])["Status"] == "COMPLETED"
    assert emulator.stats()["restore_jobs_per_recovery_point"][point] == 1
    other = backup_client.start_restore_job(
        RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": unique("rst")}, IdempotencyToken="ledger-key-2"
    )
    assert other["RestoreJobId"] != first["RestoreJobId"]
    assert emulator.stats()["restore_jobs_per_recovery_point"][point] == 2


def test_throttling_is_retried_by_botocore(emulator_factory):
    emu = emulator_factory(seed=3, throttle_rate=1.0)
    no_retries = {"mode": "standard", "max_attempts": 1}
    with pytest.raises(ClientError) as err:
        client("backup", emu.url, no_retries).list_backup_vaults()
    assert code_of(err) == ("ThrottlingException", 400)
    with pytest.raises(ClientError) as err:
        client("rds", emu.url, no_retries).describe_db_instances()
    assert code_of(err) == ("Throttling", 400)

    emu.configure(throttle_rate=0.5, throttle_operations=["backup:ListBackupVaults", "rds"])
    backup = client("backup", emu.url, {"mode": "standard", "max_attempts": 12})
    rds = client("rds", emu.url, {"mode": "standard", "max_attempts": 12})
    attempts = [backup.list_backup_vaults()["ResponseMetadata"]["RetryAttempts"] for _ in range(2)]
    attempts += [rds.describe_db_instances()["ResponseMetadata"]["RetryAttempts"] for _ in range(2)]
    assert sum(attempts) > 0
    # Operations outside the throttled set are never throttled.
    backup.list_restore_jobs()
    stats = emu.stats()
    assert stats["throttled"].get("backup:ListRestoreJobs") is None
    assert stats["throttled"]["backup:ListBackupVaults"] + stats["throttled"]["rds:DescribeDBInstances"] >= sum(
        attempts
    )


def test_list_restore_jobs_pages_and_filters(emulator_factory):
    emu = emulator_factory(restore_seconds=0.2)
    backup, rds = client("backup", emu.url), client("rds", emu.url)
    _, point = recovery_point(backup, rds)
    first_ids = [
        backup.start_restore_job(RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": f"first-{i}"})[
            "RestoreJobId"
        ]
        for i in range(7)
    ]
    for job_id in first_ids:
        wait_restore_job(backup, job_id)
    between = datetime.now(UTC)
    time.sleep(0.05)
    emu.configure(restore_seconds=30)
    second_ids = [
        backup.start_restore_job(RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": f"second-{i}"})[
            "RestoreJobId"
        ]
        for i in range(5)
    ]
    wait_for(lambda: len(backup.list_restore_jobs(ByStatus="RUNNING")["RestoreJobs"]) == 5, what="5 running")

    pages = list(backup.get_paginator("list_restore_jobs").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["RestoreJobs"]) for p in pages] == [5, 5, 2]
    listed = [j["RestoreJobId"] for p in pages for j in p["RestoreJobs"]]
    assert sorted(listed) == sorted(first_ids + second_ids)

    completed = backup.list_restore_jobs(ByStatus="COMPLETED")["RestoreJobs"]
    assert sorted(j["RestoreJobId"] for j in completed) == sorted(first_ids)
    after = backup.list_restore_jobs(ByCreatedAfter=between)["RestoreJobs"]
    assert sorted(j["RestoreJobId"] for j in after) == sorted(second_ids)
    before = backup.list_restore_jobs(ByCreatedBefore=between, ByCompleteBefore=datetime.now(UTC))["RestoreJobs"]
    assert len(before) == 7
    assert backup.list_restore_jobs(ByCompleteAfter=between)["RestoreJobs"] == []
    assert len(backup.list_restore_jobs(ByAccountId="123456789012", ByResourceType="RDS")["RestoreJobs"]) == 12
    assert backup.list_restore_jobs(ByAccountId="999999999999")["RestoreJobs"] == []
    with pytest.raises(ClientError):
        backup.list_restore_jobs(MaxResults=1001)


def test_validation_results_are_immutable_and_restore_testing_jobs(backup_client, rds_client, emulator):
    _, point = recovery_point(backup_client, rds_client)
    plan = "arn:aws:backup:us-east-1:123456789012:restore-testing-plan:nightly"
    job_id = emulator.start_restore_test(point, plan)
    job = wait_restore_job(backup_client, job_id)
    assert job["Status"] == "COMPLETED" and job["CreatedBy"] == {"RestoreTestingPlanArn": plan}
    restored_id = job["CreatedResourceArn"].rsplit(":", 1)[-1]
    assert restored_id.startswith("awsbackup-restore-test-")

    backup_client.put_restore_validation_result(
        RestoreJobId=job_id, ValidationStatus="SUCCESSFUL", ValidationStatusMessage="3 checks passed"
    )
    described = backup_client.describe_restore_job(RestoreJobId=job_id)
    assert (described["ValidationStatus"], described["ValidationStatusMessage"]) == ("SUCCESSFUL", "3 checks passed")
    with pytest.raises(backup_client.exceptions.InvalidRequestException):
        backup_client.put_restore_validation_result(RestoreJobId=job_id, ValidationStatus="FAILED")
    assert len(backup_client.list_restore_jobs(ByRestoreTestingPlanArn=plan)["RestoreJobs"]) >= 1

    wait_instance(rds_client, restored_id)
    rds_client.delete_db_instance(DBInstanceIdentifier=restored_id, SkipFinalSnapshot=True)
    wait_gone(rds_client, restored_id)
    # DeletionStatus reports AWS Backup's own deletion after the validation window, not anyone else's.
    assert "DeletionStatus" not in backup_client.describe_restore_job(RestoreJobId=job_id)


def test_restore_metadata_overrides_and_copied_tags(backup_client, rds_client, emulator):
    source = create_source(rds_client, "postgres")
    rds_client.add_tags_to_resource(ResourceName=source["DBInstanceArn"], Tags=[{"Key": "app", "Value": "orders"}])
    group = unique("bv-subnets")
    rds_client.create_db_subnet_group(DBSubnetGroupName=group, DBSubnetGroupDescription="d", SubnetIds=["subnet-a"])
    emulator.add_network(security_groups=["sg-0123"])  # a security group of this account's VPC
    vault = unique("prod")
    backup_client.create_backup_vault(BackupVaultName=vault)
    job = backup_client.start_backup_job(
        BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN
    )
    wait_backup_job(backup_client, job["BackupJobId"])
    restored_id = unique("rst")
    restore = backup_client.start_restore_job(
        RecoveryPointArn=job["RecoveryPointArn"],
        Metadata={
            "dbinstanceidentifier": restored_id,
            "DBInstanceClass": "db.t4g.micro",
            "DBSubnetGroupName": group,
            "VpcSecurityGroupIds": '["sg-0123"]',
            "MultiAZ": "false",
            "PubliclyAccessible": "false",
            "DeletionProtection": "false",
        },
        CopySourceTagsToRestoredResource=True,
    )
    assert wait_restore_job(backup_client, restore["RestoreJobId"])["Status"] == "COMPLETED"
    restored = wait_instance(rds_client, restored_id)
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == group
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == ["sg-0123"]
    assert restored["TagList"] == [{"Key": "app", "Value": "orders"}]
    assert restored["MultiAZ"] is False and restored["PubliclyAccessible"] is False
    points = backup_client.list_recovery_points_by_resource(ResourceArn=source["DBInstanceArn"])["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in points] == [job["RecoveryPointArn"]]
    in_vault = backup_client.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]
    assert in_vault[0]["ResourceArn"] == source["DBInstanceArn"] and in_vault[0]["LastRestoreTime"]
    rds_client.delete_db_instance(DBInstanceIdentifier=restored_id, SkipFinalSnapshot=True)


def test_stuck_instances_never_become_available(emulator_factory):
    emu = emulator_factory(stuck_rate=1.0)
    backup, rds = client("backup", emu.url), client("rds", emu.url)
    _, point = recovery_point(backup, rds)
    restored_id = unique("rst")
    restore = backup.start_restore_job(RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": restored_id})
    assert wait_restore_job(backup, restore["RestoreJobId"])["Status"] == "COMPLETED"
    time.sleep(0.5)
    stuck = describe_instance(rds, restored_id)
    assert stuck["DBInstanceStatus"] == "creating" and "Endpoint" not in stuck
    rds.delete_db_instance(DBInstanceIdentifier=restored_id, SkipFinalSnapshot=True)
    wait_gone(rds, restored_id)


async def test_aiobotocore_clients_work_unmodified(emulator):
    from aiobotocore.session import get_session

    session = get_session()
    async with session.create_client("backup") as backup, session.create_client("rds") as rds:
        identifier = unique("aio")
        await rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            DBInstanceClass="db.t3.micro",
            Engine="mysql",
            MasterUsername="app",
            MasterUserPassword=PASSWORD,
        )
        with pytest.raises(ClientError) as err:
            await rds.describe_db_instances(DBInstanceIdentifier="missing-aio")
        assert err.value.response["Error"]["Code"] == "DBInstanceNotFound"
        vault = unique("aio")
        await backup.create_backup_vault(BackupVaultName=vault)
        described = await backup.describe_backup_vault(BackupVaultName=vault)
        assert described["BackupVaultName"] == vault
        pages = [p async for p in backup.get_paginator("list_restore_jobs").paginate(ByStatus="COMPLETED")]
        assert isinstance(pages[0]["RestoreJobs"], list)
        instances = (await rds.describe_db_instances(DBInstanceIdentifier=identifier))["DBInstances"]
        assert instances[0]["Engine"] == "mysql"
        await rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)


def test_a_restore_reads_the_same_data_with_the_password_of_backup_time(backup_client, rds_client, emulator):
    source, point = recovery_point(backup_client, rds_client, "postgres", ("x", "y"))
    rds_client.modify_db_instance(
        DBInstanceIdentifier=source["DBInstanceIdentifier"], MasterUserPassword="Later-pass-9"
    )
    wait_instance(rds_client, source["DBInstanceIdentifier"])
    restored_id = unique("rst")
    restore = backup_client.start_restore_job(RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": restored_id})
    wait_restore_job(backup_client, restore["RestoreJobId"])
    restored = wait_instance(rds_client, restored_id)
    assert event_notes(restored, PASSWORD) == ["x", "y"]
    rds_client.delete_db_instance(DBInstanceIdentifier=restored_id, SkipFinalSnapshot=True)


def test_lazy_restores_build_the_database_when_the_restore_time_is_up(backup_client, rds_client, emulator):
    _, point = recovery_point(backup_client, rds_client, "postgres", ("lazy",))
    emulator.configure(lazy_restore=True, restore_seconds=1.5)
    restored_id = unique("rst")
    restore = backup_client.start_restore_job(RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": restored_id})
    listed = {"Filters": [{"Name": "db-instance-id", "Values": [restored_id]}]}
    wait_for(lambda: rds_client.describe_db_instances(**listed)["DBInstances"], what="instance listed")
    running = backup_client.describe_restore_job(RestoreJobId=restore["RestoreJobId"])
    assert running["Status"] in ("PENDING", "RUNNING")
    assert describe_instance(rds_client, restored_id)["DBInstanceStatus"] == "creating"
    assert wait_restore_job(backup_client, restore["RestoreJobId"])["Status"] == "COMPLETED"
    assert event_notes(wait_instance(rds_client, restored_id), PASSWORD) == ["lazy"]
