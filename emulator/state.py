"""In-memory state: instances, vaults, recovery points and jobs, indexed so handlers stay O(1)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def now() -> datetime:
    return datetime.now(UTC)


def resource_type_of(arn: str) -> str:
    """AWS Backup's resource type for a source ARN: a DynamoDB table, an RDS DB cluster ("Aurora") or DB instance."""
    if arn.startswith("arn:aws:dynamodb:"):
        return "DynamoDB"
    return "Aurora" if arn.split(":")[5:6] == ["cluster"] else "RDS"


@dataclass
class Physical:
    """A real database (and, for instances, its login) on one of the engine servers."""

    engine: str  # "postgres" or "mysql"
    database: str
    login: str = ""


@dataclass
class Instance:
    identifier: str
    arn: str
    account: str
    engine: str
    engine_version: str
    instance_class: str
    physical: Physical
    password: str
    status: str
    created: datetime
    address: str
    port: int
    subnet_group: str = "default"
    security_groups: list[str] = field(default_factory=list)
    availability_zone: str = ""
    multi_az: bool = False
    publicly_accessible: bool = False
    deletion_protection: bool = False
    allocated_storage: int = 20
    storage_type: str = "gp2"
    tags: dict[str, str] = field(default_factory=dict)
    pending_password: bool = False
    ignores_password_changes: bool = False
    password_changes: int = 0
    requested_db_name: str | None = None
    option_group: str | None = None
    parameter_group: str | None = None
    pending_class: str | None = None
    cluster: str | None = None  # the Aurora cluster it belongs to (its data and password are the cluster's)


@dataclass
class Cluster:
    """An Aurora DB cluster: the data and the master password live here; its instances only serve them."""

    identifier: str
    arn: str
    account: str
    engine: str
    engine_version: str
    physical: Physical
    password: str
    status: str
    created: datetime
    address: str
    port: int
    subnet_group: str = "default"
    security_groups: list[str] = field(default_factory=list)
    deletion_protection: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # instance identifiers, the first one the writer
    serverless_v2: dict[str, float] | None = None  # ServerlessV2ScalingConfiguration
    pending_password: bool = False
    ignores_password_changes: bool = False
    password_changes: int = 0


@dataclass
class SubnetGroup:
    name: str
    arn: str
    description: str
    subnet_ids: list[str]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Network:
    """What one account's RDS can place an instance in: its subnet groups, VPC security groups, option and
    parameter groups (the engines' `default:` / `default.` groups always exist)."""

    subnet_groups: dict[str, SubnetGroup] = field(default_factory=dict)
    security_groups: set[str] = field(default_factory=set)
    option_groups: set[str] = field(default_factory=set)
    parameter_groups: set[str] = field(default_factory=set)


@dataclass
class Vault:
    name: str
    account: str
    arn: str
    created: datetime
    creator_request_id: str | None = None
    encryption_key_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    recovery_points: dict[str, None] = field(default_factory=dict)


@dataclass
class Snapshot:
    """The frozen data of a recovery point, shared by its copies (recovery points are immutable)."""

    physical: Physical
    password: str
    size_bytes: int
    taken_at: datetime
    source: dict[str, Any]  # the source instance's settings at backup time (restore metadata)
    tags: dict[str, str]
    table: dict[str, Any] | None = None  # DynamoDB: the table's description and items at backup time


@dataclass
class RecoveryPoint:
    arn: str
    vault: Vault
    resource_arn: str
    resource_name: str
    iam_role_arn: str
    created: datetime
    snapshot: Snapshot | None
    status: str = "CREATING"
    completed: datetime | None = None
    source_vault_arn: str | None = None
    last_restore: datetime | None = None
    resource_type: str = "RDS"
    tags: dict[str, str] = field(default_factory=dict)  # StartBackupJob's RecoveryPointTags; copies keep them


@dataclass
class Job:
    job_id: str
    account: str
    created: datetime
    iam_role_arn: str
    state: str
    status_message: str | None = None
    completed: datetime | None = None
    percent_done: float = 0.0


@dataclass
class BackupJob(Job):
    vault: Vault | None = None
    resource_arn: str = ""
    recovery_point_arn: str = ""
    size_bytes: int = 0


@dataclass
class CopyJob(Job):
    source_vault_arn: str = ""
    source_recovery_point_arn: str = ""
    destination_vault_arn: str = ""
    destination_recovery_point_arn: str | None = None
    resource_arn: str = ""
    size_bytes: int = 0


@dataclass
class RestoreJob(Job):
    seq: int = 0
    recovery_point: RecoveryPoint | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    created_resource_arn: str | None = None
    restore_testing_plan_arn: str | None = None
    validation_status: str | None = None
    validation_message: str | None = None
    deletion_status: str | None = None
    deletion_message: str | None = None
    extra_tags: dict[str, str] = field(default_factory=dict)  # restore testing's awsbackup-restore-test
    expected_minutes: int = 1
    duration: float = 0.0
    copy_tags: bool = False


class Store:
    def __init__(self) -> None:
        self.instances: dict[str, Instance] = {}
        self.instance_by_arn: dict[str, Instance] = {}
        self.clusters: dict[str, Cluster] = {}
        self.cluster_by_arn: dict[str, Cluster] = {}
        self.networks: dict[str, Network] = {}
        self.vaults: dict[tuple[str, str], Vault] = {}
        self.recovery_points: dict[str, RecoveryPoint] = {}
        self.points_by_resource: dict[str, dict[str, None]] = {}
        self.backup_jobs: dict[str, BackupJob] = {}
        self.copy_jobs: dict[str, CopyJob] = {}
        self.restore_jobs: dict[str, RestoreJob] = {}
        self.restores_by_status: dict[str, dict[str, None]] = {}
        self.restore_tokens: dict[str, str] = {}
        self.backup_tokens: dict[str, str] = {}
        self.stale: dict[str, dict[str, Any]] = {}
        self.testing_plans: dict[str, Any] = {}  # name -> restore_testing.Plan
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.restores_per_point: Counter[str] = Counter()
        self.instances_added: Counter[str] = Counter()  # per cluster: CreateDBInstance calls that succeeded
        self.creating_answers: Counter[str] = Counter()  # per DynamoDB table: DescribeTable answers saying CREATING
        # The most restore jobs PENDING or RUNNING at once since start (or the last reset): a cap's exact check.
        self.in_flight_peak = 0
        self._per_account: Counter[str] = Counter()  # live instances per account
        self._seq = 0

    # ------------------------------------------------------------ instances
    def add_instance(self, inst: Instance) -> None:
        replaced = self.instances.get(inst.identifier)
        if replaced is not None:
            self._per_account[replaced.account] -= 1
        self.instances[inst.identifier] = inst
        self.instance_by_arn[inst.arn] = inst
        self._per_account[inst.account] += 1

    def remove_instance(self, inst: Instance) -> None:
        if self.instances.get(inst.identifier) is inst:
            self._per_account[inst.account] -= 1
            del self.instances[inst.identifier]
        self.instance_by_arn.pop(inst.arn, None)

    def add_cluster(self, cluster: Cluster) -> None:
        self.clusters[cluster.identifier] = cluster
        self.cluster_by_arn[cluster.arn] = cluster

    def remove(self, resource: Instance | Cluster) -> None:
        if isinstance(resource, Cluster):
            self.clusters.pop(resource.identifier, None)
            self.cluster_by_arn.pop(resource.arn, None)
        else:
            self.remove_instance(resource)

    def clusters_of(self, account: str) -> int:
        return sum(1 for cluster in self.clusters.values() if cluster.account == account)

    def instances_of(self, account: str) -> int:
        """Kept as a count: the quota check runs per restore, with tens of thousands of instances in load tests."""
        return self._per_account[account]

    def network(self, account: str) -> Network:
        return self.networks.setdefault(account, Network())

    # ------------------------------------------------------------ recovery points
    def add_recovery_point(self, rp: RecoveryPoint) -> None:
        self.recovery_points[rp.arn] = rp
        rp.vault.recovery_points[rp.arn] = None
        self.points_by_resource.setdefault(rp.resource_arn, {})[rp.arn] = None

    def remove_recovery_point(self, rp: RecoveryPoint) -> None:
        self.recovery_points.pop(rp.arn, None)
        rp.vault.recovery_points.pop(rp.arn, None)
        self.points_by_resource.get(rp.resource_arn, {}).pop(rp.arn, None)

    # ------------------------------------------------------------ restore jobs
    def add_restore_job(self, job: RestoreJob, token: str | None) -> None:
        self._seq += 1
        job.seq = self._seq
        self.restore_jobs[job.job_id] = job
        self.restores_by_status.setdefault(job.state, {})[job.job_id] = None
        if token:
            self.restore_tokens[token] = job.job_id
        if job.recovery_point is not None:
            self.restores_per_point[job.recovery_point.arn] += 1
        self.in_flight_peak = max(self.in_flight_peak, self.restores_in_flight())

    def set_restore_state(self, job: RestoreJob, state: str) -> None:
        self.restores_by_status.get(job.state, {}).pop(job.job_id, None)
        job.state = state
        self.restores_by_status.setdefault(state, {})[job.job_id] = None
        self.in_flight_peak = max(self.in_flight_peak, self.restores_in_flight())

    def restores_in_flight(self) -> int:
        return sum(len(self.restores_by_status.get(state, {})) for state in ("PENDING", "RUNNING"))

    def restore_jobs_in(self, status: str | None) -> list[RestoreJob]:
        if status is None:
            return list(self.restore_jobs.values())
        return [self.restore_jobs[i] for i in self.restores_by_status.get(status, {})]
