"""AWS Backup operations the worker uses, on their happy and error paths, through botocore and the AWS CLI.

Sources: the AWS Backup API reference (errors per operation, `x-amzn-ErrorType`) and botocore's service model
(required members, enums, ranges).
"""

from __future__ import annotations

import json

import pytest
from botocore import xform_name
from harness.aws import ROLE_ARN, create_source, unique, wait_backup_job, wait_restore_job

from emulator.wire import service_model

pytestmark = pytest.mark.usefixtures("cleanup_instances")
BACKUP = service_model("backup")


@pytest.fixture
def point(backup_client, rds_client) -> tuple[str, str]:
    """(vault name, recovery point ARN) of a fresh backup of a PostgreSQL source."""
    source = create_source(rds_client, "postgres")
    vault = unique("conf")
    backup_client.create_backup_vault(BackupVaultName=vault)
    job = backup_client.start_backup_job(
        BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN
    )
    assert wait_backup_job(backup_client, job["BackupJobId"])["State"] == "COMPLETED"
    return vault, job["RecoveryPointArn"]


def output_members(operation: str) -> set[str]:
    return set(BACKUP.operation_model(operation).output_shape.members)


def test_every_worker_operation_through_the_aws_cli_answers_what_the_model_defines(aws_cli, emulator, point):
    vault, arn = point
    calls = {
        "ListBackupVaults": ["list-backup-vaults"],
        "DescribeBackupVault": ["describe-backup-vault", "--backup-vault-name", vault],
        "ListRecoveryPointsByBackupVault": ["list-recovery-points-by-backup-vault", "--backup-vault-name", vault],
        "DescribeRecoveryPoint": ["describe-recovery-point", "--backup-vault-name", vault, "--recovery-point-arn", arn],
        "GetRecoveryPointRestoreMetadata": [
            "get-recovery-point-restore-metadata",
            "--backup-vault-name",
            vault,
            "--recovery-point-arn",
            arn,
        ],
        "ListRestoreJobs": ["list-restore-jobs", "--by-status", "COMPLETED"],
    }
    for operation, args in calls.items():
        result = aws_cli(emulator.url, "backup", *args)
        assert result.code == 0, (operation, result.stderr)
        assert set(result.output) <= output_members(operation), operation
    identifier = unique("cli")
    started = aws_cli(
        emulator.url,
        "backup",
        "start-restore-job",
        "--recovery-point-arn",
        arn,
        "--metadata",
        json.dumps({"DBInstanceIdentifier": identifier}),
        "--iam-role-arn",
        ROLE_ARN,
    )
    assert started.code == 0, started.stderr
    job_id = started.output["RestoreJobId"]
    described = aws_cli(emulator.url, "backup", "describe-restore-job", "--restore-job-id", job_id)
    assert described.code == 0 and described.output["RestoreJobId"] == job_id
    assert set(described.output) <= output_members("DescribeRestoreJob")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["describe-restore-job", "--restore-job-id", "NO-SUCH-JOB"], "ResourceNotFoundException"),
        (["list-restore-jobs", "--by-status", "SLEEPING"], "InvalidParameterValueException"),
        (["describe-backup-vault", "--backup-vault-name", "no-such-vault"], "ResourceNotFoundException"),
        (
            ["put-restore-validation-result", "--restore-job-id", "NO-SUCH-JOB", "--validation-status", "SUCCESSFUL"],
            "ResourceNotFoundException",
        ),
    ],
)
def test_the_aws_cli_gets_the_documented_error_codes(aws_cli, emulator, args, code):
    result = aws_cli(emulator.url, "backup", *args)
    assert result.code != 0
    assert f"({code})" in result.stderr, result.stderr


def test_a_missing_required_member_is_a_400_missing_parameter(loose, emulator):
    backup = loose("backup")
    with pytest.raises(backup.exceptions.MissingParameterValueException) as caught:
        backup.start_restore_job(RecoveryPointArn="arn:aws:rds:us-east-1:123456789012:snapshot:x")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Metadata" in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("ListRestoreJobs", {"ByStatus": "SLEEPING"}),  # not in the enum
        ("ListRestoreJobs", {"MaxResults": 0}),  # below the model's min 1
        ("ListRestoreJobs", {"MaxResults": 1001}),  # above the model's max 1000
        ("PutRestoreValidationResult", {"RestoreJobId": "X", "ValidationStatus": "MAYBE"}),
        ("StartRestoreJob", {"RecoveryPointArn": "arn:x", "Metadata": {"DBInstanceIdentifier": 7}}),
        ("StartRestoreJob", {"RecoveryPointArn": 12, "Metadata": {}}),
    ],
)
def test_values_outside_the_model_are_a_400_invalid_parameter_value(loose, emulator, operation, params):
    backup = loose("backup")
    with pytest.raises(backup.exceptions.InvalidParameterValueException) as caught:
        getattr(backup, xform_name(operation))(**params)
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "InvalidParameterValueException"


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'"metadata"',
        b"{not json",
        b"\xff\xfe",
        b'{"RecoveryPointArn": "a", "Metadata": [1]}',
        b'{"RecoveryPointArn": "a", "Metadata": "x"}',
    ],
)
def test_a_body_that_is_not_the_json_object_the_model_wants_is_a_400(raw, emulator, body):
    response = raw(emulator.url, "PUT", "/restore-jobs", body, {"Content-Type": "application/x-amz-json-1.1"})
    assert response.status == 400
    assert response.headers["x-amzn-ErrorType"] == "InvalidParameterValueException"
    assert set(response.json()) <= {"Code", "Message", "Type", "Context"}


@pytest.mark.parametrize(
    "query", ["maxResults=ten", "createdAfter=yesterday", "maxResults=1e400", "createdBefore=99999999999999999999"]
)
def test_a_query_value_of_the_wrong_type_is_a_400_not_a_500(raw, emulator, query):
    response = raw(emulator.url, "GET", f"/restore-jobs/?{query}")
    assert response.status == 400, response.body
    assert response.json()["Code"] == "InvalidParameterValueException"


def test_metadata_of_the_wrong_type_fails_the_job_instead_of_leaving_it_running(backup_client, emulator, point):
    _, arn = point
    job = backup_client.start_restore_job(
        RecoveryPointArn=arn,
        Metadata={"DBInstanceIdentifier": unique("bad"), "VpcSecurityGroupIds": '[1, {"a": 2}]'},
    )
    finished = wait_restore_job(backup_client, job["RestoreJobId"])
    assert finished["Status"] == "FAILED"
    assert finished["StatusMessage"].startswith("InvalidParameterValue")
