"""Creates what the worker consumes on a local AWS stand-in (moto or LocalStack), the way Terraform's
`examples/local` does in the compose stack: work queue, restore-events queue and their DLQ, EventBridge rules
into them, results bucket, ledger table and log group. Used by the demo, the tests and the benchmark."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

# Terraform's EventBridge patterns (modules/intake reads these files): the stand-ins' rules are made from the same
# files, so the tests, the demo and the benchmark route events exactly as a deployment does.
EVENT_PATTERNS = Path(__file__).resolve().parents[1] / "deploy" / "terraform" / "modules" / "intake" / "event_patterns"


def event_pattern(rule: str, **detail: list[str]) -> dict[str, Any]:
    """The pattern of Terraform's rule `rule` (copy_job, backup_job, restore_job, restore_testing_job), with
    `detail` fields added the way Terraform adds the deployment's own values (destinationBackupVaultArn,
    iamRoleArn)."""
    pattern: dict[str, Any] = json.loads((EVENT_PATTERNS / f"{rule}.json").read_text())
    pattern["detail"].update(detail)
    return pattern


@dataclass(frozen=True)
class LocalResources:
    queue_url: str
    dlq_url: str
    bucket: str
    ledger_table: str
    log_group: str
    rule_names: tuple[str, ...]
    events_queue_url: str | None = None  # None: restore events go to the work queue


def create_resources(
    prefix: str,
    *,
    max_receive_count: int = 5,
    visibility_seconds: int = 60,
    backup_rule: bool = False,
    events_queue: bool = True,
) -> LocalResources:
    """Idempotent enough for a fresh stand-in; names start with `prefix`. `events_queue`: restore events get
    their own queue, as Terraform deploys it (False: one queue for everything, as the benchmark's baseline)."""
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-dlq")["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": max_receive_count})
    queue_urls = {
        kind: sqs.create_queue(
            QueueName=f"{prefix}-{kind}",
            Attributes={"VisibilityTimeout": str(visibility_seconds), "RedrivePolicy": redrive},
        )["QueueUrl"]
        for kind in (("queue", "restore-events") if events_queue else ("queue",))
    }
    queue_arn = _queue_arn(sqs, queue_urls["queue"])
    events_arn = _queue_arn(sqs, queue_urls["restore-events"]) if events_queue else queue_arn
    targets: dict[str, tuple[dict[str, Any], str]] = {
        f"{prefix}-copy-completed": (event_pattern("copy_job"), queue_arn),
        f"{prefix}-restore-status": (event_pattern("restore_job"), events_arn),
    }
    if backup_rule:
        targets[f"{prefix}-backup-completed"] = (event_pattern("backup_job"), queue_arn)
    events = boto3.client("events")
    for name, (pattern, arn) in targets.items():
        events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    bucket = f"{prefix}-results"
    s3 = boto3.client("s3")
    region = s3.meta.region_name
    # S3 wants the bucket's region named everywhere but in us-east-1 (IllegalLocationConstraintException).
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **where)
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
    return LocalResources(
        queue_urls["queue"], dlq_url, bucket, table, log_group, tuple(targets), queue_urls.get("restore-events")
    )


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


@dataclass(frozen=True)
class RestoreNetwork:
    """The restoring account's network for the worker: BV_SUBNET_GROUP and BV_SECURITY_GROUP_IDS."""

    subnet_group: str
    security_group_ids: tuple[str, ...]


def create_restore_network(prefix: str, emulator_url: str) -> RestoreNetwork:
    """A security group in the default VPC of the EC2 stand-in (moto; the worker's preflight looks there), the same
    group made known to the emulator's RDS, and a DB subnet group over the VPC's subnets on the emulator."""
    from emulator.client import ControlClient

    ec2 = boto3.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    vpc_id = vpcs[0]["VpcId"] if vpcs else ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group_id = ec2.create_security_group(
        GroupName=f"{prefix}-restores", Description="restored databases", VpcId=vpc_id
    )["GroupId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    subnet_ids = [s["SubnetId"] for s in subnets][:3] or [f"subnet-{prefix}"]
    ControlClient(emulator_url).add_network(security_groups=[group_id])
    name = f"{prefix}-restores"
    boto3.client("rds").create_db_subnet_group(
        DBSubnetGroupName=name, DBSubnetGroupDescription="restored databases", SubnetIds=subnet_ids
    )
    return RestoreNetwork(name, (group_id,))
