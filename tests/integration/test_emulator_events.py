"""The emulator's AWS Backup events reach SQS through a real EventBridge rule (moto), as the Terraform rule does."""

from __future__ import annotations

import pytest
from harness.aws import (
    ROLE_ARN,
    create_source,
    unique,
    wait_backup_job,
    wait_copy_job,
    wait_instance,
    wait_restore_job,
)

pytestmark = pytest.mark.usefixtures("cleanup_instances")


def backed_up(backup, rds) -> tuple[dict, str, str]:
    source = create_source(rds, "mariadb")
    vault = unique("prod")
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN)
    assert wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"
    return source, vault, job["RecoveryPointArn"]


def only(events: list[dict], detail_type: str, **detail: str) -> list[dict]:
    return [
        e for e in events if e["detail-type"] == detail_type and all(e["detail"].get(k) == v for k, v in detail.items())
    ]


def test_completed_copies_are_routed_and_failed_ones_are_not(
    backup_client, rds_client, emulator, copy_completed_route, event_route
):
    everything = event_route({"source": ["aws.backup"]})
    source, vault, point = backed_up(backup_client, rds_client)
    central = unique("central")
    central_arn = backup_client.create_backup_vault(BackupVaultName=central)["BackupVaultArn"]

    good = backup_client.start_copy_job(
        RecoveryPointArn=point, SourceBackupVaultName=vault, DestinationBackupVaultArn=central_arn, IamRoleArn=ROLE_ARN
    )
    missing_vault = central_arn.replace(central, unique("no-such-vault"))
    bad = backup_client.start_copy_job(
        RecoveryPointArn=point,
        SourceBackupVaultName=vault,
        DestinationBackupVaultArn=missing_vault,
        IamRoleArn=ROLE_ARN,
    )
    copied = wait_copy_job(backup_client, good["CopyJobId"])
    assert copied["State"] == "COMPLETED"
    assert wait_copy_job(backup_client, bad["CopyJobId"])["State"] == "FAILED"

    [routed] = copy_completed_route.receive(1)
    assert routed["source"] == "aws.backup"
    assert routed["detail-type"] == "Copy Job State Change"
    assert routed["detail"]["state"] == "COMPLETED"
    assert routed["detail"]["copyJobId"] == good["CopyJobId"]
    assert routed["detail"]["destinationRecoveryPointArn"] == copied["DestinationRecoveryPointArn"]
    assert routed["detail"]["sourceBackupVaultArn"].endswith(f":backup-vault:{vault}")
    assert routed["detail"]["resourceArn"] == source["DBInstanceArn"]
    assert routed["resources"] == [point]
    assert routed["region"] == "us-east-1"
    # Known moto quirk: the envelope it delivers to SQS has no "account" (AWS's has the source account, and
    # PutEvents senders cannot choose it anyway): consumers take the account from the ARNs.
    assert {"version", "id", "time"} <= set(routed)

    seen = everything.receive(8)
    failed = only(seen, "Copy Job State Change", state="FAILED")
    assert [e["detail"]["copyJobId"] for e in failed] == [bad["CopyJobId"]]
    assert failed[0]["detail"]["statusMessage"]
    assert copy_completed_route.drain(1.0) == []


def test_backup_and_restore_events_use_state_and_status_as_aws_does(backup_client, rds_client, emulator, event_route):
    emulator.configure(restore_created_events=True)
    everything = event_route({"source": ["aws.backup"]})
    _, _, point = backed_up(backup_client, rds_client)
    restored_id = unique("rst")
    restore = backup_client.start_restore_job(RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": restored_id})
    job = wait_restore_job(backup_client, restore["RestoreJobId"])
    wait_instance(rds_client, restored_id)
    events = everything.receive(7)

    backups = only(events, "Backup Job State Change")
    assert [e["detail"]["state"] for e in backups] == ["CREATED", "RUNNING", "COMPLETED"]
    assert backups[-1]["resources"] == [point]

    restores = only(events, "Restore Job State Change")
    # AWS's CREATED sample says `state`, the later ones `status`. Events emitted together may arrive in either
    # order (best-effort delivery, several senders), so the states are compared as a set of four.
    order = ["CREATED", "PENDING", "RUNNING", "COMPLETED"]
    states = [e["detail"].get("status") or e["detail"]["state"] for e in restores]
    assert sorted(states, key=order.index) == order
    created = restores[states.index("CREATED")]["detail"]
    # Exactly the fields of AWS's sample (Backup developer guide, restore job events, "State: CREATED").
    assert set(created) == {"restoreJobId", "creationDate", "state"} and created["state"] == "CREATED"
    assert created["restoreJobId"] == restore["RestoreJobId"]
    completed = restores[states.index("COMPLETED")]
    assert completed["resources"] == [point]
    assert completed["detail"]["restoreJobId"] == restore["RestoreJobId"]
    assert completed["detail"]["createdResourceArn"] == job["CreatedResourceArn"]
    assert completed["detail"]["recoveryPointArn"] == point
    assert completed["detail"]["resourceType"] == "RDS"
    assert "state" not in completed["detail"]
    rds_client.delete_db_instance(DBInstanceIdentifier=restored_id, SkipFinalSnapshot=True)


def test_event_drop_and_delay_knobs(backup_client, rds_client, emulator, event_route):
    everything = event_route({"source": ["aws.backup"], "detail-type": ["Backup Job State Change"]})
    emulator.configure(event_drop_rate=1.0)
    before = emulator.stats()["events"]
    backed_up(backup_client, rds_client)
    after = emulator.stats()["events"]
    assert after["dropped"] - before["dropped"] == after["emitted"] - before["emitted"] == 3
    assert everything.drain(1.0) == []

    emulator.configure(event_drop_rate=0.0, event_delay_seconds=[1.0, 1.5])
    backed_up(backup_client, rds_client)
    assert emulator.stats()["events"]["pending"] >= 1
    assert len(everything.receive(3, timeout=10)) == 3


def test_duplicated_events_arrive_twice(backup_client, rds_client, emulator, event_route):
    everything = event_route({"source": ["aws.backup"], "detail-type": ["Backup Job State Change"]})
    emulator.configure(event_duplicate_rate=1.0)
    before = emulator.stats()["events"].get("duplicated", 0)
    backed_up(backup_client, rds_client)
    events = everything.receive(6, timeout=10)
    states = sorted(e["detail"]["state"] for e in events)
    assert states == ["COMPLETED", "COMPLETED", "CREATED", "CREATED", "RUNNING", "RUNNING"]
    assert emulator.stats()["events"]["duplicated"] - before == 3
    assert everything.drain(1.0) == []
