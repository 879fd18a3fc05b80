"""The stale-copy switch: restores of one source lose their newest rows, to show a freshness failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from harness.aws import (
    PASSWORD,
    ROLE_ARN,
    create_source,
    run_sql,
    unique,
    wait_backup_job,
    wait_instance,
    wait_restore_job,
)

pytestmark = pytest.mark.usefixtures("cleanup_instances")


def write_history(inst: dict, engine: str) -> None:
    """One row every 10 minutes over the last 3 hours (19 rows, the newest now)."""
    now = datetime.now(UTC).replace(microsecond=0)
    mark = "($1, $2)" if engine == "postgres" else "(%s, %s)"
    for step in range(19):
        moment = now - timedelta(minutes=10 * step)
        value = moment if engine == "postgres" else moment.replace(tzinfo=None)
        run_sql(inst, PASSWORD, f"INSERT INTO events (created_at, note) VALUES {mark}", (value, f"row-{step}"))


def restore(backup, rds, point: str) -> dict:
    restored_id = unique("rst")
    job = backup.start_restore_job(RecoveryPointArn=point, Metadata={"DBInstanceIdentifier": restored_id})
    assert wait_restore_job(backup, job["RestoreJobId"])["Status"] == "COMPLETED"
    return wait_instance(rds, restored_id)


def span_minutes(inst: dict) -> tuple[int, float]:
    rows = run_sql(inst, PASSWORD, "SELECT created_at FROM events ORDER BY created_at")
    return len(rows), (rows[-1][0] - rows[0][0]).total_seconds() / 60


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_stale_switch_drops_the_newest_minutes_of_one_source(engine, backup_client, rds_client, emulator):
    stale_source = create_source(rds_client, engine)
    fresh_source = create_source(rds_client, engine)
    vault = unique("prod")
    backup_client.create_backup_vault(BackupVaultName=vault)
    points = []
    for source in (stale_source, fresh_source):
        write_history(source, engine)
        job = backup_client.start_backup_job(
            BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN
        )
        wait_backup_job(backup_client, job["BackupJobId"])
        points.append(job["RecoveryPointArn"])

    emulator.set_stale(stale_source["DBInstanceArn"], minutes=60, table="events", column="created_at")
    stale = restore(backup_client, rds_client, points[0])
    fresh = restore(backup_client, rds_client, points[1])
    # Rows newer than max - 60 min are gone: 13 of 19 remain, the newest one 60 minutes old.
    assert span_minutes(stale) == (13, 120.0)
    assert span_minutes(fresh) == (19, 180.0)
    newest_stale = run_sql(stale, PASSWORD, "SELECT max(note) FROM events WHERE note = 'row-6'")
    assert newest_stale == [("row-6",)]

    emulator.clear_stale(stale_source["DBInstanceArn"])
    assert span_minutes(restore(backup_client, rds_client, points[0])) == (19, 180.0)
