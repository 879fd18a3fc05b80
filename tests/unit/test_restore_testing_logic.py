"""Restore testing in the worker, pure parts and the validator over in-memory ports: which jobs are wanted,
the order of what is posted to AWS Backup, the record's origin, once-only validation, and the ownership rule."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from memory_ports import CREATED, RP_ARN, SOURCE, Log, MemoryBackup, MemoryKind, world

from worker.errors import DeadlineExceeded
from worker.events import parse_body
from worker.kinds import OWN_RESTORE, Target, restore_testing
from worker.kinds.dynamodb import DynamoDbTable
from worker.kinds.rds_instance import RdsInstance
from worker.model import RestoreJob
from worker.policy import parse_policy
from worker.reporting import validation_message
from worker.restore_testing import VERDICT_MARGIN, RestoreTests, validation_budget
from worker.tables import TableInfo

PLAN_ARN = "arn:aws:backup:us-east-1:111111111111:restore-testing-plan:nightly_rds"
OTHER_PLAN = "arn:aws:backup:us-east-1:111111111111:restore-testing-plan:weekly_s3"
CREATED_ARN = "arn:aws:rds:us-east-1:111111111111:db:awsbackup-restore-test-abc"
EVENTS = Path(__file__).parents[1] / "fixtures" / "events"

POLICY = """
[[selection]]
name = "restore-tests"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:orders-*"
restore_testing_plan = "nightly_*"
[[selection.check]]
kind = "row_count"
table = "events"
min = 1

[[selection]]
name = "orders"
source_arn = "arn:aws:rds:*:*:db:orders-*"
[[selection.check]]
kind = "row_count"
table = "events"
min = 1
"""


class PlanBackup(MemoryBackup):
    """A restore testing job of PLAN_ARN, completed; records what is posted to AWS Backup."""

    def __init__(self, validation_status: str | None = None, plan_arn: str = PLAN_ARN) -> None:
        super().__init__()
        self.job = RestoreJob(
            "rt-1",
            "COMPLETED",
            CREATED_ARN,
            created_at=CREATED,
            completed_at=CREATED,
            from_restore_testing=True,
            restore_testing_plan_arn=plan_arn,
            recovery_point_arn=RP_ARN,
            backup_vault_arn="arn:aws:backup:us-east-1:111111111111:backup-vault:central",
            validation_status=validation_status,
        )
        self.posted: list[str] = []
        self.window_hours: int | None = None  # the plan's ValidationWindowHours as ListRestoreTestingSelections says

    async def validation_window_hours(self, plan_arn: str, resource_type: str) -> int | None:
        assert (plan_arn, resource_type) == (self.job.restore_testing_plan_arn, "RDS")
        return self.window_hours

    async def describe_restore_job(self, job_id: str) -> RestoreJob:
        return self.job

    async def restore_testing_plan_arns(self) -> list[str]:
        return [OTHER_PLAN, self.job.restore_testing_plan_arn or ""]

    async def list_restore_jobs(
        self, created_after: Any = None, *, completed_after: Any = None, plan_arn: str | None = None
    ) -> list[RestoreJob]:
        assert plan_arn == PLAN_ARN, "only the plans the policy names are listed"
        return [self.job]

    async def put_validation_result(self, job_id: str, status: str, message: str) -> None:
        self.posted.append(status)
        self.job = dataclasses.replace(self.job, validation_status=status)


class TargetKeepingKind(MemoryKind):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[Target] = []
        self.take_over_seconds = 0.0  # how long the take-over takes (a restore test's window may end first)

    async def take_over(self, target: Any, job: RestoreJob) -> Any:
        self.targets.append(target)
        await asyncio.sleep(self.take_over_seconds)
        return await super().take_over(target, job)


def validator(backup: PlanBackup) -> tuple[RestoreTests, Any]:
    made = world(backup=backup, kind=TargetKeepingKind())
    flow = dataclasses.replace(made.flow, policy=parse_policy(POLICY))
    return RestoreTests(flow, backup, backup), made


def test_policy_keeps_restore_testing_selections_for_their_plans():
    policy = parse_policy(POLICY)
    assert policy.match("RDS", SOURCE).name == "orders"  # a backup or copy never gets the restore-test selection
    assert policy.match_restore_test(PLAN_ARN, "RDS", SOURCE).name == "restore-tests"
    assert policy.match_restore_test(OTHER_PLAN, "RDS", SOURCE) is None
    assert policy.match_restore_test(PLAN_ARN, "RDS", "arn:aws:rds:us-east-1:1:db:billing") is None
    by_arn = parse_policy(POLICY.replace('"nightly_*"', f'"{PLAN_ARN}"'))
    assert by_arn.match_restore_test(PLAN_ARN, "RDS", SOURCE) is not None
    assert policy.tests_restores
    assert not parse_policy(POLICY.replace('restore_testing_plan = "nightly_*"\n', "")).tests_restores


def test_a_restore_testing_event_carries_its_plan():
    document = json.loads((EVENTS / "restore_job_completed.json").read_text())
    document["detail"]["restoreTestingPlanArn"] = PLAN_ARN
    document["detail"]["recoveryPointArn"] = RP_ARN
    event = parse_body(json.dumps(document))
    assert isinstance(event, RestoreJob)
    assert (event.restore_testing_plan_arn, event.recovery_point_arn) == (PLAN_ARN, RP_ARN)
    plain = parse_body((EVENTS / "restore_job_completed.json").read_text())
    assert isinstance(plain, RestoreJob) and plain.restore_testing_plan_arn is None


async def test_validating_first_then_the_verdict_with_the_origin_in_the_record():
    backup = PlanBackup()
    tests, made = validator(backup)
    outcome = await tests.validate("rt-1", "m-1")
    assert outcome.reason == "validated"
    assert backup.posted == ["VALIDATING"]  # the verdict goes through the publisher, after S3
    ((_key, record, from_testing),) = made.publisher.published
    assert from_testing is True
    assert (record["origin"], record["restore_testing_plan_arn"]) == ("restore_testing", PLAN_ARN)
    assert (record["restore_job_id"], record["restored_instance_id"]) == ("rt-1", "awsbackup-restore-test-abc")
    assert record["status"] == "PASSED" and record["selection"] == "restore-tests"
    (target,) = made.kind.targets
    assert target.origin == restore_testing(PLAN_ARN) and not target.origin.deletes_restored
    assert made.kind.calls == ["take_over", "run_checks", "cleanup"]


async def test_a_job_is_validated_once_however_learnt():
    backup = PlanBackup()
    tests, made = validator(backup)
    assert (await tests.validate("rt-1", "event-message")).reason == "validated"
    backup.job = dataclasses.replace(backup.job, validation_status=None)  # as if AWS had not yet shown it
    assert await tests.sweep_once() == 0
    assert (await tests.validate("rt-1", "another-message")).reason == "duplicate"
    assert len(made.publisher.published) == 1 and backup.posted == ["VALIDATING"]


async def test_the_sweep_validates_a_job_whose_event_was_lost():
    backup = PlanBackup()
    tests, made = validator(backup)
    assert await tests.sweep_once() == 1
    assert len(made.publisher.published) == 1


def test_jobs_not_wanted():
    tests, _ = validator(PlanBackup())
    assert tests.wanted(PlanBackup().job)
    assert not tests.wanted(PlanBackup(validation_status="TIMED_OUT").job)
    assert not tests.wanted(PlanBackup(plan_arn=OTHER_PLAN).job)
    assert not tests.wanted(dataclasses.replace(PlanBackup().job, restore_testing_plan_arn=None))
    assert not tests.wanted(dataclasses.replace(PlanBackup().job, status="FAILED"))


class Untouchable:
    """An RDS port that fails the test if anything is asked of it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"RDS {name} called for a resource AWS Backup owns")


async def test_the_rds_kind_leaves_a_restore_testing_instance_to_aws_backup():
    kind = RdsInstance(
        Untouchable(), Untouchable(), Untouchable(), Untouchable(), network=None, connect_attempts=1, log=Log()
    )  # type: ignore[arg-type]
    rp = MemoryBackup().recovery_point
    selection = parse_policy(POLICY).selections[0]
    theirs = Target(rp, "awsbackup-restore-test-abc", selection, 0.0, restore_testing(PLAN_ARN))
    assert await kind.cleanup(theirs, None) == "LEFT_TO_AWS_BACKUP"
    assert OWN_RESTORE.deletes_restored and OWN_RESTORE.name == "event"


async def test_the_dynamodb_kind_leaves_a_restore_testing_table_to_aws_backup():
    kind = DynamoDbTable(Untouchable(), Untouchable(), Untouchable(), log=Log())  # type: ignore[arg-type]
    rp = MemoryBackup().recovery_point
    selection = parse_policy(POLICY).selections[0]
    theirs = Target(rp, "awsbackup-restore-test-abc", selection, 0.0, restore_testing(PLAN_ARN))
    assert await kind.cleanup(theirs, None) == "LEFT_TO_AWS_BACKUP"


def test_a_restore_testing_selection_with_tags_needs_the_recovery_points_tags():
    policy = parse_policy(
        POLICY.replace(
            'restore_testing_plan = "nightly_*"', 'restore_testing_plan = "nightly_*"\ntags = { env = "prod*" }'
        )
    )
    assert policy.uses_tags
    assert policy.match_restore_test(PLAN_ARN, "RDS", SOURCE, None, {"env": "production"}).name == "restore-tests"
    assert policy.match_restore_test(PLAN_ARN, "RDS", SOURCE, None, {"env": "dev"}) is None
    assert policy.match_restore_test(PLAN_ARN, "RDS", SOURCE) is None  # tags not read: the condition fails


def test_the_message_to_aws_backup_says_what_did_not_pass():
    record = {
        "status": "FAILED",
        "checks": [{"name": "fresh", "status": "FAILED"}, {"name": "rows", "status": "PASSED"}],
    }
    assert validation_message(record) == "Backup Validator: FAILED; not passed: fresh"
    assert validation_message({"status": "ERROR", "checks": [], "reason": "x" * 2000}).startswith(
        "Backup Validator: ERROR; x"
    )
    assert len(validation_message({"status": "ERROR", "checks": [], "reason": "x" * 2000})) == 1000


def test_the_policy_on_the_modes_page_means_what_it_says():
    page = (Path(__file__).parents[2] / "docs" / "modes.md").read_text()
    policy = parse_policy(page.split("```toml\n", 1)[1].split("```", 1)[0])
    nightly = "arn:aws:backup:us-east-1:111111111111:restore-testing-plan:nightly_orders"
    assert policy.match_restore_test(nightly, "RDS", SOURCE).name == "orders-restore-tests"
    assert policy.match("RDS", SOURCE).name == "orders"


def test_the_validation_budget_ends_before_the_window_does():
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    timeout = timedelta(minutes=30)
    assert validation_budget(timeout, None, now) == 1800  # no known window: restore_timeout alone
    assert validation_budget(timeout, now + timedelta(hours=2), now) == 1800  # the window is far
    soon = now + timedelta(minutes=20)
    assert validation_budget(timeout, soon, now) == (timedelta(minutes=20) - VERDICT_MARGIN).total_seconds()
    assert validation_budget(timeout, now + timedelta(minutes=1), now) == 0  # too late already: nothing to wait for


async def test_the_window_end_bounds_the_deadline_handed_to_the_kind():
    backup = PlanBackup()
    backup.window_hours = 1
    # Completed 45 minutes ago with a 1-hour window: 15 minutes left, less the margin, well under restore_timeout.
    backup.job = dataclasses.replace(backup.job, completed_at=datetime.now(UTC) - timedelta(minutes=45))
    tests, made = validator(backup)
    before = asyncio.get_running_loop().time()
    assert (await tests.validate("rt-1", "m-1")).reason == "validated"
    (target,) = made.kind.targets
    left = (timedelta(minutes=15) - VERDICT_MARGIN).total_seconds()
    assert left - 5 <= target.deadline - before <= left + 1


async def test_a_window_that_ends_first_stops_the_take_over_and_the_cleanup_still_runs():
    backup = PlanBackup()
    backup.window_hours = 1
    # 5 minutes and 1 second before the window ends: one second of budget, and a take-over that needs more.
    left = timedelta(hours=1) - VERDICT_MARGIN - timedelta(seconds=1)
    backup.job = dataclasses.replace(backup.job, completed_at=datetime.now(UTC) - left)
    tests, made = validator(backup)
    made.kind.take_over_seconds = 30.0
    before = asyncio.get_running_loop().time()
    assert (await tests.validate("rt-1", "m-1")).reason == "validated"
    assert asyncio.get_running_loop().time() - before < 20  # stopped by the bound, not by the slow take-over
    ((_key, record, _),) = made.publisher.published
    assert record["status"] == "ERROR" and "did not end within" in record["reason"], record["reason"]
    assert len(made.kind.targets) == 1 and made.kind.calls == ["cleanup"]  # the take-over never finished


class CreatingTables:
    """A table that is CREATING for its first `creating` looks, then ACTIVE: AWS's table under restore."""

    def __init__(self, creating: int) -> None:
        self.creating, self.looks = creating, 0

    async def describe(self, name: str) -> TableInfo:
        self.looks += 1
        status = "CREATING" if self.looks <= self.creating else "ACTIVE"
        return TableInfo(name, f"arn:aws:dynamodb:us-east-1:111111111111:table/{name}", status, None, "pk", None)


async def test_the_dynamodb_kind_reads_a_table_only_once_it_is_active_and_within_its_deadline(monkeypatch):
    monkeypatch.setattr("worker.kinds.dynamodb._POLL_SECONDS", 0.01)
    name = "awsbackup-restore-test-abc"
    job = RestoreJob("rt-1", "COMPLETED", f"arn:aws:dynamodb:us-east-1:111111111111:table/{name}")
    rp, selection = MemoryBackup().recovery_point, parse_policy(POLICY).selections[0]
    loop = asyncio.get_running_loop()
    tables = CreatingTables(3)
    kind = DynamoDbTable(tables, Untouchable(), Untouchable(), log=Log())  # type: ignore[arg-type]
    taken = await kind.take_over(Target(rp, name, selection, loop.time() + 60, restore_testing(PLAN_ARN)), job)
    assert taken.table.status == "ACTIVE" and tables.looks == 4  # type: ignore[attr-defined]
    stuck = DynamoDbTable(CreatingTables(10**9), Untouchable(), Untouchable(), log=Log())  # type: ignore[arg-type]
    with pytest.raises(DeadlineExceeded):
        await stuck.take_over(Target(rp, name, selection, loop.time() + 0.1, restore_testing(PLAN_ARN)), job)
