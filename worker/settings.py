"""The only reader of the environment. Everything is validated at start-up, with messages a person can act on."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.fleet_limits import FleetLimits, parse_kind_limits
from worker.policy_bounds import DeploymentBounds

# `worker.adapters.database.open_database`'s connect_timeout (a test keeps the two equal).
DB_CONNECT_TIMEOUT_SECONDS = 10.0


class ConfigError(Exception):
    """The worker cannot start with this configuration; the message says what to change."""


class DbTls(StrEnum):
    REQUIRE = "require"
    DISABLE = "disable"


class EvidenceSettings(BaseSettings):
    """The tamper evidence's `BV_*` variables (docs/evidence.md): the worker seals with them, `report --evidence`
    verifies with them."""

    model_config = SettingsConfigDict(env_prefix="BV_", extra="ignore", frozen=True)

    evidence_kms_key_id: str | None = Field(
        default=None,
        description="asymmetric KMS key (SIGN_VERIFY) that signs the daily evidence manifests (unset: none signed)",
    )
    evidence_signing_algorithm: str = Field(
        default="ECDSA_SHA_256",
        pattern="^(ECDSA_SHA_(256|384|512)|RSASSA_PSS_SHA_(256|384|512)|RSASSA_PKCS1_V1_5_SHA_(256|384|512))$",
        description="KMS signing algorithm matching the key's spec",
    )
    manifest_prefix: str = Field(default="manifests/", description="key prefix of the daily manifests in S3")
    manifest_grace_hours: float = Field(
        default=6.0, ge=0, le=72, description="a day is sealed this long after it ends (late validations finish)"
    )


class Settings(EvidenceSettings):
    """`BV_*` variables. AWS region, credentials and endpoints come from the standard AWS variables."""

    model_config = SettingsConfigDict(env_prefix="BV_", extra="ignore", frozen=True)

    # botocore reads only AWS_DEFAULT_REGION; AWS_REGION (what ECS and Lambda set, and the README names) must work
    # alone too, so the region is read here and handed to every client.
    aws_region: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="AWS_REGION, else AWS_DEFAULT_REGION",
    )
    queue_url: str = Field(description="SQS queue the EventBridge rules fill")
    results_bucket: str = Field(description="S3 bucket for the summary records")
    ledger_table: str = Field(description="DynamoDB ledger table (partition key pk, TTL expires_at)")
    policy_file: Path = Field(description="TOML policy: which recovery points to validate and how")
    log_group: str | None = Field(default=None, description="CloudWatch Logs group for the records (EMF)")
    results_prefix: str = Field(default="validations/", description="key prefix of the records in S3")
    events_queue_url: str | None = Field(
        default=None,
        description="queue of restore job events only, received even when the work queue's intake is full "
        "(unset: they come on the work queue)",
    )
    dlq_url: str | None = Field(default=None, description="dead-letter queue: depth, `dlq`, the rescue pass")
    restore_role_arn: str | None = Field(default=None, description="IAM role AWS Backup restores with")
    subnet_group: str | None = Field(default=None, description="DB subnet group for restored instances")
    security_group_ids: str = Field(default="", description="comma-separated VPC security groups")
    metrics_port: int = Field(default=9797, ge=0, le=65535, description="/metrics, /healthz, /readyz")
    metrics_host: str = Field(default="0.0.0.0", description="address the metrics server binds")  # noqa: S104
    max_concurrent_restores: int = Field(default=20, ge=1, le=50000)
    max_restores_per_account: int | None = Field(default=None, ge=1, description="cap per account+region")
    db_tls: DbTls = Field(default=DbTls.REQUIRE, description="require (default) or disable (local stand-ins)")
    db_ca_file: Path | None = Field(
        default=None, description="CA bundle (e.g. the RDS global bundle) to verify database certificates"
    )
    db_connect_attempts: int = Field(
        default=5, ge=1, le=20, description="connection tries (1, 2, 4... s apart) while a new password settles"
    )
    drain_seconds: float = Field(default=25.0, gt=0, le=100)
    lease_seconds: int = Field(default=300, ge=5, description="ledger lease; renewed while a job runs")
    visibility_seconds: int = Field(
        default=120, ge=5, le=43200, description="heartbeat visibility window (longer when the lease needs it)"
    )
    sweep_interval_seconds: float = Field(default=15.0, gt=0, description="ListRestoreJobs status sweep")
    sweeper_interval_seconds: float = Field(default=600.0, gt=0, description="leaked-resource sweeper period")
    resource_ttl_seconds: int = Field(
        default=8 * 3600,
        ge=60,
        description="age after which the sweeper deletes; longer than any selection's restore_timeout + "
        "connecting + check_budget (checked at start-up)",
    )
    coverage_slo_hours: float = Field(
        default=26.0, gt=0, description="a selected source without a PASSED validation for this long is uncovered"
    )
    reconcile_interval_seconds: float = Field(default=900.0, gt=0, description="period of the coverage check")
    restore_testing_sweep_seconds: float = Field(
        default=300.0, gt=0, description="period of the sweep for restore testing jobs whose events were lost"
    )
    record_ttl_days: int = Field(default=90, ge=1, description="ledger items expire after this many days")
    seal_interval_seconds: float = Field(default=3600.0, gt=0, description="period of the manifest sealer")
    fleet_max_restores: int | None = Field(
        default=None, ge=1, description="restores in flight across every worker sharing the ledger table"
    )
    fleet_max_restores_per_account: int | None = Field(
        default=None, ge=1, description="fleet-wide restores in flight per source account+region"
    )
    fleet_max_restores_per_kind: str = Field(
        default="", description="fleet-wide restores in flight per resource kind, e.g. RDS=30,Aurora=10"
    )
    fleet_slot_wait_seconds: float = Field(
        default=3600.0, gt=0, description="how long a restore waits for a fleet slot before its message goes back"
    )
    fleet_quota_headroom: int | None = Field(
        default=None,
        ge=0,
        description="derive the RDS/Aurora fleet limits from the account's RDS quotas minus this many "
        "(unset: only the limits set by hand)",
    )
    runner_lease_seconds: int = Field(
        default=120, ge=30, description="lease of the one worker running the sweeper and the reconciler"
    )
    ecs_agent_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ECS_AGENT_URI", "ecs_agent_uri"),
        description="set by ECS (no BV_ prefix): task scale-in protection while validations are held",
    )
    task_protection_minutes: int = Field(
        default=120, ge=1, le=2880, description="scale-in protection expiry, renewed while validations are held"
    )
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("queue_url", "events_queue_url", "dlq_url")
    @classmethod
    def _queue_url_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)")
        return value

    @field_validator("fleet_max_restores_per_kind")
    @classmethod
    def _kind_limits(cls, value: str) -> str:
        parse_kind_limits(value)
        return value

    @property
    def fleet_limits(self) -> FleetLimits:
        return FleetLimits(
            self.fleet_max_restores,
            self.fleet_max_restores_per_account,
            parse_kind_limits(self.fleet_max_restores_per_kind),
        )

    @property
    def security_groups(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.security_group_ids.split(",") if part.strip())

    @property
    def tls_required(self) -> bool:
        return self.db_tls is DbTls.REQUIRE

    @property
    def deployment_bounds(self) -> DeploymentBounds:
        """What these settings allow a validation, for the policy's bound checks (docs/reliability.md)."""
        attempts = self.db_connect_attempts
        backoff = 2 ** (attempts - 1) - 1  # 1, 2, 4 ... s between attempts
        connect = timedelta(seconds=attempts * DB_CONNECT_TIMEOUT_SECONDS + backoff)
        return DeploymentBounds(resource_ttl=timedelta(seconds=self.resource_ttl_seconds), connect=connect)


class ReportSettings(EvidenceSettings):
    """What `backup-validator report` reads: where the records are, and optionally the inventory's policy and an
    Athena workgroup. Separate from Settings so that an auditor's read-only environment needs no queue or ledger."""

    model_config = SettingsConfigDict(env_prefix="BV_", extra="ignore", frozen=True)

    results_bucket: str = Field(description="S3 bucket of the summary records")
    results_prefix: str = Field(default="validations/", description="key prefix of the records in S3")
    coverage_slo_hours: float = Field(default=26.0, gt=0, description="a source not PASSED for this long is uncovered")
    policy_file: Path | None = Field(default=None, description="policy: which protected sources are selected")
    athena_workgroup: str | None = Field(
        default=None, description="read the records through this Athena workgroup instead of listing S3"
    )
    athena_database: str | None = Field(default=None, description="Glue database of the records table (Athena)")
    athena_table: str = Field(default="validations", pattern="^[a-z0-9_]{1,255}$", description="Glue table name")
    athena_timeout_seconds: float = Field(default=300.0, gt=0, le=3600, description="bound on one Athena query")
    ledger_table: str | None = Field(
        default=None, description="DynamoDB ledger table: the chains' heads, to find the newest records deleted"
    )

    @field_validator("athena_database")
    @classmethod
    def _glue_name(cls, value: str | None) -> str | None:
        if value is not None and not value.replace("_", "").isalnum():
            raise ValueError("must be a Glue database name (letters, digits, underscores)")
        return value


def load_report_settings(**overrides: object) -> ReportSettings:
    """The report's settings; ConfigError naming every variable that is wrong."""
    try:
        settings = ReportSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_problems(exc)) from None
    if settings.athena_workgroup and not settings.athena_database:
        raise ConfigError("invalid configuration:\n  BV_ATHENA_DATABASE: is required when BV_ATHENA_WORKGROUP is set")
    if settings.policy_file is not None and not settings.policy_file.is_file():
        raise ConfigError(f"BV_POLICY_FILE: {settings.policy_file} does not exist or is not a file")
    return settings


def load_settings(**overrides: object) -> Settings:
    """Read and validate the environment; raise ConfigError naming every variable that is wrong."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_problems(exc)) from None
    if not settings.policy_file.is_file():
        raise ConfigError(f"BV_POLICY_FILE: {settings.policy_file} does not exist or is not a file")
    return settings


def _problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        problems.append(f"BV_{field.upper()}: {_describe(error)}")
    return "invalid configuration:\n  " + "\n  ".join(problems)


def _describe(error: object) -> str:
    assert isinstance(error, dict)
    if error.get("type") == "missing":
        return "is required but not set"
    return str(error.get("msg", "invalid value"))
