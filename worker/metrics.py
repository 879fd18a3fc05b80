"""Prometheus metrics: one `Metrics` object per worker, built on an injected registry.

Labels are bounded: resource type, engine, status, check kind, AWS service/operation, account id. Never an ARN.
Buckets are explicit and span what restores really take: seconds locally, minutes to hours in AWS.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

PREFIX = "backup_validation"

RESTORE_BUCKETS = (
    5.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    900.0,
    1200.0,
    1800.0,
    2700.0,
    3600.0,
    5400.0,
    7200.0,
    10800.0,
    14400.0,
    21600.0,
    43200.0,
)
CHECK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
DATA_GAP_BUCKETS = (
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    28800.0,
    43200.0,
    86400.0,
    172800.0,
    604800.0,
)


class Metrics:
    """Every metric the worker exports. Tests build one on a fresh registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.validations = Counter(
            f"{PREFIX}_validations_total",
            "Validations finished, by outcome.",
            ["resource_type", "engine", "status"],
            registry=registry,
        )
        self.restore_duration = Histogram(
            f"{PREFIX}_restore_duration_seconds",
            "Restore job start to completion (the record's restore_duration); failed restores are not observed.",
            ["resource_type", "engine"],
            buckets=RESTORE_BUCKETS,
            registry=registry,
        )
        self.data_gap = Histogram(
            f"{PREFIX}_data_gap_seconds",
            "Recovery point creation time minus the newest row found in the restore (the real RPO).",
            ["resource_type", "engine"],
            buckets=DATA_GAP_BUCKETS,
            registry=registry,
        )
        self.check_duration = Histogram(
            f"{PREFIX}_check_duration_seconds",
            "Time one data check took on the restored database.",
            ["kind"],
            buckets=CHECK_BUCKETS,
            registry=registry,
        )
        self.checks = Counter(
            f"{PREFIX}_checks_total",
            "Data checks run, by kind and outcome (PASSED, FAILED, ERROR).",
            ["kind", "status"],
            registry=registry,
        )
        self.jobs_in_flight = Gauge(
            f"{PREFIX}_jobs_in_flight",
            "Messages being processed by this worker.",
            registry=registry,
        )
        self.restores_in_flight = Gauge(
            f"{PREFIX}_restores_in_flight",
            "Restore jobs started and not yet cleaned up, by source account.",
            ["account_id"],
            registry=registry,
        )
        self.sqs_messages = Counter(
            f"{PREFIX}_sqs_messages_total",
            "SQS messages handled, by outcome (acked, retried, ignored, skipped, dead_lettered...).",
            ["outcome"],
            registry=registry,
        )
        self.aws_api_calls = Counter(
            f"{PREFIX}_aws_api_calls_total",
            "AWS API calls made (including retries by botocore), by service and operation.",
            ["service", "operation"],
            registry=registry,
        )
        self.aws_api_errors = Counter(
            f"{PREFIX}_aws_api_errors_total",
            "AWS API calls that returned an error, by service, operation and error code.",
            ["service", "operation", "code"],
            registry=registry,
        )
        self.last_success = Gauge(
            f"{PREFIX}_last_success_timestamp_seconds",
            "Unix time of the last PASSED validation.",
            ["resource_type", "engine"],
            registry=registry,
        )
        self.cleanup_failures = Counter(
            f"{PREFIX}_cleanup_failures_total",
            "Restored resources that could not be deleted.",
            ["resource_type"],
            registry=registry,
        )
        self.swept = Counter(
            f"{PREFIX}_swept_resources_total",
            "Restored resources deleted by the sweeper after outliving their TTL.",
            ["resource_type"],
            registry=registry,
        )
        self.restore_detections = Counter(
            f"{PREFIX}_restore_detections_total",
            "Finished restore jobs, by how the worker learnt of it first (event, sweep, describe).",
            ["source"],
            registry=registry,
        )
        self.target_misses = Counter(
            f"{PREFIX}_target_misses_total",
            "Validations whose RPO or RTO target was missed.",
            ["target"],
            registry=registry,
        )
        self.coverage_missing = Gauge(
            f"{PREFIX}_coverage_missing_sources",
            "Protected sources without a PASSED validation within their SLO.",
            registry=registry,
        )
        self.queue_messages = Gauge(
            f"{PREFIX}_queue_messages",
            "Approximate messages in the work queue and its DLQ, by state (visible, in_flight).",
            ["queue", "state"],
            registry=registry,
        )
        self.build = Info(f"{PREFIX}_worker", "Worker build information.", registry=registry)
