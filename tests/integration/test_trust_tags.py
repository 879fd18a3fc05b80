"""Selection by tags: the recovery point's tags (AWS Backup ListTags on its ARN) select and route, as
docs/policy.md says. Tags are set the AWS way, as StartBackupJob's RecoveryPointTags; the copy keeps them."""

from __future__ import annotations

import json
import os
import subprocess

import boto3
import pytest
from harness.worker_stack import make_stack, metric_value, run_inline

ROUTING_POLICY = """
[defaults]
restore_timeout = "2m"
statement_timeout = "5s"

[[selection]]
name = "gold"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:{prefix}-*"
tags = {{ tier = "gold", team = "pay*" }}

[[selection.check]]
name = "gold-only"
kind = "sql"
query = "SELECT count(*) FROM events"
expect_min = 1

{rest}
"""

REST = """
[[selection]]
name = "rest"
resource_type = "RDS"
source_arn = "arn:aws:rds:*:*:db:{prefix}-*"

[[selection.check]]
kind = "row_count"
table = "events"
min = 1
"""


@pytest.fixture
async def stack(emulator):
    made = await make_stack()
    yield made
    await made.close()


def write_policy(stack, *, with_rest: bool) -> None:
    rest = REST.format(prefix=stack.prefix) if with_rest else ""
    stack.policy_file.write_text(ROUTING_POLICY.format(prefix=stack.prefix, rest=rest))


async def test_the_emulator_answers_list_tags_like_aws(stack):
    source = await stack.add_source("postgres")
    arn = await stack.traffic.backup_and_copy(source, tags={"tier": "gold"})
    backup = boto3.client("backup")
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"tier": "gold"}
    with pytest.raises(backup.exceptions.ResourceNotFoundException):
        backup.list_tags(ResourceArn=arn + "-missing")
    # and a client nobody here wrote: the AWS CLI, with the endpoint from the standard variable
    endpoint = os.environ["AWS_ENDPOINT_URL_BACKUP"]
    command = ["aws", "backup", "list-tags", "--resource-arn", arn, "--endpoint-url", endpoint, "--output", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Tags"] == {"tier": "gold"}


async def test_tags_route_recovery_points_to_their_selection(stack):
    write_policy(stack, with_rest=True)
    gold = await stack.add_source("postgres")
    plain = await stack.add_source("mariadb")
    async with run_inline(stack):
        gold_arn = await stack.traffic.backup_and_copy(gold, tags={"tier": "gold", "team": "payments"})
        plain_arn = await stack.traffic.backup_and_copy(plain, tags={"tier": "silver", "team": "payments"})
        records = await stack.wait_for_records(2, timeout=120)
    by_arn = {record["recovery_point_arn"]: record for record in records}
    assert by_arn[gold_arn]["selection"] == "gold"
    assert [check["name"] for check in by_arn[gold_arn]["checks"]] == ["gold-only"]
    assert by_arn[plain_arn]["selection"] == "rest"
    assert all(record["status"] == "PASSED" for record in records), records
    assert stack.restored_instances() == []


async def test_a_selection_by_tags_leaves_untagged_recovery_points_unselected(stack):
    write_policy(stack, with_rest=False)
    untagged = await stack.add_source("postgres")
    tagged = await stack.add_source("postgres")
    async with run_inline(stack) as registry:
        await stack.traffic.backup_and_copy(untagged)
        tagged_arn = await stack.traffic.backup_and_copy(tagged, tags={"tier": "gold", "team": "payroll"})
        records = await stack.wait_for_records(1, timeout=120)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="both messages acked")
        unselected = metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "unselected"})
    assert [record["recovery_point_arn"] for record in records] == [tagged_arn]
    assert unselected == 1
