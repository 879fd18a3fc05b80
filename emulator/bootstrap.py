"""Creates what the worker consumes on a local AWS stand-in (moto or LocalStack), the way Terraform's
`examples/local` does in the compose stack: queue + DLQ, EventBridge rules into the queue, results bucket,
ledger table and log group. Used by the demo and the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

COPY_COMPLETED_PATTERN = {
    "source": ["aws.backup"],
    "detail-type": ["Copy Job State Change"],
    "detail": {"state": ["COMPLETED"]},
}
BACKUP_COMPLETED_PATTERN = {
    "source": ["aws.backup"],
    "detail-type": ["Backup Job State Change"],
    "detail": {"state": ["COMPLETED"]},
}
RESTORE_PATTERN = {"source": ["aws.backup"], "detail-type": ["Restore Job State Change"]}


@dataclass(frozen=True)
class LocalResources:
    queue_url: str
    dlq_url: str
    bucket: str
    ledger_table: str
    log_group: str
    rule_names: tuple[str, ...]


def create_resources(
    prefix: str, *, max_receive_count: int = 5, visibility_seconds: int = 60, backup_rule: bool = False
) -> LocalResources:
    """Idempotent enough for a fresh stand-in; names start with `prefix`."""
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-dlq")["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-queue",
        Attributes={
            "VisibilityTimeout": str(visibility_seconds),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}),
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    patterns: dict[str, dict[str, Any]] = {
        f"{prefix}-copy-completed": COPY_COMPLETED_PATTERN,
        f"{prefix}-restore-status": RESTORE_PATTERN,
    }
    if backup_rule:
        patterns[f"{prefix}-backup-completed"] = BACKUP_COMPLETED_PATTERN
    events = boto3.client("events")
    for name, pattern in patterns.items():
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    bucket = f"{prefix}-results"
    boto3.client("s3").create_bucket(Bucket=bucket)
    table = f"{prefix}-ledger"
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    log_group = f"/{prefix}/validations"
    boto3.client("logs").create_log_group(logGroupName=log_group)
    return LocalResources(queue_url, dlq_url, bucket, table, log_group, tuple(patterns))


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
