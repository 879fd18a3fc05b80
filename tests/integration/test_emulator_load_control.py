"""The emulator's control endpoints for load tests: a retained history of recovery points seeded at once, and
the restore jobs in flight with their high-water mark (AWS has neither; the benchmark relies on both)."""

from __future__ import annotations

import urllib.error
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from harness.aws import (
    PASSWORD,
    ROLE_ARN,
    create_source,
    event_notes,
    insert_events,
    unique,
    wait_backup_job,
    wait_instance,
    wait_restore_job,
)

pytestmark = pytest.mark.usefixtures("cleanup_instances")


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, config=Config(retries={"mode": "standard"}))


def backed_up(backup, rds) -> tuple[dict, str]:
    source = create_source(rds, "postgres")
    insert_events(source, PASSWORD, ["kept"])
    vault = unique("prod")
    backup.create_backup_vault(BackupVaultName=vault)
    job = backup.start_backup_job(BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN)
    assert wait_backup_job(backup, job["BackupJobId"])["State"] == "COMPLETED"
    return source, job["RecoveryPointArn"]


def all_points(backup, vault: str, **filters) -> list[dict]:
    pages = backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault, **filters)
    return [point for page in pages for point in page["RecoveryPoints"]]


def test_a_seeded_history_lists_by_creation_time_and_restores_like_its_template(backup_client, rds_client, emulator):
    _, template = backed_up(backup_client, rds_client)
    vault = unique("history")
    backup_client.create_backup_vault(BackupVaultName=vault)
    now = datetime.now(UTC)
    prefix = f"arn:aws:rds:us-east-1:123456789012:db:{unique('gone')}-"
    arns = emulator.seed_recovery_points(
        template, vault, 1200, sources=40, source_prefix=prefix,
        created_from=(now - timedelta(days=30)).isoformat(), created_to=(now - timedelta(days=1)).isoformat(),
    )  # fmt: skip
    assert len(set(arns)) == 1200
    listed = all_points(backup_client, vault)
    assert {p["RecoveryPointArn"] for p in listed} == set(arns)
    assert {p["ResourceArn"] for p in listed} == {f"{prefix}{n}" for n in range(40)}
    assert all(p["Status"] == "COMPLETED" for p in listed)
    recent = all_points(backup_client, vault, ByCreatedAfter=now - timedelta(days=2))
    # evenly spread over 29 days: the last day and a bit holds 1200 / 29 * 1 (+1 for the end point) of them
    assert 40 <= len(recent) <= 43
    assert not all_points(backup_client, vault, ByCreatedAfter=now - timedelta(hours=1))

    metadata = backup_client.get_recovery_point_restore_metadata(BackupVaultName=vault, RecoveryPointArn=arns[7])
    identifier = unique("seeded")
    job = backup_client.start_restore_job(
        RecoveryPointArn=arns[7],
        Metadata={**metadata["RestoreMetadata"], "DBInstanceIdentifier": identifier},
        IamRoleArn=ROLE_ARN,
    )
    assert wait_restore_job(backup_client, job["RestoreJobId"])["Status"] == "COMPLETED"
    assert event_notes(wait_instance(rds_client, identifier), PASSWORD) == ["kept"]


@pytest.mark.parametrize(
    "change",
    [{"template": "arn:aws:rds:us-east-1:123456789012:snapshot:nope"}, {"count": 0}, {"sources": 5000},
     {"source_prefix": "db-"}, {"created_from": "yesterday"}, {"created_from": "2030-01-01T00:00:00+00:00"}],
)  # fmt: skip
def test_a_bad_seed_request_is_refused_and_seeds_nothing(backup_client, rds_client, emulator, change):
    _, template = backed_up(backup_client, rds_client)
    vault = unique("history")
    backup_client.create_backup_vault(BackupVaultName=vault)
    body = {"template": template, "vault": vault, "count": 1000, "sources": 10, **change}
    with pytest.raises(urllib.error.HTTPError) as refused:
        emulator._call("recovery-points", body)
    assert refused.value.code == 400
    assert all_points(backup_client, vault) == []


def test_the_high_water_mark_counts_every_restore_in_flight_at_once(emulator_factory):
    emu = emulator_factory(restore_seconds=3, instance_available_seconds=0)
    backup, rds = client("backup", emu.url), client("rds", emu.url)
    _, point = backed_up(backup, rds)
    assert emu.restores_in_flight() == {"in_flight": 0, "peak": 0}
    jobs = [
        backup.start_restore_job(
            RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": unique("wave")}, IamRoleArn=ROLE_ARN
        )["RestoreJobId"]
        for _ in range(3)
    ]
    assert emu.restores_in_flight()["in_flight"] == 3
    for job in jobs:
        assert wait_restore_job(backup, job)["Status"] == "COMPLETED"
    assert emu.restores_in_flight() == {"in_flight": 0, "peak": 3}
    assert emu.restores_in_flight(reset=True) == {"in_flight": 0, "peak": 0}
    one = backup.start_restore_job(
        RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": unique("one")}, IamRoleArn=ROLE_ARN
    )
    assert wait_restore_job(backup, one["RestoreJobId"])["Status"] == "COMPLETED"
    assert emu.restores_in_flight() == {"in_flight": 0, "peak": 1}
