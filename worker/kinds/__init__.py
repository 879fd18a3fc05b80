"""Resource kinds: what differs per kind of recovery point, behind one protocol the flow calls.

The RDS instance (`rds_instance`) is the first; an Aurora cluster (restore gives a cluster, we add an instance)
and a DynamoDB table (no credentials, its own checks) plug in the same way, without touching the flow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from worker.checks import CheckContext, CheckResult
from worker.model import RecoveryPoint, RestoreJob
from worker.policy import Selection


@dataclass(frozen=True)
class Origin:
    """Who started the restore, and so what the worker may do with what it created (docs/modes.md).

    Our own restore: we tag it ours, modify it and delete it. A restore AWS Backup started for a restore
    testing plan the policy names: we may modify it (reset the password, add an Aurora instance) but delete
    only what we added ourselves; AWS Backup deletes the restored resource once the verdict is in or the
    window closes."""

    name: str  # "event" (our own restore) | "restore_testing"
    deletes_restored: bool
    restore_testing_plan_arn: str | None = None


OWN_RESTORE = Origin("event", deletes_restored=True)


def restore_testing(plan_arn: str) -> Origin:
    return Origin("restore_testing", deletes_restored=False, restore_testing_plan_arn=plan_arn)


@dataclass(frozen=True)
class Target:
    """One restore as the flow hands it to a kind: what is restored, into what name, how, and until when."""

    recovery_point: RecoveryPoint
    identifier: str  # our name for what the restore creates
    selection: Selection
    deadline: float  # event-loop time by which the data must be usable
    origin: Origin = OWN_RESTORE


@dataclass(frozen=True)
class TakenOver:
    """A restored resource ready for the checks. Each kind extends it with what its later steps reuse (the
    RDS kind: the connection with our password, and the instance as last described).

    A kind that does more than the restore job before the data is usable (Aurora: it adds the instance AWS
    Backup does not create) reports what it created and when the data became usable, for the record."""

    engine: str | None
    # Keyword-only, so that kinds extend TakenOver with fields of their own without defaults.
    restored_id: str | None = field(default=None, kw_only=True)  # the record's `restored_instance_id`, if more
    usable_at: datetime | None = field(default=None, kw_only=True)


class ResourceKind(Protocol):
    name: str  # label in metrics and logs

    def handles(self, resource_type: str) -> bool:
        """Whether recovery points of this AWS Backup resource type are this kind's."""
        ...

    async def preflight(self, target: Target) -> None:
        """PreflightFailed when a restore could not succeed (its network is missing)."""
        ...

    def restore_metadata(self, recorded: Mapping[str, str], target: Target) -> dict[str, str]:
        """StartRestoreJob's Metadata from what the recovery point recorded, with our names and overrides."""
        ...

    async def take_over(self, target: Target, job: RestoreJob) -> TakenOver:
        """Prove the job created the resource (`worker.kinds.ownership.job_problem`; RestoreFailed if not, touching
        nothing), mark it ours, wait until it is usable, set credentials only we know."""
        ...

    async def run_checks(self, taken: TakenOver, target: Target, ctx: CheckContext) -> Sequence[CheckResult]:
        """Open a data connection and run the selection's checks (each gets a result, errors included)."""
        ...

    async def cleanup(self, target: Target, taken: TakenOver | None) -> str:
        """Delete what our restore job created (proof: `worker.kinds.ownership.ledger_problem` unless taken over):
        DELETED, NOT_FOUND, NOT_OURS or FAILED; never anything not ours."""
        ...

    async def sweep(self, ttl: timedelta) -> list[str]:
        """Delete this kind's leftovers older than `ttl`, with the same proof of ownership; their names."""
        ...


@dataclass(frozen=True)
class Kinds:
    """The kinds this worker runs, looked up by a recovery point's resource type. The first is the default:
    a type no kind claims yet (Aurora until its kind exists) is tried as it, as before kinds existed."""

    all: tuple[ResourceKind, ...]

    def for_type(self, resource_type: str) -> ResourceKind:
        return next((kind for kind in self.all if kind.handles(resource_type)), self.all[0])
