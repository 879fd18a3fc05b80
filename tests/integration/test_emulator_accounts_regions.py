"""The emulator's accounts and region: a request acts as the account its access key belongs to (as moto and AWS
decide it from the credentials), sees only that account's vaults, instances and network, and an endpoint serves
one region, refusing a signature scoped to another as AWS does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from harness.aws import create_source, unique, wait_copy_job

from emulator.cli import build_parser, config_from
from emulator.server import EmulatorHandle

OTHER_ACCOUNT = "222222222222"
OTHER_KEY = "AKIAOTHERACCOUNT0001"


def _client(service: str, url: str, key: str = "testing", region: str = "us-east-1") -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name=region, aws_access_key_id=key, aws_secret_access_key="testing"
    )


@pytest.fixture
def two_accounts(emulator_factory: Callable[..., EmulatorHandle]) -> EmulatorHandle:
    return emulator_factory(accounts={OTHER_KEY: OTHER_ACCOUNT})


def test_each_account_sees_only_its_own_vaults_and_instances(two_accounts: EmulatorHandle) -> None:
    url = two_accounts.url
    central_backup, other_backup = _client("backup", url), _client("backup", url, OTHER_KEY)
    central_rds, other_rds = _client("rds", url), _client("rds", url, OTHER_KEY)
    name = unique("vault")
    other_vault = other_backup.create_backup_vault(BackupVaultName=name)["BackupVaultArn"]
    assert other_vault.split(":")[4] == OTHER_ACCOUNT
    # The same name is free in the central account: vaults are per account.
    central_vault = central_backup.create_backup_vault(BackupVaultName=name)["BackupVaultArn"]
    assert central_vault.split(":")[4] == "123456789012"
    assert [v["BackupVaultArn"] for v in other_backup.list_backup_vaults()["BackupVaultList"]] == [other_vault]

    source = create_source(other_rds, "postgres")
    try:
        assert source["DBInstanceArn"].split(":")[4] == OTHER_ACCOUNT
        with pytest.raises(ClientError) as hidden:
            central_rds.describe_db_instances(DBInstanceIdentifier=source["DBInstanceIdentifier"])
        assert hidden.value.response["Error"]["Code"] == "DBInstanceNotFound"
        listed = {i["DBInstanceIdentifier"] for i in central_rds.describe_db_instances()["DBInstances"]}
        assert source["DBInstanceIdentifier"] not in listed
        with pytest.raises(ClientError):
            central_rds.delete_db_instance(DBInstanceIdentifier=source["DBInstanceIdentifier"], SkipFinalSnapshot=True)

        # A copy from the other account into the central vault lands in the central account.
        job = other_backup.start_backup_job(
            BackupVaultName=name,
            ResourceArn=source["DBInstanceArn"],
            IamRoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/backup",
        )
        recovery_point = _wait(other_backup, job["BackupJobId"])
        copy = other_backup.start_copy_job(
            RecoveryPointArn=recovery_point,
            SourceBackupVaultName=name,
            DestinationBackupVaultArn=central_vault,
            IamRoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/backup",
        )
        copied = wait_copy_job(other_backup, copy["CopyJobId"])
        assert copied["State"] == "COMPLETED", copied
        assert copied["AccountId"] == OTHER_ACCOUNT
        arn = copied["DestinationRecoveryPointArn"]
        assert arn.split(":")[4] == "123456789012"
        described = central_backup.describe_recovery_point(BackupVaultName=name, RecoveryPointArn=arn)
        assert described["ResourceArn"] == source["DBInstanceArn"]
        events = [e for e in two_accounts.events() if e["detail"].get("copyJobId") == copy["CopyJobId"]]
        assert events and {e["account"] for e in events} == {OTHER_ACCOUNT}, events
    finally:
        other_rds.delete_db_instance(DBInstanceIdentifier=source["DBInstanceIdentifier"], SkipFinalSnapshot=True)


def _wait(backup: Any, job_id: str) -> str:
    from harness.aws import wait_backup_job

    job = wait_backup_job(backup, job_id)
    assert job["State"] == "COMPLETED", job
    return str(job["RecoveryPointArn"])


def test_a_signature_for_another_region_is_refused(emulator: EmulatorHandle) -> None:
    backup = _client("backup", emulator.url, region="eu-west-1")
    with pytest.raises(ClientError) as refused:
        backup.list_backup_vaults()
    error = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidSignatureException", 403)
    assert "eu-west-1" in error["Error"]["Message"]
    rds = _client("rds", emulator.url, region="eu-west-1")
    with pytest.raises(ClientError) as refused_rds:
        rds.describe_db_instances()
    assert refused_rds.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    # The endpoint's own region is served.
    _client("backup", emulator.url).list_backup_vaults()


def test_the_cli_maps_access_keys_to_accounts() -> None:
    args = build_parser().parse_args([f"--account={OTHER_KEY}={OTHER_ACCOUNT}", "--account=AKIA2=333333333333"])
    assert config_from(args).accounts == {OTHER_KEY: OTHER_ACCOUNT, "AKIA2": "333333333333"}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--account=AKIA3=12345"])
