"""Restore testing plans and selections as AWS Backup has them, and a plan's run through its validation window.

Sources: AWS Backup API reference (CreateRestoreTestingPlan, CreateRestoreTestingSelection, Get/List/Update/
Delete of both, PutRestoreValidationResult, DescribeRestoreJob's CreatedBy / ValidationStatus / DeletionStatus),
the developer guide's "Restore testing" (validation window, TIMED_OUT, deletion afterwards, the
`awsbackup-restore-test` tag) and "Restore Job State Change" events carrying `restoreTestingPlanArn`.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from harness.aws import ROLE_ARN, create_source, describe_instance, wait_backup_job, wait_for, wait_restore_job
from harness.clusters import (
    add_instance,
    delete_cluster_fully,
    describe_cluster,
    source_cluster,
    wait_cluster,
    wait_instance_available,
)

from standins.tables import create_orders_table

pytestmark = pytest.mark.usefixtures("cleanup_instances")


def plan_name() -> str:
    return f"nightly_{secrets.token_hex(3)}"


def code_of(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def backed_up(backup, rds) -> tuple[str, str]:
    source = create_source(rds, "postgres")
    vault = f"rt-{secrets.token_hex(3)}"
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN)
    assert wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"
    return str(source["DBInstanceArn"]), str(job["RecoveryPointArn"])


def create_plan(backup, name: str, **selection) -> str:
    plan = backup.create_restore_testing_plan(
        RestoreTestingPlan={
            "RestoreTestingPlanName": name,
            "ScheduleExpression": "cron(0 1 ? * * *)",
            "StartWindowHours": 1,
            "RecoveryPointSelection": {
                "Algorithm": "LATEST_WITHIN_WINDOW",
                "IncludeVaults": ["*"],
                "RecoveryPointTypes": ["SNAPSHOT"],
                "SelectionWindowDays": 7,
            },
        }
    )
    if selection:
        backup.create_restore_testing_selection(
            RestoreTestingPlanName=name,
            RestoreTestingSelection={
                "RestoreTestingSelectionName": "rds_sel",
                "IamRoleArn": ROLE_ARN,
                "ProtectedResourceType": "RDS",
                **selection,
            },
        )
    return str(plan["RestoreTestingPlanArn"])


def test_plans_and_selections_crud_and_errors(backup_client, loose):
    name = plan_name()
    arn = create_plan(backup_client, name, ProtectedResourceArns=["*"], ValidationWindowHours=2)
    assert arn.endswith(f":restore-testing-plan:{name}")
    got = backup_client.get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"]
    assert (got["RestoreTestingPlanArn"], got["ScheduleExpression"]) == (arn, "cron(0 1 ? * * *)")
    assert got["RecoveryPointSelection"]["SelectionWindowDays"] == 7
    names = [p["RestoreTestingPlanName"] for p in backup_client.list_restore_testing_plans()["RestoreTestingPlans"]]
    assert name in names
    backup_client.update_restore_testing_plan(RestoreTestingPlanName=name, RestoreTestingPlan={"StartWindowHours": 3})
    got = backup_client.get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"]
    assert got["StartWindowHours"] == 3 and "LastUpdateTime" in got

    selection = backup_client.get_restore_testing_selection(
        RestoreTestingPlanName=name, RestoreTestingSelectionName="rds_sel"
    )
    assert selection["RestoreTestingSelection"]["ValidationWindowHours"] == 2
    backup_client.update_restore_testing_selection(
        RestoreTestingPlanName=name,
        RestoreTestingSelectionName="rds_sel",
        RestoreTestingSelection={"ValidationWindowHours": 5},
    )
    listed = backup_client.list_restore_testing_selections(RestoreTestingPlanName=name)["RestoreTestingSelections"]
    assert [(s["RestoreTestingSelectionName"], s["ValidationWindowHours"]) for s in listed] == [("rds_sel", 5)]

    with pytest.raises(ClientError) as duplicate:
        create_plan(backup_client, name)
    assert code_of(duplicate) == "AlreadyExistsException"
    with pytest.raises(ClientError) as bad_name:
        create_plan(backup_client, "9-not-a-name")
    assert code_of(bad_name) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as in_use:
        backup_client.delete_restore_testing_plan(RestoreTestingPlanName=name)
    assert code_of(in_use) == "InvalidRequestException"
    with pytest.raises(ClientError) as too_long:
        backup_client.update_restore_testing_selection(
            RestoreTestingPlanName=name,
            RestoreTestingSelectionName="rds_sel",
            RestoreTestingSelection={"ValidationWindowHours": 500},
        )
    assert code_of(too_long) == "InvalidParameterValueException"
    conditions = {"StringEquals": [{"Key": "env", "Value": "prod"}]}
    with_wildcard = {"ProtectedResourceArns": ["*"], "ProtectedResourceConditions": conditions}
    backup_client.update_restore_testing_selection(
        RestoreTestingPlanName=name, RestoreTestingSelectionName="rds_sel", RestoreTestingSelection=with_wildcard
    )
    with pytest.raises(ClientError) as both:
        specific = {
            "ProtectedResourceArns": ["arn:aws:rds:us-east-1:123456789012:db:x"],
            "ProtectedResourceConditions": conditions,
        }
        backup_client.update_restore_testing_selection(
            RestoreTestingPlanName=name, RestoreTestingSelectionName="rds_sel", RestoreTestingSelection=specific
        )
    assert code_of(both) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as missing:
        loose("backup").create_restore_testing_plan(RestoreTestingPlan={"RestoreTestingPlanName": plan_name()})
    assert code_of(missing) == "MissingParameterValueException"

    backup_client.delete_restore_testing_selection(RestoreTestingPlanName=name, RestoreTestingSelectionName="rds_sel")
    backup_client.delete_restore_testing_plan(RestoreTestingPlanName=name)
    with pytest.raises(ClientError) as gone:
        backup_client.get_restore_testing_plan(RestoreTestingPlanName=name)
    assert code_of(gone) == "ResourceNotFoundException"


def test_the_aws_cli_drives_restore_testing(aws_cli, emulator):
    name = plan_name()
    plan = json.dumps(
        {
            "RestoreTestingPlanName": name,
            "ScheduleExpression": "cron(0 1 ? * * *)",
            "RecoveryPointSelection": {"Algorithm": "RANDOM_WITHIN_WINDOW", "IncludeVaults": ["*"]},
        }
    )
    created = aws_cli(emulator.url, "backup", "create-restore-testing-plan", "--restore-testing-plan", plan)
    assert created.code == 0, created.stderr
    selection = json.dumps(
        {
            "RestoreTestingSelectionName": "sel",
            "IamRoleArn": ROLE_ARN,
            "ProtectedResourceType": "RDS",
            "ProtectedResourceConditions": {"StringEquals": [{"Key": "env", "Value": "prod"}]},
        }
    )
    args = ("create-restore-testing-selection", "--restore-testing-plan-name", name, "--restore-testing-selection")
    assert aws_cli(emulator.url, "backup", *args, selection).code == 0
    got = aws_cli(
        emulator.url,
        "backup",
        "get-restore-testing-selection",
        "--restore-testing-plan-name",
        name,
        "--restore-testing-selection-name",
        "sel",
    )
    assert got.output["RestoreTestingSelection"]["ProtectedResourceConditions"]["StringEquals"][0]["Value"] == "prod"
    missing = aws_cli(emulator.url, "backup", "get-restore-testing-plan", "--restore-testing-plan-name", "nope")
    assert missing.code != 0 and "ResourceNotFoundException" in missing.stderr


def test_a_run_restores_tags_times_out_and_deletes_after_the_verdict_or_window(backup_client, rds_client, emulator):
    emulator.configure(restore_testing_hour_seconds=8)
    source, point = backed_up(backup_client, rds_client)
    name = plan_name()
    arn = create_plan(backup_client, name, ProtectedResourceArns=[source], ValidationWindowHours=1)
    answered, unanswered = emulator.run_restore_testing_plan(name) + emulator.run_restore_testing_plan(name)
    job = wait_restore_job(backup_client, answered)
    assert job["CreatedBy"] == {"RestoreTestingPlanArn": arn} and job["RecoveryPointArn"] == point
    identifier = job["CreatedResourceArn"].rsplit(":", 1)[-1]
    assert identifier.startswith("awsbackup-restore-test-")
    tags = rds_client.list_tags_for_resource(ResourceName=job["CreatedResourceArn"])["TagList"]
    assert {"Key": "awsbackup-restore-test", "Value": arn} in tags
    events = [e for e in emulator.events() if e["detail"].get("restoreJobId") == answered]
    assert any(e["detail"].get("status") == "COMPLETED" and e["detail"]["restoreTestingPlanArn"] == arn for e in events)

    backup_client.put_restore_validation_result(RestoreJobId=answered, ValidationStatus="VALIDATING")
    time.sleep(0.5)  # VALIDATING is not final: the window stays open and the instance stays
    assert describe_instance(rds_client, identifier)["DBInstanceStatus"] in ("available", "creating")
    backup_client.put_restore_validation_result(RestoreJobId=answered, ValidationStatus="SUCCESSFUL")

    def deleted(job_id: str) -> dict | None:
        described = backup_client.describe_restore_job(RestoreJobId=job_id)
        return described if described.get("DeletionStatus") == "SUCCESSFUL" else None

    def deleting(job_id: str) -> dict | None:
        described = backup_client.describe_restore_job(RestoreJobId=job_id)
        return described if described.get("DeletionStatus") in ("DELETING", "SUCCESSFUL") else None

    # A final verdict ends the window early: AWS's deletion starts while the unanswered job is still waiting for
    # its own (looked at as soon as the deletion starts: dropping a database on a loaded machine takes a while).
    wait_for(lambda: deleting(answered), timeout=40, what="AWS's deletion to start after the verdict")
    assert backup_client.describe_restore_job(RestoreJobId=unanswered).get("ValidationStatus") is None
    first = wait_for(lambda: deleted(answered), timeout=40, what="AWS's deletion after the verdict")
    second = wait_for(lambda: deleted(unanswered), timeout=40, what="the second job's deletion after the window")
    assert first["ValidationStatus"] == "SUCCESSFUL"
    assert second["ValidationStatus"] == "TIMED_OUT"
    with pytest.raises(ClientError) as late:
        backup_client.put_restore_validation_result(RestoreJobId=unanswered, ValidationStatus="SUCCESSFUL")
    assert code_of(late) == "InvalidRequestException"
    assert (
        rds_client.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [identifier]}])["DBInstances"]
        == []
    )
    assert backup_client.get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"][
        "LastExecutionTime"
    ]


def aurora_backed_up(backup, rds) -> str:
    cluster = source_cluster(rds, "aurora-postgresql")
    vault = f"rt-{secrets.token_hex(3)}"
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=cluster["DBClusterArn"], IamRoleArn=ROLE_ARN)
    assert wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"
    return str(cluster["DBClusterArn"])


def test_an_aurora_run_restores_a_bare_tagged_cluster_and_an_instance_left_in_it_blocks_aws_deletion(
    backup_client, rds_client, emulator
):
    """AWS Backup restores the cluster without an instance; after the verdict it deletes the cluster, which RDS
    refuses while an instance not being deleted is in it: DeletionStatus FAILED, the cluster stays."""
    emulator.configure(restore_testing_hour_seconds=30)
    source = aurora_backed_up(backup_client, rds_client)
    name = plan_name()
    arn = create_plan(backup_client, name)
    backup_client.create_restore_testing_selection(
        RestoreTestingPlanName=name,
        RestoreTestingSelection={
            "RestoreTestingSelectionName": "aurora",
            "IamRoleArn": ROLE_ARN,
            "ProtectedResourceType": "Aurora",
            "ProtectedResourceArns": [source],
        },
    )
    (job_id,) = emulator.run_restore_testing_plan(name)
    job = wait_restore_job(backup_client, job_id)
    assert job["Status"] == "COMPLETED" and job["CreatedBy"] == {"RestoreTestingPlanArn": arn}
    identifier = job["CreatedResourceArn"].rsplit(":", 1)[-1]
    assert identifier.startswith("awsbackup-restore-test-")
    cluster = wait_cluster(rds_client, identifier)
    assert cluster["DBClusterMembers"] == []
    tags = rds_client.list_tags_for_resource(ResourceName=job["CreatedResourceArn"])["TagList"]
    assert {"Key": "awsbackup-restore-test", "Value": arn} in tags

    left = add_instance(rds_client, identifier, "aurora-postgresql")
    wait_instance_available(rds_client, left)
    backup_client.put_restore_validation_result(RestoreJobId=job_id, ValidationStatus="SUCCESSFUL")

    def settled() -> dict | None:
        described = backup_client.describe_restore_job(RestoreJobId=job_id)
        return described if described.get("DeletionStatus") in ("SUCCESSFUL", "FAILED") else None

    done = wait_for(settled, timeout=40, what="AWS's deletion after the verdict")
    assert done["DeletionStatus"] == "FAILED"
    assert "InvalidDBClusterStateFault" in done["DeletionStatusMessage"]
    assert describe_cluster(rds_client, identifier)["Status"] == "available"
    delete_cluster_fully(rds_client, identifier)


def test_a_dynamodb_run_restores_a_tagged_table_that_aws_deletes_after_the_verdict(backup_client, emulator):
    ddb = boto3.client("dynamodb")
    source = f"rt-orders-{secrets.token_hex(3)}"
    source_arn = create_orders_table(source, 5, timedelta(minutes=10), ddb)
    try:
        vault = f"rt-{secrets.token_hex(3)}"
        backup_client.create_backup_vault(BackupVaultName=vault)
        backup = backup_client.start_backup_job(BackupVaultName=vault, ResourceArn=source_arn, IamRoleArn=ROLE_ARN)
        assert wait_backup_job(backup_client, backup["BackupJobId"])["State"] == "COMPLETED"
        name = plan_name()
        arn = create_plan(backup_client, name)
        backup_client.create_restore_testing_selection(
            RestoreTestingPlanName=name,
            RestoreTestingSelection={
                "RestoreTestingSelectionName": "tables",
                "IamRoleArn": ROLE_ARN,
                "ProtectedResourceType": "DynamoDB",
                "ProtectedResourceArns": [source_arn],
            },
        )
        (job_id,) = emulator.run_restore_testing_plan(name)
        job = wait_restore_job(backup_client, job_id)
        assert job["Status"] == "COMPLETED" and job["CreatedBy"] == {"RestoreTestingPlanArn": arn}
        table = job["CreatedResourceArn"].split(":table/", 1)[1]
        assert table.startswith("awsbackup-restore-test-")
        assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == 5
        tags = ddb.list_tags_of_resource(ResourceArn=job["CreatedResourceArn"])["Tags"]
        assert {"Key": "awsbackup-restore-test", "Value": arn} in tags
        backup_client.put_restore_validation_result(RestoreJobId=job_id, ValidationStatus="FAILED")

        def deleted() -> dict | None:
            described = backup_client.describe_restore_job(RestoreJobId=job_id)
            return described if described.get("DeletionStatus") == "SUCCESSFUL" else None

        assert wait_for(deleted, timeout=40, what="AWS's deletion of the table")["ValidationStatus"] == "FAILED"
        assert table not in ddb.list_tables()["TableNames"]
    finally:
        with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
            ddb.delete_table(TableName=source)


def test_schedules_are_validated_as_aws_does(backup_client):
    for expression, zone in (
        ("rate(1 hour)", None),  # restore testing takes cron expressions only
        ("cron(0 3 * * * *)", None),  # one of the day fields must be `?`
        ("cron(61 3 ? * * *)", None),
        ("cron(0 3 ? * * *)", "Mars/Olympus_Mons"),
    ):
        plan = {"RestoreTestingPlanName": plan_name(), "ScheduleExpression": expression}
        plan["RecoveryPointSelection"] = {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": ["*"]}
        if zone:
            plan["ScheduleExpressionTimezone"] = zone
        with pytest.raises(ClientError) as refused:
            backup_client.create_restore_testing_plan(RestoreTestingPlan=plan)
        assert code_of(refused) == "InvalidParameterValueException", expression


def test_a_plan_runs_on_its_own_schedule(backup_client, rds_client, emulator):
    """Every minute, in a timezone that is not UTC: the plan runs without the control endpoint's run-now."""
    emulator.configure(restore_testing_schedules=True, restore_testing_hour_seconds=5)
    source, _point = backed_up(backup_client, rds_client)
    name = plan_name()
    plan = {
        "RestoreTestingPlanName": name,
        "ScheduleExpression": "cron(* * ? * * *)",
        "ScheduleExpressionTimezone": "Europe/Paris",
        "StartWindowHours": 1,
        "RecoveryPointSelection": {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": ["*"]},
    }
    arn = backup_client.create_restore_testing_plan(RestoreTestingPlan=plan)["RestoreTestingPlanArn"]
    backup_client.create_restore_testing_selection(
        RestoreTestingPlanName=name,
        RestoreTestingSelection={
            "RestoreTestingSelectionName": "rds_sel",
            "IamRoleArn": ROLE_ARN,
            "ProtectedResourceType": "RDS",
            "ProtectedResourceArns": [source],
        },
    )

    def started() -> list | None:
        jobs = backup_client.list_restore_jobs(ByRestoreTestingPlanArn=arn)["RestoreJobs"]
        return jobs or None

    jobs = wait_for(started, timeout=150, interval=1.0, what="the plan's scheduled run")
    emulator.configure(restore_testing_schedules=False)  # one run is enough
    assert {job["CreatedBy"]["RestoreTestingPlanArn"] for job in jobs} == {arn}
    assert backup_client.get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"][
        "LastExecutionTime"
    ]
    for job in jobs:
        wait_restore_job(backup_client, job["RestoreJobId"])
