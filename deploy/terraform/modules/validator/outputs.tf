################################################################################
# Queue and events
################################################################################

output "queue_url" {
  description = "URL of the work queue (BV_QUEUE_URL)."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the work queue."
  value       = aws_sqs_queue.this.arn
}

output "events_queue_url" {
  description = "URL of the restore events queue (BV_EVENTS_QUEUE_URL); null without the restore job rule (`enable_restore_job_events`)."
  value       = one(aws_sqs_queue.restore_events[*].url)
}

output "events_queue_arn" {
  description = "ARN of the restore events queue; null without the restore job rule."
  value       = one(aws_sqs_queue.restore_events[*].arn)
}

output "dlq_url" {
  description = "URL of the dead-letter queue (BV_DLQ_URL)."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "rule_names" {
  description = "EventBridge rule names by kind (copy_job, backup_job, restore_job)."
  value       = { for key, rule in aws_cloudwatch_event_rule.this : key => rule.name }
}

output "rule_arns" {
  description = "EventBridge rule ARNs by kind."
  value       = { for key, rule in aws_cloudwatch_event_rule.this : key => rule.arn }
}

################################################################################
# Vault, ledger, records
################################################################################

output "backup_vault_arn" {
  description = "ARN of the central backup vault (the `destination_vault_arn` of the source module)."
  value       = try(aws_backup_vault.this[0].arn, null)
}

output "backup_vault_name" {
  description = "Name of the central backup vault."
  value       = try(aws_backup_vault.this[0].name, null)
}

output "central_vault_arns" {
  description = "Every vault whose incoming copies are validated."
  value       = local.central_vault_arns
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the ledger, records, logs and alarm topic."
  value       = local.kms_key_arn
}

output "ledger_table" {
  description = "Name of the DynamoDB ledger table (BV_LEDGER_TABLE)."
  value       = aws_dynamodb_table.this.name
}

output "ledger_table_arn" {
  description = "ARN of the DynamoDB ledger table."
  value       = aws_dynamodb_table.this.arn
}

output "results_bucket" {
  description = "Name of the S3 results bucket (BV_RESULTS_BUCKET)."
  value       = aws_s3_bucket.this.bucket
}

output "results_bucket_arn" {
  description = "ARN of the S3 results bucket."
  value       = aws_s3_bucket.this.arn
}

output "results_prefix" {
  description = "Key prefix of the records (BV_RESULTS_PREFIX)."
  value       = var.results_prefix
}

output "glue_database_name" {
  description = "Glue database of the records table."
  value       = try(aws_glue_catalog_database.this[0].name, null)
}

output "glue_table_name" {
  description = "Glue table over the records."
  value       = try(aws_glue_catalog_table.this[0].name, null)
}

output "athena_workgroup_name" {
  description = "Athena workgroup to query the records in."
  value       = try(aws_athena_workgroup.this[0].name, null)
}

output "athena_named_query_ids" {
  description = "IDs of the Athena named queries by key."
  value       = { for key, query in aws_athena_named_query.this : key => query.id }
}

################################################################################
# Monitoring
################################################################################

output "log_group_name" {
  description = "Log group of the validation records (BV_LOG_GROUP)."
  value       = aws_cloudwatch_log_group.records.name
}

output "log_group_arn" {
  description = "ARN of the records log group."
  value       = aws_cloudwatch_log_group.records.arn
}

output "worker_log_group_name" {
  description = "Log group of the worker's container output."
  value       = try(aws_cloudwatch_log_group.worker[0].name, null)
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = local.alarm_topic_arn
}

output "alarm_names" {
  description = "CloudWatch alarm names by key."
  value = merge(
    { for key, alarm in aws_cloudwatch_metric_alarm.validator : key => alarm.alarm_name },
    { for key, alarm in aws_cloudwatch_metric_alarm.queue : key => alarm.alarm_name },
    { for alarm in aws_cloudwatch_metric_alarm.running_tasks : "running_tasks" => alarm.alarm_name },
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}

output "metric_namespace" {
  description = "CloudWatch namespace of the worker's metrics."
  value       = local.metric_namespace
}

################################################################################
# Worker
################################################################################

output "worker_environment" {
  description = "Environment of the worker container (BV_* variables), to run the worker elsewhere."
  value       = local.worker_environment
}

output "restore_role_arn" {
  description = "Role AWS Backup restores with (BV_RESTORE_ROLE_ARN)."
  value       = aws_iam_role.restore.arn
}

output "task_role_arn" {
  description = "Role of the worker tasks."
  value       = try(aws_iam_role.task[0].arn, null)
}

output "task_role_name" {
  description = "Name of the worker's task role."
  value       = try(aws_iam_role.task[0].name, null)
}

output "task_role_policy_json" {
  description = "The worker's IAM policy document."
  value       = data.aws_iam_policy_document.task.json
}

output "task_execution_role_arn" {
  description = "Role ECS pulls the image and ships logs with."
  value       = try(aws_iam_role.task_execution[0].arn, null)
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = try(aws_ecs_cluster.this[0].name, null)
}

output "service_name" {
  description = "ECS service name."
  value       = try(aws_ecs_service.this[0].name, null)
}

output "task_definition_arn" {
  description = "ECS task definition ARN."
  value       = try(aws_ecs_task_definition.this[0].arn, null)
}

output "worker_security_group_id" {
  description = "Security group of the worker tasks."
  value       = try(aws_security_group.worker[0].id, null)
}

output "restore_security_group_ids" {
  description = "Security groups given to restored databases (BV_SECURITY_GROUP_IDS)."
  value       = local.restore_security_group_ids
}

output "restore_db_subnet_group_name" {
  description = "DB subnet group of restored databases (BV_SUBNET_GROUP)."
  value       = local.restore_subnet_group_name
}

output "prometheus_dns_sd_name" {
  description = "DNS name to put in a Prometheus `dns_sd_configs` block (type A, port `metrics_port`)."
  value = try(
    "${aws_service_discovery_service.this[0].name}.${aws_service_discovery_private_dns_namespace.this[0].name}",
    try(aws_service_discovery_service.this[0].name, null),
  )
}

output "metrics_port" {
  description = "Port of the worker's /metrics endpoint."
  value       = var.metrics_port
}

output "prometheus_workspace_id" {
  description = "Amazon Managed Service for Prometheus workspace the ADOT sidecar writes to."
  value       = local.enable_adot ? coalesce(var.amp_workspace_id, try(aws_prometheus_workspace.this[0].id, null)) : null
}

output "prometheus_remote_write_url" {
  description = "Remote-write URL of the AMP workspace (when the ADOT sidecar is on)."
  value       = local.amp_remote_write_url
}
