"""Throttling, lost events, poison input, broken restores and the sweeper, against an in-process worker."""

from __future__ import annotations

import json
import uuid

import boto3
from harness.invariants import assert_invariants, foreign_instances
from harness.worker_stack import WorkerStack, make_stack, metric_value, run_cli, run_inline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.errors import MalformedMessage
from worker.events import parse_body


def restores_started(emulator, arn: str) -> int:
    return int(emulator.stats()["restore_jobs_per_recovery_point"].get(arn, 0))


async def test_30_percent_throttling_on_backup_and_rds_still_completes(emulator):
    stack = await make_stack()
    try:
        sources = [await stack.add_source(engine) for engine in ("postgres", "mariadb")]
        arns = [await stack.backup_and_copy(source) for source in sources]
        foreign = foreign_instances()
        emulator.configure(throttle_rate=0.3, throttle_operations=["backup", "rds"])
        async with run_inline(stack) as registry:
            records = await stack.wait_for_records(len(arns), timeout=90)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="queue drained")
        emulator.configure(throttle_rate=0.0)
        assert sorted(r["recovery_point_arn"] for r in records) == sorted(arns)
        assert {r["status"] for r in records} == {"PASSED"}
        throttled = sum(
            metric_value(registry, "backup_validation_aws_api_errors_total", {"service": service, "code": code})
            for service in ("backup", "rds")
            for code in ("ThrottlingException", "Throttling")
        )
        assert throttled > 0, "retries must be visible in the metrics"
        assert stack.restored_instances() == []
        assert_invariants(stack, emulator, arns, foreign)
    finally:
        emulator.configure(throttle_rate=0.0)
        await stack.close()


async def test_lost_events_still_complete_through_the_status_sweep(emulator):
    stack = await make_stack()
    try:
        source = await stack.add_source("postgres")
        arn = await stack.backup_and_copy(source)
        await stack.wait_until(lambda: stack.queue_depth() == 1, what="copy event queued")
        boto3.client("sqs").purge_queue(QueueUrl=stack.resources.queue_url)
        foreign = foreign_instances()
        emulator.configure(event_drop_rate=1.0)  # no Restore Job State Change will ever arrive
        stack.send({"recoveryPointArn": arn, "backupVaultName": f"{stack.prefix}-central"})
        async with run_inline(stack, sweep_interval_seconds=0.5) as registry:
            records = await stack.wait_for_records(1, timeout=60)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="queue drained")
        assert records[0]["status"] == "PASSED"
        assert metric_value(registry, "backup_validation_restore_detections_total", {"source": "event"}) == 0
        assert metric_value(registry, "backup_validation_restore_detections_total", {"source": "sweep"}) == 1
        assert_invariants(stack, emulator, [arn], foreign)
    finally:
        emulator.configure(event_drop_rate=0.0)
        await stack.close()


ARN_PARTS = st.sampled_from(
    [
        "arn:aws:rds:us-east-1:999999999999:snapshot:awsbackup:job-{}",  # another account
        "arn:aws:ec2:us-east-1:123456789012:snapshot/snap-{}",  # another resource type
        "arn:aws:dynamodb:us-east-1:123456789012:table/t/backup/{}",
        "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-{}",  # ours in shape, unknown
    ]
)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
POISON = st.one_of(
    st.text(max_size=300),  # bad JSON (and the occasional valid scalar)
    st.builds(lambda a, i: json.dumps({"recoveryPointArn": a.format(i)}), ARN_PARTS, st.uuids()),
    st.builds(lambda v: json.dumps({"recoveryPointArn": v}), JSON_SCALARS),  # wrong types
    st.builds(
        lambda kind, detail: json.dumps({"source": "aws.backup", "detail-type": kind, "detail": detail}),
        st.sampled_from(["Copy Job State Change", "Restore Job State Change", "Backup Job State Change", "Other"]),
        st.dictionaries(
            st.sampled_from(["state", "status", "restoreJobId", "destinationRecoveryPointArn"]),
            JSON_SCALARS,
            max_size=4,
        ),
    ),
    st.builds(lambda n: json.dumps({"recoveryPointArn": "arn:aws:rds:::" + "x" * n}), st.integers(3000, 200_000)),
)


def expected_fate(body: str) -> str:
    try:
        parse_body(body)
    except MalformedMessage:
        return "dlq"
    return "acked"


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(bodies=st.lists(POISON, min_size=40, max_size=40))
async def test_poison_bodies_never_crash_the_worker(emulator, bodies):
    stack = await make_stack(max_receive_count=2)
    try:
        sendable = [b for b in bodies if b.strip() and len(b.encode()) < 250_000]
        for body in sendable:
            stack.send(body)
        fates = [expected_fate(body) for body in sendable]
        async with run_inline(stack, visibility_seconds=5) as registry:
            await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=90, what="every body settled")
        dead_lettered = stack.queue_depth(stack.resources.dlq_url)
        assert dead_lettered == fates.count("dlq")
        acked = sum(
            metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": outcome})
            for outcome in ("ignored", "not_found", "unselected", "restore_event", "not_completed")
        )
        assert acked == fates.count("acked")
        assert stack.records() == []
    finally:
        await stack.close()


async def test_instance_that_never_becomes_available_is_an_error_and_is_deleted(emulator):
    stack = await make_stack(restore_timeout="8s")
    try:
        source = await stack.add_source("postgres")
        foreign = foreign_instances()
        emulator.configure(stuck_rate=1.0)
        async with run_inline(stack) as registry:
            arn = await stack.backup_and_copy(source)
            records = await stack.wait_for_records(1, timeout=60)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="queue drained")
        record = records[0]
        assert record["status"] == "ERROR"
        assert "deadline" in record["reason"]
        assert record["cleanup_status"] == "DELETED"
        assert metric_value(registry, "backup_validation_validations_total", {"status": "ERROR"}) == 1
        await stack.wait_until(lambda: stack.restored_instances() == [], what="stuck instance deleted")
        assert_invariants(stack, emulator, [arn], foreign)
    finally:
        emulator.configure(stuck_rate=0.0)
        await stack.close()


async def test_restore_failures_are_recorded_and_leak_nothing(emulator):
    stack = await make_stack()
    try:
        sources = [await stack.add_source(engine) for engine in ("postgres", "mariadb")]
        foreign = foreign_instances()
        emulator.configure(restore_fail_rate=1.0)
        async with run_inline(stack) as registry:
            arns = [await stack.backup_and_copy(source) for source in sources]
            records = await stack.wait_for_records(2, timeout=60)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="queue drained")
        assert [r["status"] for r in records] == ["RESTORE_FAILED", "RESTORE_FAILED"]
        assert metric_value(registry, "backup_validation_validations_total", {"status": "RESTORE_FAILED"}) == 2
        assert stack.restored_instances() == []
        assert_invariants(stack, emulator, arns, foreign)
    finally:
        emulator.configure(restore_fail_rate=0.0)
        await stack.close()


def _create_instance(identifier: str, tags: dict[str, str]) -> str:
    rds = boto3.client("rds")
    created = rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        MasterUsername="app",
        MasterUserPassword=uuid.uuid4().hex,
        AllocatedStorage=20,
    )["DBInstance"]
    if tags:
        rds.add_tags_to_resource(
            ResourceName=created["DBInstanceArn"], Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
    return identifier


async def test_sweeper_spares_what_no_restore_job_of_ours_created(emulator):
    """Our name, our tag and a ledger entry can all be forged: without a restore job of ours that created it, the
    sweeper deletes nothing (the deleting half is the next test)."""
    stack: WorkerStack = await make_stack()
    ours_tag = {"backup-validator:managed": "true"}
    suffix = uuid.uuid4().hex[:8]
    look_alikes = [
        _create_instance(f"bv-{suffix}forged", ours_tag),  # name, tag and ledger entry, but no job
        _create_instance(f"bv-{suffix}notag", {}),  # name, no tag, no ledger
        _create_instance(f"bv-{suffix}noledger", ours_tag),  # name and tag, not in the ledger
        _create_instance(f"prod-{suffix}", ours_tag),  # tag, but not our name
    ]
    for identifier, point in ((look_alikes[0], "x"), (look_alikes[3], "y")):
        boto3.client("dynamodb").put_item(
            TableName=stack.resources.ledger_table,
            Item={"pk": {"S": f"res#{identifier}"}, "recovery_point_arn": {"S": f"arn:aws:rds:::snapshot:{point}"}},
        )
    try:
        result = run_cli(stack, "sweep", "--ttl-seconds", "0")
        assert result.returncode == 0, result.stderr
        assert "deleted 0" in result.stdout
        rds = boto3.client("rds")
        remaining = {
            i["DBInstanceIdentifier"]
            for i in rds.describe_db_instances()["DBInstances"]
            if i["DBInstanceStatus"] != "deleting"
        }
        assert set(look_alikes) <= remaining
    finally:
        rds = boto3.client("rds")
        for identifier in look_alikes:
            rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
        await stack.close()


async def test_sweeper_tags_and_deletes_a_restore_the_ledger_proves_ours(emulator):
    """A restore that finished after its validation gave up was never tagged: the ledger's job proves it ours."""
    stack: WorkerStack = await make_stack()
    try:
        source = await stack.add_source("postgres")
        arn = await stack.backup_and_copy(source)
        backup, dynamodb = boto3.client("backup"), boto3.client("dynamodb")
        identifier = f"bv-late{uuid.uuid4().hex[:10]}"
        metadata = backup.get_recovery_point_restore_metadata(
            BackupVaultName=f"{stack.prefix}-central", RecoveryPointArn=arn
        )["RestoreMetadata"]
        job_id = backup.start_restore_job(
            RecoveryPointArn=arn,
            Metadata={**metadata, "DBInstanceIdentifier": identifier},
            ResourceType="RDS",
            IamRoleArn="arn:aws:iam::123456789012:role/restore",
        )["RestoreJobId"]
        await stack.wait_until(
            lambda: backup.describe_restore_job(RestoreJobId=job_id)["Status"] == "COMPLETED", what="restore done"
        )
        table = stack.resources.ledger_table
        dynamodb.put_item(
            TableName=table,
            Item={"pk": {"S": f"res#{identifier}"}, "recovery_point_arn": {"S": arn}, "created_at": {"N": "0"}},
        )
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"rp#{arn}"}, "restore_job_id": {"S": "some-other-job"}})
        spared = run_cli(stack, "sweep", "--ttl-seconds", "0")
        assert identifier not in spared.stdout, "a ledger entry whose job did not create it proves nothing"
        assert identifier in stack.restored_instances()
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"rp#{arn}"}, "restore_job_id": {"S": job_id}})
        swept = run_cli(stack, "sweep", "--ttl-seconds", "0")
        assert swept.returncode == 0, swept.stderr
        assert identifier in swept.stdout
        assert identifier not in stack.restored_instances()
    finally:
        await stack.close()
