"""Emulator configuration: where the real databases are, and the fault/latency knobs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

Range = tuple[float, float]


def parse_range(value: Any, name: str = "value") -> Range:
    """Accept ``5``, ``"2:8"``, ``[2, 8]`` or ``(2, 8)``: a fixed value or a uniform range, in seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        low = high = float(value)
    elif isinstance(value, str):
        parts = value.split(":")
        if len(parts) > 2:
            raise ValueError(f"{name}: expected MIN[:MAX], got {value!r}")
        low, high = float(parts[0]), float(parts[-1])
    elif isinstance(value, list | tuple) and len(value) == 2:
        low, high = float(value[0]), float(value[1])
    else:
        raise ValueError(f"{name}: expected a number, 'MIN:MAX' or [MIN, MAX], got {value!r}")
    if low < 0 or high < low:
        raise ValueError(f"{name}: need 0 <= MIN <= MAX, got {low}:{high}")
    return (low, high)


def parse_rate(value: Any, name: str = "rate") -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name}: a rate must be between 0 and 1, got {value!r}")
    return rate


@dataclass
class Knobs:
    """Latency and fault knobs; all can be changed at run time through ``POST /_emulator/config``."""

    restore_seconds: Range = (3.0, 3.0)
    backup_seconds: Range = (1.0, 1.0)
    copy_seconds: Range = (1.0, 1.0)
    event_delay_seconds: Range = (0.0, 0.0)
    event_drop_rate: float = 0.0
    # Each event may also be delivered twice (EventBridge is at-least-once); a delay range reorders events.
    event_duplicate_rate: float = 0.0
    # AWS's documented CREATED shape of Restore Job State Change, which carries `state` instead of `status`.
    restore_created_events: bool = True
    restore_fail_rate: float = 0.0
    copy_fail_rate: float = 0.0
    throttle_rate: float = 0.0
    # Empty: throttle every operation. Otherwise service names ("backup", "rds") or
    # "service:Operation" keys such as "backup:ListRestoreJobs".
    throttle_operations: frozenset[str] = frozenset()
    password_apply_seconds: float = 1.0
    instance_available_seconds: float = 0.5
    stuck_rate: float = 0.0
    # Broken restored databases, for the worker's fault tests: an endpoint where nothing listens, and a
    # ModifyDBInstance password change that reports success but never reaches the login.
    unreachable_rate: float = 0.0
    ignore_password_rate: float = 0.0
    # Build a restored database when its job finishes instead of when it starts: thousands of long restores
    # in flight then cost no database work (and no disk) until they end. The result is the same real database.
    lazy_restore: bool = False
    # The restoring account's network: without a default VPC (a hardened central account) there is no `default`
    # DB subnet group and no default security group, so a restore must name its own.
    default_vpc: bool = True
    # RDS account quotas (DescribeAccountAttributes); AWS's default is 40 DB instances and 40 DB clusters.
    max_db_instances: int = 40
    max_db_clusters: int = 40
    # How long one hour of a restore testing selection's ValidationWindowHours lasts (tests shorten it).
    restore_testing_hour_seconds: float = 3600.0
    # Restore testing plans run on their cron schedules, as in AWS (the test suite turns this off so that a
    # test's plan cannot fire in another test; run-now through the control endpoint works either way).
    restore_testing_schedules: bool = True
    # Seconds a restored DynamoDB table stays CREATING after its restore job says COMPLETED. AWS documents no
    # order between the two; 0 (the default) turns the table ACTIVE just before the job completes, and a lag
    # lets the tests show a worker that waits for ACTIVE rather than trusting the job's status.
    table_active_lag_seconds: float = 0.0

    def update(self, changes: dict[str, Any]) -> None:
        """Validate every change first, then apply them all (no half-applied update)."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown knob(s): {', '.join(sorted(unknown))}")
        parsed = {name: _parse_knob(name, value) for name, value in changes.items()}
        for name, value in parsed.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["throttle_operations"] = sorted(self.throttle_operations)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def _parse_knob(name: str, value: Any) -> Any:
    if name.endswith("_seconds") and name not in (
        "password_apply_seconds",
        "instance_available_seconds",
        "restore_testing_hour_seconds",
        "table_active_lag_seconds",
    ):
        return parse_range(value, name)
    if name.endswith("_rate"):
        return parse_rate(value, name)
    if name in ("lazy_restore", "default_vpc", "restore_created_events", "restore_testing_schedules"):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if name.startswith("max_"):
        count = int(value)
        if count < 0:
            raise ValueError(f"{name}: must be >= 0")
        return count
    if name == "throttle_operations":
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        return frozenset(str(v) for v in value)
    seconds = float(value)
    if seconds < 0:
        raise ValueError(f"{name}: must be >= 0")
    return seconds


@dataclass
class EmulatorConfig:
    """Everything needed to start an emulator (see ``backup-emulator --help`` for the CLI spelling)."""

    host: str = "127.0.0.1"
    port: int = 0
    postgres_url: str | None = None
    mysql_url: str | None = None
    events_url: str | None = None
    dynamodb_url: str | None = None  # where DynamoDB source and restored tables live (moto)
    region: str = "us-east-1"
    account_id: str = "123456789012"
    # Other accounts: access key ID -> account ID. A request signed with one of these keys acts as that account
    # (its vaults, instances, clusters and network); any other key is `account_id`'s.
    accounts: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    knobs: Knobs = field(default_factory=Knobs)
    # Host name reported in DescribeDBInstances for PostgreSQL endpoints (they go through the auth proxy).
    advertise_host: str | None = None
    # The machine's PostgreSQL may trust local connections; the proxy makes RDS-style passwords matter.
    pg_auth_proxy: bool = True
    pg_proxy_port: int = 0
    # Drop bvemu_ objects left by emulator runs that are no longer alive.
    reap_orphans: bool = True
    max_concurrent_db_work: int = 4
    event_queue_size: int = 10_000

    def with_knobs(self, **changes: Any) -> EmulatorConfig:
        knobs = dataclasses.replace(self.knobs)
        knobs.update(changes)
        return dataclasses.replace(self, knobs=knobs)
