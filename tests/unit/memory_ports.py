"""In-memory ports for fast tests of the logic in the middle (flow, intake, ledger rules). The same paths run
on the real stand-ins in tests/integration and tests/reliability; these pin down the decisions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from worker.checks import CheckResult
from worker.flow import Flow
from worker.kinds import Kinds, TakenOver
from worker.leases import CLOCK_SKEW_SECONDS
from worker.ledger_item import CHECKED, CLAIMED, DONE, RESTORING, ClaimResult, LedgerItem, ResourceEntry
from worker.metrics import Metrics
from worker.model import RecoveryPoint, RestoreJob
from worker.policy import parse_policy
from worker.slots import Holdings, RestoreSlots

RP_ARN = "arn:aws:backup:us-east-1:111111111111:recovery-point:rp-1"
SOURCE = "arn:aws:rds:us-east-1:111111111111:db:orders-1"
CREATED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

POLICY = """
[[selection]]
name = "orders"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:orders-*"
min_interval = "{min_interval}"
restore_timeout = "{restore_timeout}"
[[selection.check]]
kind = "row_count"
table = "events"
min = 1
"""


class Log:
    """Keeps (event, fields) so that a test can ask what was logged."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def _keep(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))

    debug = info = warning = error = _keep

    def names(self) -> list[str]:
        return [event for event, _ in self.events]


@dataclass
class Store:
    """The ledger's table, shared by the ledgers of several simulated workers."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, ResourceEntry] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)


class MemoryLedger:
    """The DynamoDB ledger's rules on a dict: the claim's condition, owner-only updates, the sampling clock."""

    def __init__(self, store: Store, owner: str = "worker-a", lease_seconds: int = 300) -> None:
        self.store, self.owner, self.lease_seconds = store, owner, lease_seconds
        self.writes: list[str] = []

    async def claim(
        self, recovery_point_arn: str, message_id: str, validation_id: str, *, force: bool = False
    ) -> ClaimResult:
        now = int(time.time())
        current = self.store.items.get(recovery_point_arn)
        if current is not None:
            item = LedgerItem.from_attributes(current)
            mine = item.owner == self.owner and item.message_id == message_id
            if item.state == DONE or not (item.lease_expires_at < now - CLOCK_SKEW_SECONDS or mine):
                return ClaimResult("done" if item.state == DONE else "held", item)
        attributes = dict(current or {"pk": f"rp#{recovery_point_arn}", "claimed_at": now, "state": CLAIMED})
        attributes.update(taken_from=attributes.get("owner", ""), taken_lease=attributes.get("lease_expires_at", 0))
        attributes.update(owner=self.owner, message_id=message_id, lease_expires_at=now + self.lease_seconds)
        attributes.setdefault("validation_id", validation_id)
        self.store.items[recovery_point_arn] = attributes
        self.writes.append("claim")
        return ClaimResult("claimed", LedgerItem.from_attributes(attributes))

    async def _update(self, arn: str, name: str, **fields: Any) -> None:
        item = self.store.items[arn]
        assert item["owner"] == self.owner, "only the owner may write"
        item.update(fields)
        self.writes.append(name)

    async def release(self, recovery_point_arn: str) -> None:
        await self._update(recovery_point_arn, "release", lease_expires_at=0)

    async def hand_over(self, recovery_point_arn: str) -> None:
        crashes = int(self.store.items[recovery_point_arn].get("crash_hand_overs", 0)) + 1
        await self._update(recovery_point_arn, "hand_over", lease_expires_at=0, crash_hand_overs=crashes)

    async def renew(self, recovery_point_arn: str) -> None:
        await self._update(recovery_point_arn, "renew", lease_expires_at=int(time.time()) + self.lease_seconds)

    async def mark_restoring(self, recovery_point_arn: str, job_id: str, resource_id: str, engine: str) -> None:
        await self._update(
            recovery_point_arn,
            "mark_restoring",
            state=RESTORING,
            restore_job_id=job_id,
            restore_started_at=int(time.time()),
            resource_id=resource_id,
            engine=engine,
        )

    async def checkpoint_record(self, recovery_point_arn: str, record: dict[str, Any]) -> None:
        import json

        await self._update(recovery_point_arn, "checkpoint_record", state=CHECKED, record=json.dumps(record))

    async def finish(self, recovery_point_arn: str, status: str) -> None:
        await self._update(recovery_point_arn, "finish", state=DONE, status=status)

    async def record_resource(self, identifier: str, recovery_point_arn: str) -> None:
        self.store.resources[identifier] = ResourceEntry(identifier, recovery_point_arn, int(time.time()))
        self.writes.append("record_resource")

    async def admit_sample(self, source_arn: str, recovery_point_arn: str, min_interval_seconds: int) -> bool:
        now = int(time.time())
        source = self.store.sources.setdefault(source_arn, {})
        last, last_rp = source.get("last_started_at"), source.get("last_rp")
        if last is not None and last > now - min_interval_seconds and last_rp != recovery_point_arn:
            return False
        source.update(last_started_at=now, last_rp=recovery_point_arn)
        return True

    async def source_history(self, source_arn: str) -> dict[str, int]:
        return dict(self.store.sources.get(source_arn, {}).get("last_row_counts", {}))

    async def save_source_history(self, source_arn: str, row_counts: dict[str, int], passed: bool) -> None:
        source = self.store.sources.setdefault(source_arn, {})
        source["last_row_counts"] = row_counts
        if passed:
            source["last_passed_at"] = time.time()

    def state(self, arn: str = RP_ARN) -> LedgerItem:
        return LedgerItem.from_attributes(self.store.items[arn])


class MemoryBackup:
    """Recovery points and restore jobs."""

    def __init__(self, job_status: str = "COMPLETED", status: str = "COMPLETED") -> None:
        self.recovery_point = RecoveryPoint(RP_ARN, "central", SOURCE, "RDS", CREATED, status)
        self.job_status = job_status
        self.started: list[dict[str, Any]] = []

    async def find_vault(self, arn: str) -> str:
        return "central"

    async def describe_recovery_point(self, vault_name: str, arn: str) -> RecoveryPoint:
        from worker.errors import NotFound

        if arn != self.recovery_point.arn:
            raise NotFound("recovery point not found in vault central")
        return self.recovery_point

    async def recovery_point_tags(self, arn: str) -> dict[str, str]:
        return {}

    async def restore_metadata(self, vault_name: str, arn: str) -> dict[str, str]:
        return {"Engine": "postgres", "DBSubnetGroupName": "production"}

    async def start_restore(self, arn: str, metadata: Any, token: str, role_arn: str | None, resource_type: str) -> str:
        self.started.append({"arn": arn, "metadata": dict(metadata), "token": token, "type": resource_type})
        return f"job-{len(self.started)}"

    async def describe_restore_job(self, job_id: str) -> RestoreJob:
        return RestoreJob(job_id, self.job_status, "arn:aws:rds:us-east-1:111111111111:db:bv-x", "", CREATED, CREATED)


class MemoryWatcher:
    """Answers every wait at once with the backup's job (or raises what `error` says)."""

    def __init__(self, backup: MemoryBackup, error: BaseException | None = None) -> None:
        self.backup, self.error = backup, error
        self.waited: list[str] = []
        self.limits: list[float] = []

    async def wait(self, job_id: str, created_at: datetime | None, limit_seconds: float) -> RestoreJob:
        self.waited.append(job_id)
        self.limits.append(limit_seconds)
        if self.error is not None:
            raise self.error
        job = await self.backup.describe_restore_job(job_id)
        return replace(job, completed_at=job.created_at + timedelta(minutes=12) if job.created_at else None)


class MemoryKind:
    """A resource kind that records the flow's calls; `fail_at` names a step that raises `error`."""

    name = "RDS"

    def __init__(
        self, check_status: str = "PASSED", fail_at: str | None = None, error: Exception | None = None, rows: int = 5
    ):
        self.check_status, self.fail_at, self.error, self.rows = check_status, fail_at, error, rows
        self.calls: list[str] = []

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_at and self.error is not None:
            raise self.error

    def handles(self, resource_type: str) -> bool:
        return resource_type == "RDS"

    async def preflight(self, target: Any) -> None:
        self._step("preflight")

    def restore_metadata(self, recorded: Any, target: Any) -> dict[str, str]:
        self._step("restore_metadata")
        return {"DBInstanceIdentifier": target.identifier}

    async def take_over(self, target: Any, job: RestoreJob) -> TakenOver:
        self._step("take_over")
        return TakenOver(engine="postgres")

    async def run_checks(self, taken: TakenOver, target: Any, ctx: Any) -> list[CheckResult]:
        self._step("run_checks")
        spec = target.selection.checks[0]
        rows = self.rows
        return [
            CheckResult(
                spec.name, spec.kind, self.check_status, rows, "at least 1", f"{rows} rows", 0.01, row_count=rows
            )
        ]  # type: ignore[arg-type]

    async def cleanup(self, target: Any, taken: TakenOver | None) -> str:
        self._step("cleanup")
        return "DELETED"

    async def sweep(self, ttl: timedelta) -> list[str]:
        return []


class Publisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any], bool]] = []

    async def publish(self, key: str, record: dict[str, Any], from_restore_testing: bool) -> None:
        self.published.append((key, record, from_restore_testing))


@dataclass
class World:
    flow: Flow
    ledger: MemoryLedger
    backup: MemoryBackup
    watcher: MemoryWatcher
    kind: MemoryKind
    publisher: Publisher
    log: Log
    holdings: Holdings


def world(
    *,
    kind: MemoryKind | None = None,
    backup: MemoryBackup | None = None,
    watcher_error: BaseException | None = None,
    store: Store | None = None,
    owner: str = "worker-a",
    min_interval: str = "0s",
    restore_timeout: str = "6h",
) -> World:
    backup = backup or MemoryBackup()
    kind = kind or MemoryKind()
    ledger = MemoryLedger(store or Store(), owner)
    watcher = MemoryWatcher(backup, watcher_error)
    publisher, log, holdings = Publisher(), Log(), Holdings()
    policy = parse_policy(POLICY.format(min_interval=min_interval, restore_timeout=restore_timeout))
    flow = Flow(
        policy=policy,
        recovery_points=backup,
        restores=backup,
        watcher=watcher,
        ledger=ledger,
        kinds=Kinds((kind,)),
        publisher=publisher,
        slots=RestoreSlots(2, None),
        holdings=holdings,
        metrics=Metrics(CollectorRegistry()),
        log=log,
        results_prefix="validations/",
        restore_role_arn="arn:aws:iam::111111111111:role/restore",
    )
    return World(flow, ledger, backup, watcher, kind, publisher, log, holdings)
