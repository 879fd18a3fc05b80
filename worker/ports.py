"""The interfaces the middle of the worker meets, and the plain values that cross them.

Adapters (worker/adapters/) implement these structurally; the flow, the kinds, the checks and the background
jobs depend only on them, so every component names exactly what it uses and a unit test can hand it an
in-memory stand-in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from worker.ledger_item import ClaimResult, LedgerItem, ResourceEntry
from worker.model import ProtectedSource, RecoveryPoint, RestoreJob

# ---- SQS ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    refreshes: int = 0  # fresh copies sent for receives lost to nobody (worker/refresh.py), carried by each copy


class QueuePort(Protocol):
    async def send(self, body: str, delay_seconds: int = 0, refreshes: int = 0) -> str: ...
    async def receive(self, max_messages: int, wait_seconds: int, visibility_seconds: int) -> list[Message]: ...
    async def delete(self, receipt_handle: str) -> None: ...
    async def set_visibility(self, receipt_handle: str, seconds: int) -> None: ...
    async def extend_many(self, receipt_handles: Sequence[str], seconds: int) -> list[str]: ...
    async def depth(self) -> tuple[int, int]: ...


class FailureNotesPort(Protocol):
    """Why a message last failed, kept for `backup-validator dlq` (SQS cannot carry it with the message)."""

    async def note(self, message_id: str, reason: str, detail: str, receive_count: int) -> None: ...

    async def decided(self, message_id: str) -> int:
        """How many receives of this message ended in a noted outcome (each `note` counts one)."""
        ...


# ---- AWS Backup ---------------------------------------------------------------------------------------


class RecoveryPoints(Protocol):
    async def find_vault(self, arn: str) -> str: ...
    async def describe_recovery_point(self, vault_name: str, arn: str) -> RecoveryPoint: ...
    async def recovery_point_tags(self, arn: str) -> dict[str, str]: ...


class Restores(Protocol):
    async def restore_metadata(self, vault_name: str, arn: str) -> dict[str, str]: ...
    async def start_restore(
        self, arn: str, metadata: Mapping[str, str], token: str, role_arn: str | None, resource_type: str
    ) -> str: ...
    async def describe_restore_job(self, job_id: str) -> RestoreJob: ...


class Inventory(Protocol):
    async def protected_sources(self) -> list[ProtectedSource]: ...


class RestoreListing(Protocol):
    async def restore_testing_plan_arns(self) -> list[str]: ...
    async def list_restore_jobs(
        self,
        created_after: datetime | None = None,
        *,
        completed_after: datetime | None = None,
        plan_arn: str | None = None,
    ) -> list[RestoreJob]: ...
    async def validation_window_hours(self, plan_arn: str, resource_type: str) -> int | None: ...


class ValidationResults(Protocol):
    async def put_validation_result(self, job_id: str, status: str, message: str) -> None: ...


class RestoreWaiter(Protocol):
    async def wait(self, job_id: str, created_at: datetime | None, limit_seconds: float) -> RestoreJob: ...


# ---- the ledger -----------------------------------------------------------------------------------------


class ClaimLedger(Protocol):
    """What the flow does with a recovery point's ledger item, by name."""

    async def claim(
        self, recovery_point_arn: str, message_id: str, validation_id: str, *, force: bool = False
    ) -> ClaimResult: ...
    async def release(self, recovery_point_arn: str) -> None: ...
    async def hand_over(self, recovery_point_arn: str) -> None: ...
    async def mark_restoring(self, recovery_point_arn: str, job_id: str, resource_id: str, engine: str) -> None: ...
    async def checkpoint_record(self, recovery_point_arn: str, record: dict[str, Any]) -> None: ...
    async def finish(self, recovery_point_arn: str, status: str) -> None: ...
    async def record_resource(self, identifier: str, recovery_point_arn: str) -> None: ...
    async def admit_sample(self, source_arn: str, recovery_point_arn: str, min_interval_seconds: int) -> bool: ...
    async def source_history(self, source_arn: str) -> dict[str, int]: ...
    async def save_source_history(self, source_arn: str, row_counts: dict[str, int], passed: bool) -> None: ...


class OwnershipLedger(Protocol):
    """What cleanup and the sweeper read to prove a resource is ours."""

    async def resource(self, identifier: str) -> ResourceEntry | None: ...
    async def item(self, recovery_point_arn: str) -> LedgerItem | None: ...


class ResourceLedger(OwnershipLedger, Protocol):
    """Ownership reads, and recording a resource we are about to create (before creating it)."""

    async def record_resource(self, identifier: str, recovery_point_arn: str) -> None: ...


class CoverageLedger(Protocol):
    async def last_passed_many(self, source_arns: Sequence[str]) -> Mapping[str, float]:
        """Each source's last PASSED validation (Unix seconds), for those that have one."""
        ...


class LeaseLedger(Protocol):
    async def renew(self, recovery_point_arn: str) -> None: ...


# ---- results ---------------------------------------------------------------------------------------------


class JsonStore(Protocol):
    async def put_json(self, key: str, document: dict[str, Any]) -> None: ...


class JsonSink(Protocol):
    async def put(self, document: dict[str, Any]) -> None: ...


class RecordPublisher(Protocol):
    async def publish(self, key: str, record: dict[str, Any], from_restore_testing: bool) -> None: ...


# ---- the restored data ------------------------------------------------------------------------------------


class Database(Protocol):
    """The port the checks run over: one connection to the restored database."""

    engine: str  # "postgres" or "mysql" (MariaDB too)

    async def scalar(self, sql: str) -> Any:
        """First column of the first row (None without rows), read-only, under the statement timeout."""
        ...

    async def row_count(self, table: str, where: str | None = None) -> int: ...

    async def columns(self, tables: Sequence[str]) -> dict[str, set[str]]:
        """Existing columns per table; a table that does not exist has no key."""
        ...


@dataclass(frozen=True)
class Connection:
    """How to reach a restored database with the credentials we set."""

    engine: str
    host: str
    port: int
    user: str
    database: str
    password: str = field(repr=False)


class OpenDatabase(Protocol):
    """Connects (DatabaseUnavailable when it cannot); closes on leaving the context."""

    def __call__(self, connection: Connection, statement_timeout: float) -> AbstractAsyncContextManager[Database]: ...


# ---- RDS ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbInstance:
    identifier: str
    arn: str
    status: str
    engine: str
    host: str | None
    port: int | None
    db_name: str | None
    master_username: str
    password_pending: bool
    created_at: datetime | None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.status == "available" and not self.password_pending


class InstancePort(Protocol):
    async def describe(self, identifier: str) -> DbInstance | None: ...
    async def set_master_password(self, identifier: str, password: str) -> None: ...


class RdsPort(InstancePort, Protocol):
    async def list_instances(self) -> list[DbInstance]: ...
    async def tag(self, arn: str, tags: dict[str, str]) -> None: ...
    async def delete(self, identifier: str) -> bool: ...
    async def subnet_group_exists(self, name: str) -> bool: ...
    async def missing_security_groups(self, group_ids: tuple[str, ...]) -> list[str]: ...


# ---- Aurora --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbCluster:
    identifier: str
    arn: str
    status: str
    engine: str
    host: str | None  # the cluster (writer) endpoint
    port: int | None
    database_name: str | None
    master_username: str
    password_pending: bool
    created_at: datetime | None
    members: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.status == "available" and not self.password_pending


class ClusterPort(Protocol):
    async def describe_cluster(self, identifier: str) -> DbCluster | None: ...
    async def list_clusters(self) -> list[DbCluster]: ...
    async def set_scaling(self, identifier: str, min_capacity: float, max_capacity: float) -> None: ...
    async def set_cluster_password(self, identifier: str, password: str) -> None: ...
    async def add_instance(
        self, cluster_id: str, instance_id: str, engine: str, instance_class: str, tags: dict[str, str]
    ) -> None: ...
    async def delete_cluster(self, identifier: str) -> str:
        """DELETED, NOT_FOUND (already gone) or BUSY (members not yet deleting: RDS refuses for now)."""
        ...
