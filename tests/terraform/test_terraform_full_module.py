"""The validator module with every feature moto can run (ECS, Cloud Map, ADOT sidecar, restore network, vault),
applied to moto: the task definition against the worker's settings, the network, IAM, autoscaling (planned)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from tfsupport import Deployment, Moto, check_evidence_permissions, check_queue_permissions, check_table_permissions

from worker.settings import Settings

# Every test here needs a Terraform apply against moto.
pytestmark = pytest.mark.slow

NAME = "validator-full"

# Plan addresses of the submodules' resources.
SERVICE = "module.validator.module.service"

# The worker's environment contract (the list).
WORKER_VARIABLES = {
    "BV_QUEUE_URL",
    "BV_EVENTS_QUEUE_URL",
    "BV_RESULTS_BUCKET",
    "BV_RESULTS_PREFIX",
    "BV_LEDGER_TABLE",
    "BV_LOG_GROUP",
    "BV_RESTORE_ROLE_ARN",
    "BV_POLICY_FILE",
    "BV_METRICS_PORT",
    "BV_MAX_CONCURRENT_RESTORES",
    "BV_DB_TLS",
    "BV_DRAIN_SECONDS",
    "BV_DLQ_URL",
    "BV_SUBNET_GROUP",
    "BV_SECURITY_GROUP_IDS",
}


@pytest.fixture(scope="module")
def module_outputs(full_deployment: Deployment) -> dict[str, Any]:
    outputs: dict[str, Any] = full_deployment.outputs["module"]
    return outputs


@pytest.fixture(scope="module")
def containers(full_deployment: Deployment, tf_moto: Moto) -> dict[str, dict[str, Any]]:
    definition = tf_moto.client("ecs").describe_task_definition(taskDefinition=NAME)["taskDefinition"]
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert definition["networkMode"] == "awsvpc"
    return {container["name"]: container for container in definition["containerDefinitions"]}


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("environment", [])}


def test_worker_container_environment_satisfies_the_worker_settings(
    containers: dict[str, dict[str, Any]], module_outputs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(containers["worker"])
    assert set(env) >= WORKER_VARIABLES, WORKER_VARIABLES - set(env)
    known = {f"BV_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= known, f"variables the worker does not read: {set(env) - known}"
    for name in [name for name in os.environ if name.startswith("BV_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # type: ignore[call-arg]
    assert settings.queue_url == module_outputs["queue_url"]
    assert settings.events_queue_url == module_outputs["events_queue_url"]
    assert settings.dlq_url == module_outputs["dlq_url"]
    assert settings.results_bucket == module_outputs["results_bucket"]
    assert settings.results_prefix == "validations/"
    assert settings.ledger_table == module_outputs["ledger_table"]
    assert settings.log_group == module_outputs["log_group_name"]
    assert settings.restore_role_arn == module_outputs["restore_role_arn"]
    assert settings.metrics_port == 9797
    assert settings.tls_required
    assert settings.drain_seconds == 25
    assert settings.subnet_group == module_outputs["restore_db_subnet_group_name"]
    assert list(settings.security_groups) == module_outputs["restore_security_group_ids"]
    assert settings.manifest_prefix == "manifests/"
    assert settings.evidence_kms_key_id is None
    # Fleets (docs/fleet.md): the limits as the worker reads them, and the runner and task protection settings.
    assert settings.fleet_limits.total == 40
    assert settings.fleet_limits.per_account == 10
    assert dict(settings.fleet_limits.per_kind) == {"Aurora": 10, "RDS": 30}
    assert settings.fleet_quota_headroom == 5
    assert (settings.runner_lease_seconds, settings.task_protection_minutes) == (90, 240)
    assert (settings.coverage_slo_hours, settings.reconcile_interval_seconds) == (26, 900)
    assert settings.restore_testing_sweep_seconds == 300


def test_worker_container(containers: dict[str, dict[str, Any]], module_outputs: dict[str, Any]) -> None:
    worker = containers["worker"]
    assert worker["essential"] is True
    assert worker["stopTimeout"] == 120
    assert worker["readonlyRootFilesystem"] is True
    assert worker["portMappings"][0]["containerPort"] == 9797
    command = worker["healthCheck"]["command"]
    assert command[0] == "CMD-SHELL"
    assert "python" in command[1] and "http://127.0.0.1:9797/healthz" in command[1]
    assert "curl" not in command[1]
    logs = worker["logConfiguration"]
    assert logs["logDriver"] == "awslogs"
    assert logs["options"]["awslogs-group"] == module_outputs["worker_log_group_name"]


def test_adot_sidecar_scrapes_the_worker_and_writes_to_amp(
    containers: dict[str, dict[str, Any]], module_outputs: dict[str, Any]
) -> None:
    sidecar = containers["adot-collector"]
    assert sidecar["essential"] is False
    config = yaml.safe_load(_env(sidecar)["AOT_CONFIG_CONTENT"])
    scrape = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    assert scrape["static_configs"][0]["targets"] == ["127.0.0.1:9797"]
    exporter = config["exporters"]["prometheusremotewrite"]
    assert exporter["endpoint"] == module_outputs["prometheus_remote_write_url"]
    assert exporter["endpoint"].endswith("/api/v1/remote_write")
    assert exporter["auth"]["authenticator"] == "sigv4auth"
    assert config["service"]["pipelines"]["metrics"]["exporters"] == ["prometheusremotewrite"]


def test_service_runs_privately_and_registers_in_cloud_map(full_deployment: Deployment, tf_moto: Moto) -> None:
    service = tf_moto.client("ecs").describe_services(cluster=NAME, services=[NAME])["services"][0]
    assert service["launchType"] == "FARGATE"
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    assert network["assignPublicIp"] == "DISABLED"
    assert len(network["subnets"]) == 2
    assert network["securityGroups"] == [full_deployment.outputs["module"]["worker_security_group_id"]]
    registry = service["serviceRegistries"][0]["registryArn"]
    discovery = tf_moto.client("servicediscovery")
    registered = discovery.get_service(Id=registry.rsplit("/", 1)[1])["Service"]
    assert registered["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 10}]
    dns_name = full_deployment.outputs["module"]["prometheus_dns_sd_name"]
    assert dns_name == f"worker.{NAME}.internal"


def test_restored_databases_admit_only_the_worker(full_deployment: Deployment, tf_moto: Moto) -> None:
    outputs = full_deployment.outputs["module"]
    ec2 = tf_moto.client("ec2")
    (restored_id,) = outputs["restore_security_group_ids"]
    worker_id = outputs["worker_security_group_id"]
    restored = ec2.describe_security_groups(GroupIds=[restored_id])["SecurityGroups"][0]
    ingress = restored["IpPermissions"]
    assert sorted(rule["FromPort"] for rule in ingress) == [3306, 5432]
    for rule in ingress:
        assert rule["IpRanges"] == [] and rule.get("Ipv6Ranges", []) == []
        assert [pair["GroupId"] for pair in rule["UserIdGroupPairs"]] == [worker_id]
    assert restored["IpPermissionsEgress"] == []

    worker = ec2.describe_security_groups(GroupIds=[worker_id])["SecurityGroups"][0]
    egress = {(rule["FromPort"], bool(rule["UserIdGroupPairs"])) for rule in worker["IpPermissionsEgress"]}
    assert egress == {(443, False), (3306, True), (5432, True)}
    assert [rule["FromPort"] for rule in worker["IpPermissions"]] == [9797]

    groups = tf_moto.client("rds").describe_db_subnet_groups(DBSubnetGroupName=outputs["restore_db_subnet_group_name"])
    assert len(groups["DBSubnetGroups"][0]["Subnets"]) == 2


def test_task_role_policy_is_least_privilege(
    full_deployment: Deployment, tf_moto: Moto, task_policy_rules: Callable[[dict[str, Any], str], None]
) -> None:
    """Asserted on the policy document as moto's IAM holds it after the apply (issue 7's security test)."""
    outputs = full_deployment.outputs["module"]
    iam = tf_moto.client("iam")
    role = outputs["task_role_name"]
    document = iam.get_role_policy(RoleName=role, PolicyName="backup-validator-worker")["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    task_policy_rules(document, outputs["restore_role_arn"])
    actions = {action for statement in document["Statement"] for action in _list(statement["Action"])}
    # With the ADOT sidecar, remote write to the workspace.
    assert "aps:RemoteWrite" in actions
    assert "iam:PassRole" in actions and "backup:StartRestoreJob" in actions
    consumed = {outputs["queue_arn"], outputs["events_queue_arn"]}
    check_queue_permissions(document, consumed, outputs["dlq_arn"])
    check_table_permissions(document, outputs["ledger_table_arn"])
    # No evidence key here: nothing to sign with, and the worker is not told of one.
    assert outputs["evidence_kms_key_arn"] is None
    check_evidence_permissions(document, None, outputs["results_bucket_arn"])
    protection = next(s for s in document["Statement"] if "ecs:UpdateTaskProtection" in _list(s["Action"]))
    account = outputs["task_role_arn"].split(":")[4]
    assert _list(protection["Resource"]) == [f"arn:aws:ecs:us-east-1:{account}:task/{NAME}/*"]


def test_restore_testing_permissions_follow_the_ownership_rule(full_deployment: Deployment, tf_moto: Moto) -> None:
    """docs/modes.md: modify what a restore testing job restored, read its tables, add an instance of ours (bv-,
    our tag) to its Aurora cluster, never delete AWS's database, cluster or table; list the plans and selections."""
    outputs = full_deployment.outputs["module"]
    document = tf_moto.client("iam").get_role_policy(
        RoleName=outputs["task_role_name"], PolicyName="backup-validator-worker"
    )["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    account = outputs["task_role_arn"].split(":")[4]
    db = f"arn:aws:rds:us-east-1:{account}:db:awsbackup-restore-test-*"
    cluster = f"arn:aws:rds:us-east-1:{account}:cluster:awsbackup-restore-test-*"
    by_sid = {statement["Sid"]: statement for statement in document["Statement"]}
    modify = by_sid["ModifyRestoreTestDatabases"]
    assert sorted(_list(modify["Action"])) == ["rds:ModifyDBCluster", "rds:ModifyDBInstance"]
    assert sorted(_list(modify["Resource"])) == sorted([db, cluster])
    create = by_sid["CreateInstanceInRestoreTestCluster"]
    assert create["Condition"]["StringEquals"] == {"aws:RequestTag/backup-validator:managed": "true"}
    # The instance it adds is one of ours (bv-, our tag); AWS's cluster is only named by the create.
    assert f"arn:aws:rds:us-east-1:{account}:db:bv-*" in _list(create["Resource"]) and db not in _list(
        create["Resource"]
    )
    # Nothing may delete there: no DeleteDBCluster, no DeleteDBInstance on AWS's resources.
    for statement in document["Statement"]:
        actions = {action.lower() for action in _list(statement["Action"])}
        on_restore_tests = any("awsbackup-restore-test" in arn for arn in _list(statement["Resource"]))
        assert not (
            on_restore_tests and any(action.startswith(("rds:delete", "dynamodb:delete")) for action in actions)
        )
        assert not (on_restore_tests and actions & {"dynamodb:putitem", "dynamodb:updateitem", "dynamodb:deleteitem"})
    tables = by_sid["ReadRestoreTestTables"]
    assert all(":table/awsbackup-restore-test-*" in arn for arn in _list(tables["Resource"]))
    assert _list(by_sid["ListRestoreTestingPlans"]["Action"]) == ["backup:ListRestoreTestingPlans"]
    selections = by_sid["ListRestoreTestingSelections"]
    assert _list(selections["Action"]) == ["backup:ListRestoreTestingSelections"]
    assert _list(selections["Resource"]) == [f"arn:aws:backup:us-east-1:{account}:restore-testing-plan:*"]
    # The role AWS Backup restores the plans' picks with: its own, assumed by AWS Backup only.
    role = tf_moto.client("iam").get_role(RoleName=outputs["restore_testing_role_arn"].rsplit("/", 1)[1])["Role"]
    principals = [statement["Principal"] for statement in role["AssumeRolePolicyDocument"]["Statement"]]
    assert principals == [{"Service": "backup.amazonaws.com"}]
    assert outputs["restore_testing_role_arn"] != outputs["restore_role_arn"]


def test_restore_testing_jobs_completed_events_go_to_the_restore_events_queue(
    full_deployment: Deployment, tf_moto: Moto
) -> None:
    rules = tf_moto.client("events").list_rules(NamePrefix=f"{NAME}-restore-testing")["Rules"]
    assert [rule["Name"] for rule in rules] == [f"{NAME}-restore-testing-completed"]
    pattern = json.loads(rules[0]["EventPattern"])
    assert pattern["detail-type"] == ["Restore Job State Change"]
    assert pattern["detail"] == {"status": ["COMPLETED"], "restoreTestingPlanArn": [{"exists": True}]}
    targets = tf_moto.client("events").list_targets_by_rule(Rule=rules[0]["Name"])["Targets"]
    assert [target["Arn"] for target in targets] == [full_deployment.outputs["module"]["events_queue_arn"]]


RESTORE_TESTING_PLANS = {
    "nightly_orders": {
        "schedule_expression": "cron(0 5 ? * * *)",
        "start_window_hours": 2,
        "recovery_point_selection": {"algorithm": "RANDOM_WITHIN_WINDOW", "selection_window_days": 7},
        "selections": {
            "rds": {
                "protected_resource_type": "RDS",
                "protected_resource_conditions": {
                    "string_equals": [{"key": "aws:ResourceTag/backup-validator", "value": "enabled"}]
                },
                "restore_metadata_overrides": {"DBInstanceClass": "db.t4g.micro"},
            },
            "tables": {
                "protected_resource_type": "DynamoDB",
                "protected_resource_arns": ["arn:aws:dynamodb:us-east-1:111111111111:table/orders"],
                "validation_window_hours": 2,
            },
        },
    }
}


def test_restore_testing_plans_and_selections_plan(full_deployment: Deployment) -> None:
    """moto has no restore testing API: planned against the applied state."""
    var_file = full_deployment.workdir / "restore_testing.tfvars.json"
    var_file.write_text(json.dumps({"restore_testing_plans": RESTORE_TESTING_PLANS}))
    plan = full_deployment.plan_json(f"-var-file={var_file}", "-refresh=false")
    resources = {change["address"]: change["change"]["after"] for change in plan["resource_changes"]}
    intake = "module.validator.module.intake"
    plan_after = resources[f'{intake}.aws_backup_restore_testing_plan.this["nightly_orders"]']
    assert plan_after["schedule_expression"] == "cron(0 5 ? * * *)" and plan_after["start_window_hours"] == 2
    points = plan_after["recovery_point_selection"][0]
    assert points["algorithm"] == "RANDOM_WITHIN_WINDOW" and points["include_vaults"] == ["*"]
    assert points["recovery_point_types"] == ["SNAPSHOT"] and points["selection_window_days"] == 7
    role = full_deployment.outputs["module"]["restore_testing_role_arn"]
    rds = resources[f'{intake}.aws_backup_restore_testing_selection.this["nightly_orders/rds"]']
    assert (rds["name"], rds["restore_testing_plan_name"], rds["iam_role_arn"]) == ("rds", "nightly_orders", role)
    # With conditions the provider takes no ARNs (AWS reads them as ["*"]); the window defaults to one hour.
    assert rds.get("protected_resource_arns") is None and rds["validation_window_hours"] == 1
    conditions = rds["protected_resource_conditions"][0]
    assert conditions["string_equals"] == [{"key": "aws:ResourceTag/backup-validator", "value": "enabled"}]
    assert rds["restore_metadata_overrides"] == {"DBInstanceClass": "db.t4g.micro"}
    tables = resources[f'{intake}.aws_backup_restore_testing_selection.this["nightly_orders/tables"]']
    assert tables["protected_resource_arns"] == ["arn:aws:dynamodb:us-east-1:111111111111:table/orders"]
    assert tables["protected_resource_conditions"] == [] and tables["validation_window_hours"] == 2


def test_restore_testing_plans_are_refused_without_restore_testing(full_deployment: Deployment) -> None:
    """Plans whose restores nobody validates would end TIMED_OUT: the plan says why and stops."""
    var_file = full_deployment.workdir / "restore_testing_off.tfvars.json"
    var_file.write_text(json.dumps({"restore_testing_plans": RESTORE_TESTING_PLANS, "enable_restore_testing": False}))
    args = ("plan", "-no-color", "-refresh=false", f"-var-file={var_file}")
    result = full_deployment.terraform.run(full_deployment.workdir, *args, check=False)
    assert result.returncode != 0
    assert "restore_testing_plans need enable_restore_testing = true" in " ".join(result.stderr.split())


def test_task_and_execution_roles_are_assumed_by_ecs_tasks_only(full_deployment: Deployment, tf_moto: Moto) -> None:
    iam = tf_moto.client("iam")
    outputs = full_deployment.outputs["module"]
    for arn in (outputs["task_role_arn"], outputs["task_execution_role_arn"]):
        trust = iam.get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]["AssumeRolePolicyDocument"]
        principals = [statement["Principal"] for statement in trust["Statement"]]
        assert principals == [{"Service": "ecs-tasks.amazonaws.com"}], principals
    restore = iam.get_role(RoleName=outputs["restore_role_arn"].rsplit("/", 1)[1])["Role"]
    principals = [statement["Principal"] for statement in restore["AssumeRolePolicyDocument"]["Statement"]]
    assert principals == [{"Service": "backup.amazonaws.com"}]


def test_running_tasks_alarm(full_deployment: Deployment, tf_moto: Moto) -> None:
    name = full_deployment.outputs["module"]["alarm_names"]["running_tasks"]
    alarm = tf_moto.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    queries = {query["Id"]: query for query in alarm["Metrics"]}
    assert queries["shortfall"]["Expression"] == "desired - running"
    assert queries["running"]["MetricStat"]["Metric"]["MetricName"] == "RunningTaskCount"
    assert queries["desired"]["MetricStat"]["Metric"]["MetricName"] == "DesiredTaskCount"


def test_results_bucket_admits_only_tls(full_deployment: Deployment, tf_moto: Moto) -> None:
    bucket = full_deployment.outputs["module"]["results_bucket"]
    policy = json.loads(tf_moto.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    denials = {
        json.dumps(statement["Condition"], sort_keys=True)
        for statement in policy["Statement"]
        if statement["Effect"] == "Deny"
    }
    assert denials == {
        json.dumps({"Bool": {"aws:SecureTransport": "false"}}),
        json.dumps({"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
    }
    # moto evaluates the policy: a plain-HTTP request is refused, as AWS would refuse it.
    with pytest.raises(ClientError) as refused:
        tf_moto.client("s3").put_object(Bucket=bucket, Key="validations/plain-http.json", Body=b"{}")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_central_vault(full_deployment: Deployment, tf_moto: Moto) -> None:
    outputs = full_deployment.outputs["module"]
    vault = tf_moto.client("backup").describe_backup_vault(BackupVaultName=outputs["backup_vault_name"])
    assert vault["EncryptionKeyArn"] == outputs["kms_key_arn"]
    assert outputs["central_vault_arns"] == [outputs["backup_vault_arn"]]
    rules = tf_moto.client("events").list_rules(NamePrefix=f"{NAME}-copy-job")["Rules"]
    pattern = json.loads(rules[0]["EventPattern"])
    assert pattern["detail"]["destinationBackupVaultArn"] == [outputs["backup_vault_arn"]]


def test_autoscaling_on_backlog_per_task_plans(full_deployment: Deployment) -> None:
    """moto hangs on application autoscaling, so the policy is only planned (against the applied state)."""
    plan = full_deployment.plan_json("-var", "create_autoscaling=true", "-refresh=false")
    resources = {change["address"]: change for change in plan["resource_changes"]}
    target = resources["module.validator.module.service.aws_appautoscaling_target.this[0]"]["change"]["after"]
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"
    assert (target["min_capacity"], target["max_capacity"]) == (1, 4)
    policy = resources["module.validator.module.service.aws_appautoscaling_policy.backlog_per_task[0]"]["change"][
        "after"
    ]
    assert policy["policy_type"] == "TargetTrackingScaling"
    tracking = policy["target_tracking_scaling_policy_configuration"][0]
    metrics = {metric["id"]: metric for metric in tracking["customized_metric_specification"][0]["metrics"]}
    assert metrics["backlog_per_task"]["expression"] == "(visible + in_flight) / running"
    in_flight = metrics["in_flight"]["metric_stat"][0]["metric"][0]
    assert in_flight["metric_name"] == "ApproximateNumberOfMessagesNotVisible"
    assert in_flight["dimensions"] == [{"name": "QueueName", "value": NAME}]
    assert metrics["backlog_per_task"]["return_data"] is True
    visible = metrics["visible"]["metric_stat"][0]["metric"][0]
    assert (visible["namespace"], visible["metric_name"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    running = metrics["running"]["metric_stat"][0]["metric"][0]
    assert (running["namespace"], running["metric_name"]) == ("ECS/ContainerInsights", "RunningTaskCount")


def _worker_environment(task_definition: dict[str, Any]) -> dict[str, str]:
    containers = json.loads(task_definition["container_definitions"])
    worker = next(container for container in containers if container["name"] == "worker")
    return {item["name"]: item["value"] for item in worker.get("environment", [])}


def test_without_restore_job_events_the_restore_events_queue_goes_too(full_deployment: Deployment) -> None:
    """Planned against the applied state: without either rule that fills it (the worker's restores, restore
    testing jobs), the queue, its rules, targets and alarm go, the worker's variables and the restore testing
    role with them."""
    off = ("-var", "enable_restore_job_events=false", "-var", "enable_restore_testing=false")
    plan = full_deployment.plan_json(*off, "-refresh=false")
    resources = {change["address"]: change for change in plan["resource_changes"]}
    for address in (
        "module.validator.module.intake.aws_sqs_queue.restore_events[0]",
        'module.validator.module.intake.aws_cloudwatch_event_rule.this["restore_job"]',
        'module.validator.module.intake.aws_cloudwatch_event_target.this["restore_job"]',
        'module.validator.module.intake.aws_cloudwatch_event_rule.this["restore_testing_job"]',
        f"{SERVICE}.aws_iam_role.restore_testing[0]",
        'module.validator.module.monitoring.aws_cloudwatch_metric_alarm.queue["restore_events_oldest_message_age"]',
    ):
        assert resources[address]["change"]["actions"] == ["delete"], address
    assert resources["module.validator.module.intake.aws_sqs_queue.this"]["change"]["actions"] != ["delete"]
    definition = resources["module.validator.module.service.aws_ecs_task_definition.this[0]"]["change"]
    assert "BV_EVENTS_QUEUE_URL" in _worker_environment(definition["before"])
    after = _worker_environment(definition["after"])
    assert "BV_EVENTS_QUEUE_URL" not in after and "BV_QUEUE_URL" in after
    assert "BV_RESTORE_TESTING_SWEEP_SECONDS" in _worker_environment(definition["before"])
    assert "BV_RESTORE_TESTING_SWEEP_SECONDS" not in after
    # The worker's policy as it will be applied (the submodule gets the queue ARNs as inputs, known at plan time).
    policy = json.loads(resources[f"{SERVICE}.aws_iam_role_policy.task[0]"]["change"]["after"]["policy"])
    module = full_deployment.outputs["module"]
    check_queue_permissions(policy, {module["queue_arn"]}, module["dlq_arn"])
    assert not [s for s in policy["Statement"] if "RestoreTest" in s.get("Sid", "")], "restore testing grants stay"
    assert plan["output_changes"]["module"]["after"]["events_queue_url"] is None


def test_dlq_redrive_allow_policy_admits_both_queues_plans(full_deployment: Deployment) -> None:
    """moto does not keep a redrive allow policy, so it is only planned (against the applied state)."""
    plan = full_deployment.plan_json("-var", "dlq_redrive_allow_only_work_queue=true", "-refresh=false")
    resources = {change["address"]: change for change in plan["resource_changes"]}
    dlq = resources["module.validator.module.intake.aws_sqs_queue.dlq"]["change"]["after"]
    allow = json.loads(dlq["redrive_allow_policy"])
    module = full_deployment.outputs["module"]
    assert allow == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [module["queue_arn"], module["events_queue_arn"]],
    }


def test_a_ledger_named_like_a_restored_table_is_refused(full_deployment: Deployment) -> None:
    """The worker deletes bv- tables: a bv- ledger would be one of them."""
    args = ("plan", "-no-color", "-refresh=false", "-var", "ledger_table_name=bv-ledger")
    result = full_deployment.terraform.run(full_deployment.workdir, *args, check=False)
    assert result.returncode != 0
    assert "ledger_table_name must not start with bv-" in " ".join(result.stderr.split()), result.stderr[-2000:]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        # The alarm treats a period without a reconciler pass as breaching: 900 s is one default period of it.
        ("coverage_alarm_period_seconds", "900", "coverage_alarm_period_seconds must be at least twice"),
        # The worker knows the kinds RDS, Aurora and DynamoDB only.
        ("fleet_max_restores_per_kind", '{"EBS"=3}', "fleet_max_restores_per_kind keys must be RDS, Aurora or"),
    ],
)
def test_settings_the_worker_would_refuse_are_refused_at_plan(
    full_deployment: Deployment, variable: str, value: str, message: str
) -> None:
    args = ("plan", "-no-color", "-refresh=false", "-var", f"{variable}={value}")
    result = full_deployment.terraform.run(full_deployment.workdir, *args, check=False)
    assert result.returncode != 0
    assert message in " ".join(result.stderr.split()), result.stderr[-2000:]


def test_full_module_destroys_cleanly(full_deployment: Deployment, tf_moto: Moto) -> None:
    result = full_deployment.destroy()
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Destroy complete!" in result.stdout
    clusters = tf_moto.client("ecs").describe_clusters(clusters=[NAME])["clusters"]
    assert all(cluster["status"] == "INACTIVE" for cluster in clusters), clusters
    queues = tf_moto.client("sqs").list_queues(QueueNamePrefix=NAME).get("QueueUrls", [])
    assert queues == []


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
