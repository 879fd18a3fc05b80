"""The whole AWS Backup story on real databases, through plain boto3: back up, copy, restore, reset, delete."""

from __future__ import annotations

import time

import asyncpg
import pymysql
import pytest
from harness.aws import (
    PASSWORD,
    ROLE_ARN,
    create_source,
    describe_instance,
    event_notes,
    insert_events,
    run_sql,
    unique,
    wait_backup_job,
    wait_copy_job,
    wait_gone,
    wait_instance,
    wait_restore_job,
)
from harness.databases import POSTGRES_URL, mysql_args
from harness.stand_ins import CENTRAL_ACCOUNT

ENGINES = ["postgres", "mariadb"]

pytestmark = pytest.mark.usefixtures("cleanup_instances")


def physical_objects(engine: str, name: str) -> tuple[bool, bool]:
    """(database exists, login exists) on the real server."""
    if engine == "postgres":
        import asyncio

        async def look() -> tuple[bool, bool]:
            conn = await asyncpg.connect(POSTGRES_URL)
            try:
                db = await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name)
                role = await conn.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", name)
                return bool(db), bool(role)
            finally:
                await conn.close()

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(lambda: asyncio.run(look())).result()
    conn = pymysql.connect(**mysql_args())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", (name,))
            db = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM mysql.user WHERE user = %s", (name,))
            user = cur.fetchone()[0]
        return bool(db), bool(user)
    finally:
        conn.close()


def login_fails(inst: dict, password: str) -> bool:
    try:
        run_sql(inst, password, "SELECT 1")
    except (asyncpg.InvalidPasswordError, pymysql.err.OperationalError):
        return True
    return False


@pytest.mark.parametrize("engine", ENGINES)
def test_backup_copy_restore_reset_delete(engine, backup_client, rds_client, central_clients, emulator):
    # The source account (the harness's default) backs up and copies; the central account restores the copy.
    central_backup, central_rds = central_clients
    source = create_source(rds_client, engine)
    insert_events(source, PASSWORD, ["before-1", "before-2"])

    vault = unique("prod")
    backup_client.create_backup_vault(BackupVaultName=vault)
    started = backup_client.start_backup_job(
        BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN
    )
    assert started["RecoveryPointArn"].startswith("arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-")
    insert_events(source, PASSWORD, ["after-backup"])
    done = wait_backup_job(backup_client, started["BackupJobId"])
    assert done["State"] == "COMPLETED" and done["ResourceArn"] == source["DBInstanceArn"]

    central_vault = unique("central")
    central_arn = f"arn:aws:backup:us-east-1:{CENTRAL_ACCOUNT}:backup-vault:{central_vault}"
    copy = backup_client.start_copy_job(
        RecoveryPointArn=started["RecoveryPointArn"],
        SourceBackupVaultName=vault,
        DestinationBackupVaultArn=central_arn,
        IamRoleArn=ROLE_ARN,
    )
    copied = wait_copy_job(backup_client, copy["CopyJobId"])
    assert copied["State"] == "COMPLETED"
    copy_arn = copied["DestinationRecoveryPointArn"]
    assert copy_arn.startswith(f"arn:aws:rds:us-east-1:{CENTRAL_ACCOUNT}:snapshot:awsbackup:copyjob-")

    point = central_backup.describe_recovery_point(BackupVaultName=central_vault, RecoveryPointArn=copy_arn)
    assert point["Status"] == "COMPLETED" and point["ResourceArn"] == source["DBInstanceArn"]
    metadata = central_backup.get_recovery_point_restore_metadata(
        BackupVaultName=central_vault, RecoveryPointArn=copy_arn
    )["RestoreMetadata"]
    assert metadata["DBInstanceIdentifier"] == source["DBInstanceIdentifier"]
    assert metadata["Engine"] == engine

    restored_id = unique("rst")
    restore = central_backup.start_restore_job(
        RecoveryPointArn=copy_arn,
        Metadata={**metadata, "DBInstanceIdentifier": restored_id, "DBInstanceClass": "db.t4g.micro"},
        IamRoleArn=ROLE_ARN,
        ResourceType="RDS",
    )
    job = wait_restore_job(central_backup, restore["RestoreJobId"])
    assert job["Status"] == "COMPLETED", job.get("StatusMessage")
    assert job["AccountId"] == CENTRAL_ACCOUNT
    assert job["CreatedResourceArn"] == f"arn:aws:rds:us-east-1:{CENTRAL_ACCOUNT}:db:{restored_id}"
    assert job["RecoveryPointArn"] == copy_arn and job["ResourceType"] == "RDS"

    restored = wait_instance(central_rds, restored_id)
    assert restored["DBInstanceClass"] == "db.t4g.micro"
    assert restored["MasterUsername"] != source["MasterUsername"]
    # The restore holds exactly what was there at backup time, readable with the source's password (as RDS).
    assert event_notes(restored, PASSWORD) == ["before-1", "before-2"]
    assert event_notes(source, PASSWORD) == ["before-1", "before-2", "after-backup"]

    new_password = "Rotated-pass-2"
    modified = central_rds.modify_db_instance(
        DBInstanceIdentifier=restored_id, MasterUserPassword=new_password, ApplyImmediately=True
    )["DBInstance"]
    assert modified["PendingModifiedValues"] == {"MasterUserPassword": "****"}
    assert modified["DBInstanceStatus"] == "resetting-master-credentials"
    restored = wait_instance(central_rds, restored_id)
    assert login_fails(restored, PASSWORD)
    assert event_notes(restored, new_password) == ["before-1", "before-2"]

    login = restored["MasterUsername"]
    assert physical_objects(engine, login) == (True, True)
    deleted = central_rds.delete_db_instance(DBInstanceIdentifier=restored_id, SkipFinalSnapshot=True)
    assert deleted["DBInstance"]["DBInstanceStatus"] == "deleting"
    wait_gone(central_rds, restored_id)
    assert physical_objects(engine, login) == (False, False)

    # The source's own password was never touched.
    assert describe_instance(rds_client, source["DBInstanceIdentifier"])["DBInstanceStatus"] == "available"
    rds_client.delete_db_instance(DBInstanceIdentifier=source["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    wait_gone(rds_client, source["DBInstanceIdentifier"])
    assert physical_objects(engine, source["MasterUsername"]) == (False, False)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_recovery_point_outlives_its_source_and_restores_twice(engine, backup_client, rds_client, emulator):
    source = create_source(rds_client, engine)
    insert_events(source, PASSWORD, ["kept"])
    vault = unique("prod")
    backup_client.create_backup_vault(BackupVaultName=vault)
    job = backup_client.start_backup_job(
        BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN
    )
    wait_backup_job(backup_client, job["BackupJobId"])
    rds_client.delete_db_instance(DBInstanceIdentifier=source["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    wait_gone(rds_client, source["DBInstanceIdentifier"])

    for _ in range(2):
        restored_id = unique("rst")
        restore = backup_client.start_restore_job(
            RecoveryPointArn=job["RecoveryPointArn"], Metadata={"DBInstanceIdentifier": restored_id}
        )
        assert wait_restore_job(backup_client, restore["RestoreJobId"])["Status"] == "COMPLETED"
        restored = wait_instance(rds_client, restored_id)
        assert event_notes(restored, PASSWORD) == ["kept"]
        rds_client.delete_db_instance(DBInstanceIdentifier=restored_id, SkipFinalSnapshot=True)


def test_a_postgres_source_under_concurrent_writes_snapshots_consistently(backup_client, rds_client, emulator):
    """CREATE DATABASE ... TEMPLATE needs the source to itself; a busy writer must not break the backup."""
    import threading

    source = create_source(rds_client, "postgres")
    stop = threading.Event()
    written = []

    def writer() -> None:
        while not stop.is_set():
            try:
                insert_events(source, PASSWORD, [f"w{len(written)}"])
                written.append(1)
            except Exception:
                time.sleep(0.01)  # kicked out by the snapshot: reconnect, as an application would

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.3)
        vault = unique("prod")
        backup_client.create_backup_vault(BackupVaultName=vault)
        job = backup_client.start_backup_job(
            BackupVaultName=vault, ResourceArn=source["DBInstanceArn"], IamRoleArn=ROLE_ARN
        )
        assert wait_backup_job(backup_client, job["BackupJobId"])["State"] == "COMPLETED"
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join()
    restored_id = unique("rst")
    restore = backup_client.start_restore_job(
        RecoveryPointArn=job["RecoveryPointArn"], Metadata={"DBInstanceIdentifier": restored_id}
    )
    assert wait_restore_job(backup_client, restore["RestoreJobId"])["Status"] == "COMPLETED"
    restored = wait_instance(rds_client, restored_id)
    in_copy = event_notes(restored, PASSWORD)
    in_source = event_notes(source, PASSWORD)
    assert 0 < len(in_copy) < len(in_source)
    assert in_source[: len(in_copy)] == in_copy
