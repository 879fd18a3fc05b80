"""examples/local applied to moto: the event routes, the queues, the alarms against the worker's metrics, destroy."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from string import Template
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tfsupport import (
    COPY_JOB_EVENTS,
    QUERIES,
    SAMPLE_EVENTS,
    Deployment,
    Moto,
    as_list,
    check_evidence_permissions,
    check_queue_permissions,
    check_table_permissions,
    grants,
)

from worker.emf import COVERAGE_DIMENSION, COVERAGE_METRICS, DIMENSION_SETS, NAMESPACE
from worker.emf import METRICS as RECORD_METRICS

# Every test here needs a Terraform apply against moto.
pytestmark = pytest.mark.slow

# The summary record (the list of fields), which the Glue table must expose to Athena.
RECORD_FIELDS = {
    "recovery_point_arn": "string",
    "restored_instance_id": "string",
    "restore_start_time": "string",
    "restore_end_time": "string",
    "restore_duration": "double",
    "age_latest_db_tx": "double",
    "data_gap_minutes": "double",
    "status": "string",
    "validation_id": "string",
    "restore_job_id": "string",
    "source_resource_arn": "string",
    "resource_type": "string",
    "engine": "string",
    "account_id": "string",
    "region": "string",
    "backup_vault_name": "string",
    "recovery_point_created_at": "string",
    "rto_minutes": "double",
    "rpo_target_met": "boolean",
    "rto_target_met": "boolean",
    "cleanup_status": "string",
    "worker_version": "string",
    "selection": "string",
    "finished_at": "string",
    "chain_seq": "int",
    "previous_digest": "string",
    "record_digest": "string",
    # Restore testing plans (issue 16): the record says who started the restore.
    "origin": "string",
    "restore_testing_plan_arn": "string",
}
CHECK_STRUCT = (
    "array<struct<name:string,kind:string,status:string,passed:boolean,observed:string,"
    "expectation:string,message:string,duration_seconds:double,read_units:double>>"
)

# Alarm on each of these worker metrics must exist (the list).
REQUIRED_METRIC_ALARMS = {
    "ValidationFailed",
    "RestoreFailed",
    "RestoreDurationMinutes",
    "DataGapMinutes",
    "ValidationPassed",
    "CleanupFailed",
    "UncoveredSources",
}


# Every metric the worker emits: the records' and the coverage reconciler's (worker/emf.py).
METRICS = {**RECORD_METRICS, **COVERAGE_METRICS}

# The dimension sets of the worker's EMF lines, as sorted name tuples: the records' and the coverage lines'.
EMITTED_DIMENSION_SETS = {tuple(sorted(dimensions)) for dimensions in DIMENSION_SETS} | {(), (COVERAGE_DIMENSION,)}

# The resource type and engine pairs examples/local asks per-type alarms for.
LOCAL_ALARM_DIMENSIONS = {("RDS", "postgres"), ("RDS", "mariadb")}


def _put(moto: Moto, event: dict[str, Any]) -> None:
    """PutEvents with the envelope fields a caller can set (AWS fills in id, account and region)."""
    response = moto.client("events").put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event["resources"],
                "Time": datetime.fromisoformat(event["time"].replace("Z", "+00:00")),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0, response


def _drain(moto: Moto, queue_url: str) -> list[dict[str, Any]]:
    sqs = moto.client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _queue_arn(moto: Moto, queue_url: str) -> str:
    attributes = moto.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    arn: str = attributes["Attributes"]["QueueArn"]
    return arn


def test_outputs(local_deployment: Deployment) -> None:
    outputs = local_deployment.outputs
    for name in ("queue_url", "events_queue_url", "dlq_url", "results_bucket", "ledger_table", "log_group_name"):
        assert isinstance(outputs[name], str) and outputs[name], name
    assert set(outputs["rule_names"]) == {"copy_job", "backup_job", "restore_job", "restore_testing_job"}
    # The name docker-compose.yml gives the worker (BV_EVENTS_QUEUE_URL).
    assert outputs["events_queue_url"].endswith("/backup-validator-restore-events")


def test_copy_completed_sample_reaches_the_queue_and_failed_does_not(
    local_deployment: Deployment, tf_moto: Moto
) -> None:
    queue_url = local_deployment.outputs["queue_url"]
    events_queue_url = local_deployment.outputs["events_queue_url"]
    _drain(tf_moto, queue_url)
    _drain(tf_moto, events_queue_url)

    _put(tf_moto, COPY_JOB_EVENTS["FAILED"])
    assert _drain(tf_moto, queue_url) == [], "a FAILED copy job reached the queue"

    completed = COPY_JOB_EVENTS["COMPLETED"]
    _put(tf_moto, completed)
    bodies = _drain(tf_moto, queue_url)
    assert len(bodies) == 1, bodies
    body = bodies[0]
    assert body["detail-type"] == "Copy Job State Change"
    assert body["source"] == "aws.backup"
    assert body["detail"] == completed["detail"]
    assert body["detail"]["destinationRecoveryPointArn"] == "arn:aws:ec2:us-west-2::snapshot/snap-0726fe70935586180"
    assert _drain(tf_moto, events_queue_url) == [], "a copy job event reached the restore events queue"

    # The same COMPLETED copy into a vault that is not a central one is not ours (a modified copy of the sample).
    elsewhere = copy.deepcopy(completed)
    elsewhere["detail"]["destinationBackupVaultArn"] = "arn:aws:backup:us-west-2:1112233445566:backup-vault:other"
    _put(tf_moto, elsewhere)
    assert _drain(tf_moto, queue_url) == [], "a copy into another vault reached the queue"

    dlq = tf_moto.client("sqs").get_queue_attributes(
        QueueUrl=local_deployment.outputs["dlq_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_backup_job_completed_in_this_account_reaches_the_queue(local_deployment: Deployment, tf_moto: Moto) -> None:
    queue_url = local_deployment.outputs["queue_url"]
    events_queue_url = local_deployment.outputs["events_queue_url"]
    _drain(tf_moto, queue_url)
    _drain(tf_moto, events_queue_url)
    samples = SAMPLE_EVENTS["Backup Job State Change"]
    _put(tf_moto, samples["FAILED"])
    assert _drain(tf_moto, queue_url) == []
    # Put on this (moto's) account's bus, so the event's account is the central account.
    _put(tf_moto, samples["COMPLETED"])
    bodies = _drain(tf_moto, queue_url)
    assert [body["resources"] for body in bodies] == [samples["COMPLETED"]["resources"]]
    assert _drain(tf_moto, events_queue_url) == [], "a backup job event reached the restore events queue"


def test_only_final_states_of_our_restores_reach_the_restore_events_queue(
    local_deployment: Deployment, tf_moto: Moto
) -> None:
    queue_url = local_deployment.outputs["queue_url"]
    events_queue_url = local_deployment.outputs["events_queue_url"]
    _drain(tf_moto, queue_url)
    _drain(tf_moto, events_queue_url)
    samples = SAMPLE_EVENTS["Restore Job State Change"]
    # The unmodified samples ran with another role: not the worker's restores.
    _put(tf_moto, samples["COMPLETED"])
    assert _drain(tf_moto, events_queue_url) == []
    ours = {}
    for status, sample in samples.items():
        ours[status] = copy.deepcopy(sample)
        ours[status]["detail"]["iamRoleArn"] = local_deployment.outputs["restore_role_arn"]
    _put(tf_moto, ours["RUNNING"])
    assert _drain(tf_moto, events_queue_url) == []
    _put(tf_moto, ours["COMPLETED"])
    bodies = _drain(tf_moto, events_queue_url)
    assert [body["detail"]["restoreJobId"] for body in bodies] == [samples["COMPLETED"]["detail"]["restoreJobId"]]
    assert bodies[0]["detail"]["status"] == "COMPLETED"
    # Never on the work queue, where they would wait behind its backlog.
    assert _drain(tf_moto, queue_url) == [], "a restore job event reached the work queue"


def test_completed_restore_testing_jobs_reach_the_restore_events_queue(
    local_deployment: Deployment, tf_moto: Moto
) -> None:
    """AWS's sample restore event, as a restore testing job's (its plan's ARN added): only COMPLETED goes, to the
    restore events queue, whichever role restored it; a restore without a plan ARN and another role does not."""
    queue_url = local_deployment.outputs["queue_url"]
    events_queue_url = local_deployment.outputs["events_queue_url"]
    _drain(tf_moto, queue_url)
    _drain(tf_moto, events_queue_url)
    samples = SAMPLE_EVENTS["Restore Job State Change"]
    plan_arn = "arn:aws:backup:us-east-1:123456789012:restore-testing-plan:nightly_orders-8d7f"
    tested = {}
    for status, sample in samples.items():
        tested[status] = copy.deepcopy(sample)
        tested[status]["detail"]["restoreTestingPlanArn"] = plan_arn
        tested[status]["detail"]["iamRoleArn"] = local_deployment.outputs["restore_testing_role_arn"]
    _put(tf_moto, tested["RUNNING"])
    _put(tf_moto, samples["COMPLETED"])  # no plan ARN, another role: neither rule's
    assert _drain(tf_moto, events_queue_url) == []
    _put(tf_moto, tested["COMPLETED"])
    bodies = _drain(tf_moto, events_queue_url)
    assert [body["detail"]["restoreTestingPlanArn"] for body in bodies] == [plan_arn]
    assert bodies[0]["detail"]["status"] == "COMPLETED"
    assert _drain(tf_moto, queue_url) == [], "a restore testing event reached the work queue"


def test_rules_target_their_queue_with_retries_and_a_dead_letter_queue(
    local_deployment: Deployment, tf_moto: Moto
) -> None:
    outputs = local_deployment.outputs
    queue_arn = _queue_arn(tf_moto, outputs["queue_url"])
    events_queue_arn = _queue_arn(tf_moto, outputs["events_queue_url"])
    dlq_arn = _queue_arn(tf_moto, outputs["dlq_url"])
    expected = {
        "copy_job": queue_arn,
        "backup_job": queue_arn,
        "restore_job": events_queue_arn,
        "restore_testing_job": events_queue_arn,
    }
    events = tf_moto.client("events")
    for kind, rule in outputs["rule_names"].items():
        targets = events.list_targets_by_rule(Rule=rule)["Targets"]
        assert len(targets) == 1, (kind, targets)
        target = targets[0]
        assert target["Arn"] == expected[kind], kind
        # Both queues share the DLQ.
        assert target["DeadLetterConfig"]["Arn"] == dlq_arn
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    restore_rule = events.describe_rule(Name=local_deployment.outputs["rule_names"]["restore_job"])
    pattern = json.loads(restore_rule["EventPattern"])
    # Restore events report `status`, not `state`.
    assert pattern["detail"]["status"] == ["COMPLETED", "FAILED", "ABORTED"]
    assert pattern["detail"]["iamRoleArn"] == [local_deployment.outputs["restore_role_arn"]]


@pytest.mark.parametrize(
    ("queue", "kinds"),
    [
        ("queue_url", {"copy_job", "backup_job"}),
        ("events_queue_url", {"restore_job", "restore_testing_job"}),
        # EventBridge dead-letters the events of every rule there.
        ("dlq_url", {"copy_job", "backup_job", "restore_job", "restore_testing_job"}),
    ],
)
def test_queue_policy_admits_only_the_rules_that_target_it(
    local_deployment: Deployment, tf_moto: Moto, queue: str, kinds: set[str]
) -> None:
    sqs = tf_moto.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=local_deployment.outputs[queue], AttributeNames=["All"])
    attributes = attributes["Attributes"]
    policy = json.loads(attributes["Policy"])
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert allow[0]["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow[0]["Action"] == "sqs:SendMessage"
    assert allow[0]["Resource"] == attributes["QueueArn"]
    source_arns = allow[0]["Condition"]["ArnEquals"]["aws:SourceArn"]
    # describe_rule by name: list_rules pages and would also list the other deployment's rules
    events = tf_moto.client("events")
    rule_names = local_deployment.outputs["rule_names"]
    ours = {events.describe_rule(Name=rule_names[kind])["Arn"] for kind in kinds}
    assert set(as_list(source_arns)) == ours
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert len(deny) == 1 and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, deny


def test_queues_have_the_dlq_redrive_and_encryption(local_deployment: Deployment, tf_moto: Moto) -> None:
    sqs = tf_moto.client("sqs")
    outputs = local_deployment.outputs
    queue = sqs.get_queue_attributes(QueueUrl=outputs["queue_url"], AttributeNames=["All"])["Attributes"]
    events_queue = sqs.get_queue_attributes(QueueUrl=outputs["events_queue_url"], AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=outputs["dlq_url"], AttributeNames=["All"])["Attributes"]
    for attributes in (queue, events_queue):
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == 5
        assert attributes["SqsManagedSseEnabled"] == "true"
        assert int(dlq["MessageRetentionPeriod"]) > int(attributes["MessageRetentionPeriod"])
        assert attributes.get("FifoQueue", "false") == "false"
    assert dlq["SqsManagedSseEnabled"] == "true"
    assert events_queue["MessageRetentionPeriod"] == queue["MessageRetentionPeriod"]
    assert int(events_queue["VisibilityTimeout"]) == 60
    # The worker's heartbeat window is the work queue's visibility timeout.
    worker_env = outputs["worker_environment"]
    assert worker_env["BV_VISIBILITY_SECONDS"] == queue["VisibilityTimeout"]


def test_alarms_watch_the_metrics_the_worker_emits(local_deployment: Deployment, tf_moto: Moto) -> None:
    names = list(local_deployment.outputs["alarm_names"].values())
    alarms = tf_moto.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    assert {alarm["AlarmName"] for alarm in alarms} == set(names)
    ours = [alarm for alarm in alarms if alarm.get("Namespace") == NAMESPACE]
    for alarm in ours:
        assert alarm["MetricName"] in METRICS, f"{alarm['AlarmName']}: {alarm['MetricName']} is not emitted"
        # Only series the worker emits: a dimension set of its EMF records.
        dimensions = tuple(sorted(dimension["Name"] for dimension in alarm.get("Dimensions", [])))
        assert dimensions in EMITTED_DIMENSION_SETS, (alarm["AlarmName"], dimensions)
        assert alarm["AlarmActions"] and alarm["OKActions"], alarm["AlarmName"]
    # The worker emits every metric also without dimensions: that is the series the fleet-wide alarms watch.
    by_metric = {alarm["MetricName"]: alarm for alarm in ours if not alarm.get("Dimensions")}
    assert set(by_metric) >= REQUIRED_METRIC_ALARMS, REQUIRED_METRIC_ALARMS - set(by_metric)

    no_passed = by_metric["ValidationPassed"]
    assert no_passed["TreatMissingData"] == "breaching"
    assert no_passed["ComparisonOperator"] == "LessThanThreshold" and no_passed["Threshold"] == 1
    assert no_passed["Statistic"] == "Sum"
    for metric in ("ValidationFailed", "RestoreFailed", "CleanupFailed"):
        assert by_metric[metric]["ComparisonOperator"] == "GreaterThanThreshold"
        assert by_metric[metric]["Threshold"] == 0

    # Coverage (the reconciler's EMF line per pass): any uncovered source alarms, and so does a period without a
    # pass (missing data breaches: silence must not look like coverage). The example's selection has its own.
    coverage = by_metric["UncoveredSources"]
    assert (coverage["ComparisonOperator"], coverage["Threshold"]) == ("GreaterThanThreshold", 0)
    assert (coverage["Statistic"], coverage["Period"], coverage["TreatMissingData"]) == ("Maximum", 3600, "breaching")
    per_selection = [alarm for alarm in ours if alarm.get("Dimensions") and alarm["MetricName"] == "UncoveredSources"]
    assert [alarm["Dimensions"] for alarm in per_selection] == [[{"Name": "Selection", "Value": "orders"}]]
    assert per_selection[0]["AlarmName"] == "backup-validator-coverage-missing-orders"
    assert per_selection[0]["TreatMissingData"] == "breaching"

    queue_alarms = {
        (alarm["MetricName"], alarm["Dimensions"][0]["Value"])
        for alarm in alarms
        if alarm.get("Namespace") == "AWS/SQS"
    }
    queue_names = {name: local_deployment.outputs[name].rsplit("/", 1)[1] for name in ("queue_url", "events_queue_url")}
    dlq_name = local_deployment.outputs["dlq_url"].rsplit("/", 1)[1]
    assert queue_alarms == {
        ("ApproximateAgeOfOldestMessage", queue_names["queue_url"]),
        ("ApproximateAgeOfOldestMessage", queue_names["events_queue_url"]),
    }
    # The DLQ alarm counts visible and in-flight dead letters: the rescue pass hides those it judges for moments.
    (dlq_alarm,) = [alarm for alarm in alarms if alarm["AlarmName"] == "backup-validator-dlq-not-empty"]
    queries = {query["Id"]: query for query in dlq_alarm["Metrics"]}
    assert queries["dead_letters"]["Expression"] == "visible + in_flight"
    assert queries["dead_letters"]["ReturnData"] is True
    counted = {
        (query["MetricStat"]["Metric"]["MetricName"], query["MetricStat"]["Metric"]["Dimensions"][0]["Value"])
        for query in dlq_alarm["Metrics"]
        if "MetricStat" in query
    }
    assert counted == {
        ("ApproximateNumberOfMessagesVisible", dlq_name),
        ("ApproximateNumberOfMessagesNotVisible", dlq_name),
    }
    assert (dlq_alarm["ComparisonOperator"], dlq_alarm["Threshold"]) == ("GreaterThanThreshold", 0)

    topics = tf_moto.client("sns").list_topics()["Topics"]
    topic_arns = {topic["TopicArn"] for topic in topics}
    for alarm in alarms:
        assert set(alarm["AlarmActions"]) <= topic_arns


def test_alarms_per_resource_type_and_engine(local_deployment: Deployment, tf_moto: Moto) -> None:
    """Each event alarm once more per listed pair, on the worker's ResourceType + Engine series."""
    names = list(local_deployment.outputs["alarm_names"].values())
    alarms = tf_moto.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    fleet = {alarm["MetricName"] for alarm in alarms if alarm.get("Namespace") == NAMESPACE and not alarm["Dimensions"]}
    per_pair: dict[tuple[str, str], set[str]] = {}
    for alarm in alarms:
        dimensions = {dimension["Name"]: dimension["Value"] for dimension in alarm.get("Dimensions", [])}
        if alarm.get("Namespace") == NAMESPACE and dimensions and COVERAGE_DIMENSION not in dimensions:
            pair = (dimensions["ResourceType"], dimensions["Engine"])
            per_pair.setdefault(pair, set()).add(alarm["MetricName"])
            assert alarm["TreatMissingData"] == "notBreaching", alarm["AlarmName"]
    assert set(per_pair) == LOCAL_ALARM_DIMENSIONS
    for pair, metrics in per_pair.items():
        # Every fleet-wide alarm but the two that breach on missing data: no-PASSED would breach for a kind validated
        # less often, and coverage has no ResourceType series (it is per selection).
        assert metrics == fleet - {"ValidationPassed", "UncoveredSources"}, pair


def _dashboard_series(body: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(namespace, metric, sorted dimension names) of every series the dashboard's metric widgets show."""
    series = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for entry in widget["properties"]["metrics"]:
            if isinstance(entry[0], dict):  # a SEARCH expression: {namespace,dimension,...} MetricName="..."
                expression = entry[0]["expression"]
                schema = re.search(r"\{([^}]*)\}", expression)
                metric = re.search(r'MetricName="([^"]+)"', expression)
                assert schema and metric, expression
                namespace, *dimensions = schema.group(1).split(",")
                series.append((namespace, metric.group(1), tuple(sorted(dimensions))))
            else:  # [namespace, metric, name, value, ..., {options}]
                fields = [field for field in entry if not isinstance(field, dict)]
                series.append((fields[0], fields[1], tuple(sorted(fields[2::2]))))
    return series


def test_dashboard_widgets_show_the_metrics_the_worker_emits(local_deployment: Deployment, tf_moto: Moto) -> None:
    name = local_deployment.outputs["dashboard_name"]
    body = json.loads(tf_moto.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
    series = _dashboard_series(body)
    ours = [(metric, dimensions) for namespace, metric, dimensions in series if namespace == NAMESPACE]
    for metric, dimensions in ours:
        assert metric in METRICS, f"the dashboard shows {metric}, which the worker does not emit"
        assert dimensions in EMITTED_DIMENSION_SETS, f"{metric} by {dimensions}: the worker emits no such series"
    # Every metric the worker emits is on the dashboard, and the per-type view uses its ResourceType + Engine set.
    assert {metric for metric, _ in ours} == set(METRICS)
    assert {dimensions for _, dimensions in ours} == EMITTED_DIMENSION_SETS
    others = {namespace for namespace, _, _ in series} - {NAMESPACE}
    assert others == {"AWS/SQS"}, others  # no ECS in the local example
    queue_names = {
        local_deployment.outputs[key].rsplit("/", 1)[1] for key in ("queue_url", "events_queue_url", "dlq_url")
    }
    alarm_widget = next(widget for widget in body["widgets"] if widget["type"] == "alarm")
    assert len(alarm_widget["properties"]["alarms"]) == len(local_deployment.outputs["alarm_names"])
    shown_queues = {
        entry[3]
        for widget in body["widgets"]
        if widget["type"] == "metric"
        for entry in widget["properties"]["metrics"]
        if not isinstance(entry[0], dict) and entry[0] == "AWS/SQS"
    }
    assert shown_queues == queue_names


def test_ledger_table(local_deployment: Deployment, tf_moto: Moto) -> None:
    dynamodb = tf_moto.client("dynamodb")
    name = local_deployment.outputs["ledger_table"]
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert {"AttributeName": "pk", "AttributeType": "S"} in table["AttributeDefinitions"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_results_bucket(local_deployment: Deployment, tf_moto: Moto) -> None:
    s3 = tf_moto.client("s3")
    bucket = local_deployment.outputs["results_bucket"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    # No TLS-only policy against the plain-HTTP emulator (results_bucket_tls_only = false; the full module has it).
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_policy(Bucket=bucket)
    assert missing.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert {rule["ID"] for rule in lifecycle} == {"validation-records", "athena-results"}


def test_records_log_group(local_deployment: Deployment, tf_moto: Moto) -> None:
    name = local_deployment.outputs["log_group_name"]
    groups = tf_moto.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    group = next(group for group in groups if group["logGroupName"] == name)
    assert group["retentionInDays"] == 365
    assert group.get("kmsKeyId")


def test_glue_table_over_the_records(local_deployment: Deployment, tf_moto: Moto) -> None:
    worker_env = local_deployment.outputs["worker_environment"]
    glue = tf_moto.client("glue")
    databases = [db["Name"] for db in glue.get_databases()["DatabaseList"]]
    assert "backup_validator" in databases
    table = glue.get_table(DatabaseName="backup_validator", Name="validations")["Table"]
    columns = {column["Name"]: column["Type"] for column in table["StorageDescriptor"]["Columns"]}
    for name, kind in RECORD_FIELDS.items():
        assert columns.get(name) == kind, f"column {name}: {columns.get(name)} != {kind}"
    assert columns["checks"] == CHECK_STRUCT
    assert [key["Name"] for key in table["PartitionKeys"]] == ["dt"]
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.type"] == "date"
    location = f"s3://{worker_env['BV_RESULTS_BUCKET']}/{worker_env['BV_RESULTS_PREFIX']}"
    assert table["StorageDescriptor"]["Location"] == location
    assert parameters["storage.location.template"] == location + "dt=${dt}/"
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"

    workgroup = tf_moto.client("athena").get_work_group(WorkGroup="backup-validator")["WorkGroup"]
    configuration = workgroup["Configuration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    output = configuration["ResultConfiguration"]["OutputLocation"]
    assert output == f"s3://{worker_env['BV_RESULTS_BUCKET']}/athena-results/"


def test_named_queries_hold_the_sql_of_the_query_files(local_deployment: Deployment, tf_moto: Moto) -> None:
    """The deployed named queries are queries/<key>.sql with the documented placeholders filled in: the same text
    another engine gets from those files."""
    ids = local_deployment.outputs["athena_named_query_ids"]
    assert set(ids) == {path.stem for path in QUERIES.glob("*.sql")}
    athena = tf_moto.client("athena")
    for key, query_id in ids.items():
        query = athena.get_named_query(NamedQueryId=query_id)["NamedQuery"]
        expected = Template((QUERIES / f"{key}.sql").read_text()).substitute(
            table='"backup_validator"."validations"', lookback_days=90, stale_after_days=7
        )
        assert query["QueryString"] == expected == local_deployment.outputs["named_query_sql"][key], key
        assert (query["Database"], query["WorkGroup"]) == ("backup_validator", "backup-validator"), key


def test_object_lock_keeps_every_version_of_a_record(local_deployment: Deployment, tf_moto: Moto) -> None:
    """Inside its retention, a record's version can be neither overwritten nor deleted."""
    s3 = tf_moto.client("s3")
    bucket = local_deployment.outputs["results_bucket"]
    assert local_deployment.outputs["results_object_lock"] == {"mode": "GOVERNANCE", "days": 1}
    configuration = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert configuration["ObjectLockEnabled"] == "Enabled"
    retention = configuration["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("GOVERNANCE", 1), retention

    key = f"validations/dt=2026-01-01/lock-{uuid.uuid4()}.json"
    try:
        _check_record_versions_are_kept(s3, bucket, key)
    finally:
        _remove_with_governance_bypass(s3, bucket, key)


def _check_record_versions_are_kept(s3: Any, bucket: str, key: str) -> None:
    original = json.dumps({"validation_id": key, "status": "PASSED"}).encode()
    first = s3.put_object(Bucket=bucket, Key=key, Body=original)["VersionId"]
    head = s3.head_object(Bucket=bucket, Key=key, VersionId=first)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    retained = head["ObjectLockRetainUntilDate"] - datetime.now(UTC)
    assert timedelta(hours=23) < retained <= timedelta(days=1), retained

    # A rewrite is a new version; the original stays readable.
    second = s3.put_object(Bucket=bucket, Key=key, Body=b'{"status": "FAILED"}')["VersionId"]
    assert second != first
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=first)["Body"].read() == original

    # Deleting the original version is refused; a delete without a version only hides it behind a marker.
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=first)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    s3.delete_object(Bucket=bucket, Key=key)
    assert s3.get_object(Bucket=bucket, Key=key, VersionId=first)["Body"].read() == original


def _remove_with_governance_bypass(s3: Any, bucket: str, key: str) -> None:
    """Leaves the bucket as it was: moto will not drop the Object Lock configuration (on destroy) of a bucket
    that holds objects. Governance retention yields to an explicit bypass, which is what this shows too."""
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key)
    for version in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version["VersionId"], BypassGovernanceRetention=True)
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key)
    assert not listed.get("Versions") and not listed.get("DeleteMarkers"), listed


def test_worker_environment(local_deployment: Deployment) -> None:
    env = local_deployment.outputs["worker_environment"]
    outputs = local_deployment.outputs
    assert env["BV_QUEUE_URL"] == outputs["queue_url"]
    assert env["BV_EVENTS_QUEUE_URL"] == outputs["events_queue_url"]
    assert env["BV_DLQ_URL"] == outputs["dlq_url"]
    assert env["BV_RESULTS_BUCKET"] == outputs["results_bucket"]
    assert env["BV_RESULTS_PREFIX"] == "validations/"
    assert env["BV_LEDGER_TABLE"] == outputs["ledger_table"]
    assert env["BV_LOG_GROUP"] == outputs["log_group_name"]
    assert env["BV_RESTORE_ROLE_ARN"] == outputs["restore_role_arn"]
    assert env["BV_METRICS_PORT"] == "9797"
    assert env["BV_DRAIN_SECONDS"] == "25"
    assert env["BV_MANIFEST_PREFIX"] == "manifests/"
    assert env["BV_EVIDENCE_KMS_KEY_ID"] == outputs["evidence_kms_key_arn"]
    assert env["BV_EVIDENCE_SIGNING_ALGORITHM"] == "ECDSA_SHA_256"


def test_evidence_key_signs_and_verifies_manifests(local_deployment: Deployment, tf_moto: Moto) -> None:
    kms = tf_moto.client("kms")
    key_arn = local_deployment.outputs["evidence_kms_key_arn"]
    key = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    message = b"backup-validator evidence manifest v1 sha256:00"
    signed = kms.sign(KeyId=key_arn, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
    verify = {"KeyId": key_arn, "MessageType": "RAW", "SigningAlgorithm": "ECDSA_SHA_256"}
    assert kms.verify(Message=message, Signature=signed["Signature"], **verify)["SignatureValid"]
    assert not kms.verify(Message=message + b"1", Signature=signed["Signature"], **verify)["SignatureValid"]


def test_auditor_and_operator_policies(local_deployment: Deployment, tf_moto: Moto) -> None:
    outputs = local_deployment.outputs
    bucket_arn = f"arn:aws:s3:::{outputs['results_bucket']}"
    ledger = tf_moto.client("dynamodb").describe_table(TableName=outputs["ledger_table"])["Table"]["TableArn"]
    auditor = grants(json.loads(outputs["auditor_policy_json"]))
    assert auditor["kms:verify"] == {outputs["evidence_kms_key_arn"]}
    assert auditor["s3:getobject"] == {f"{bucket_arn}/validations/*", f"{bucket_arn}/manifests/*"}
    assert auditor["dynamodb:getitem"] == {ledger}
    assert not {action for action in auditor if action.startswith(("s3:put", "s3:delete", "kms:sign"))}
    operator = grants(json.loads(outputs["operator_policy_json"]))
    dlq = _queue_arn(tf_moto, outputs["dlq_url"])
    work = {_queue_arn(tf_moto, outputs["queue_url"]), _queue_arn(tf_moto, outputs["events_queue_url"])}
    for action in ("sqs:receivemessage", "sqs:deletemessage", "sqs:startmessagemovetask", "sqs:listmessagemovetasks"):
        assert operator[action] == {dlq}, action
    assert operator["sqs:sendmessage"] == work
    assert operator["dynamodb:batchgetitem"] == operator["dynamodb:getitem"] == {ledger}
    assert not {action for action in operator if action.startswith(("s3:", "dynamodb:put", "dynamodb:delete"))}


def test_task_role_policy_is_least_privilege(
    local_deployment: Deployment, tf_moto: Moto, task_policy_rules: Callable[[dict[str, Any], str], None]
) -> None:
    """Asserted on the policy document as moto's IAM holds it after the apply (issue 7's security test)."""
    iam = tf_moto.client("iam")
    role = local_deployment.outputs["task_role_name"]
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert names == ["backup-validator-worker"]
    document = iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    task_policy_rules(document, local_deployment.outputs["restore_role_arn"])
    outputs = local_deployment.outputs
    consumed = {_queue_arn(tf_moto, outputs["queue_url"]), _queue_arn(tf_moto, outputs["events_queue_url"])}
    check_queue_permissions(document, consumed, _queue_arn(tf_moto, outputs["dlq_url"]))
    ledger = tf_moto.client("dynamodb").describe_table(TableName=outputs["ledger_table"])["Table"]["TableArn"]
    check_table_permissions(document, ledger)
    bucket_arn = f"arn:aws:s3:::{outputs['results_bucket']}"
    check_evidence_permissions(document, outputs["evidence_kms_key_arn"], bucket_arn)


def test_local_example_destroys_cleanly(local_deployment: Deployment, tf_moto: Moto) -> None:
    result = local_deployment.destroy()
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Destroy complete!" in result.stdout
    queues = tf_moto.client("sqs").list_queues(QueueNamePrefix="backup-validator").get("QueueUrls", [])
    assert queues == []
    rules = tf_moto.client("events").list_rules(NamePrefix="backup-validator")["Rules"]
    assert rules == []
    tables = tf_moto.client("dynamodb").list_tables()["TableNames"]
    assert "backup-validator-ledger" not in tables
