################################################################################
# Queue and events
################################################################################

output "queue_url" {
  description = "URL of the work queue (BV_QUEUE_URL)."
  value       = module.intake.queue_url
}

output "queue_arn" {
  description = "ARN of the work queue."
  value       = module.intake.queue_arn
}

output "events_queue_url" {
  description = "URL of the restore events queue (BV_EVENTS_QUEUE_URL); null without the restore job rule (`enable_restore_job_events`) and the restore testing rule (`enable_restore_testing`)."
  value       = module.intake.events_queue_url
}

output "events_queue_arn" {
  description = "ARN of the restore events queue; null without either restore rule."
  value       = module.intake.events_queue_arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue (BV_DLQ_URL)."
  value       = module.intake.dlq_url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = module.intake.dlq_arn
}

output "rule_names" {
  description = "EventBridge rule names by kind (copy_job, backup_job, restore_job)."
  value       = module.intake.rule_names
}

output "rule_arns" {
  description = "EventBridge rule ARNs by kind."
  value       = module.intake.rule_arns
}

################################################################################
# Vault, ledger, records
################################################################################

output "backup_vault_arn" {
  description = "ARN of the central backup vault (the `destination_vault_arn` of the source module)."
  value       = module.intake.backup_vault_arn
}

output "backup_vault_name" {
  description = "Name of the central backup vault."
  value       = module.intake.backup_vault_name
}

output "central_vault_arns" {
  description = "Every vault whose incoming copies are validated."
  value       = module.intake.central_vault_arns
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the ledger, records, logs and alarm topic."
  value       = local.kms_key_arn
}

output "ledger_table" {
  description = "Name of the DynamoDB ledger table (BV_LEDGER_TABLE)."
  value       = module.results.ledger_table
}

output "ledger_table_arn" {
  description = "ARN of the DynamoDB ledger table."
  value       = module.results.ledger_table_arn
}

output "results_bucket" {
  description = "Name of the S3 results bucket (BV_RESULTS_BUCKET)."
  value       = module.results.results_bucket
}

output "results_bucket_arn" {
  description = "ARN of the S3 results bucket."
  value       = module.results.results_bucket_arn
}

output "results_prefix" {
  description = "Key prefix of the records (BV_RESULTS_PREFIX)."
  value       = module.results.results_prefix
}

output "glue_database_name" {
  description = "Glue database of the records table."
  value       = module.results.glue_database_name
}

output "glue_table_name" {
  description = "Glue table over the records."
  value       = module.results.glue_table_name
}

output "athena_workgroup_name" {
  description = "Athena workgroup to query the records in."
  value       = module.results.athena_workgroup_name
}

output "named_query_sql" {
  description = "The SQL of every named query by key, rendered from `modules/results/queries/<key>.sql` for this deployment."
  value       = module.results.named_query_sql
}

output "results_object_lock" {
  description = "Default Object Lock retention of the records (`mode`, `days`); null when the bucket has no Object Lock."
  value       = module.results.results_object_lock
}

output "athena_named_query_ids" {
  description = "IDs of the Athena named queries by key."
  value       = module.results.athena_named_query_ids
}

################################################################################
# Monitoring
################################################################################

output "log_group_name" {
  description = "Log group of the validation records (BV_LOG_GROUP)."
  value       = module.monitoring.log_group_name
}

output "log_group_arn" {
  description = "ARN of the records log group."
  value       = module.monitoring.log_group_arn
}

output "worker_log_group_name" {
  description = "Log group of the worker's container output."
  value       = module.service.worker_log_group_name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = module.monitoring.alarm_topic_arn
}

output "alarm_names" {
  description = "CloudWatch alarm names by key."
  value       = module.monitoring.alarm_names
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = module.monitoring.dashboard_name
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
  value       = module.service.worker_environment
}

output "restore_role_arn" {
  description = "Role AWS Backup restores with (BV_RESTORE_ROLE_ARN)."
  value       = module.service.restore_role_arn
}

output "restore_testing_role_arn" {
  description = "Role AWS Backup restores with for restore testing selections (with `enable_restore_testing`; else null)."
  value       = module.service.restore_testing_role_arn
}

output "restore_testing_plan_arns" {
  description = "ARNs of the restore testing plans by name (what a policy selection's `restore_testing_plan` glob matches)."
  value       = module.intake.restore_testing_plan_arns
}

output "task_role_arn" {
  description = "Role of the worker tasks."
  value       = module.service.task_role_arn
}

output "task_role_name" {
  description = "Name of the worker's task role."
  value       = module.service.task_role_name
}

output "task_role_policy_json" {
  description = "The worker's IAM policy document."
  value       = module.service.task_role_policy_json
}

output "task_execution_role_arn" {
  description = "Role ECS pulls the image and ships logs with."
  value       = module.service.task_execution_role_arn
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = module.service.cluster_name
}

output "service_name" {
  description = "ECS service name."
  value       = module.service.service_name
}

output "task_definition_arn" {
  description = "ECS task definition ARN."
  value       = module.service.task_definition_arn
}

output "worker_security_group_id" {
  description = "Security group of the worker tasks."
  value       = module.service.worker_security_group_id
}

output "restore_security_group_ids" {
  description = "Security groups given to restored databases (BV_SECURITY_GROUP_IDS)."
  value       = module.service.restore_security_group_ids
}

output "restore_db_subnet_group_name" {
  description = "DB subnet group of restored databases (BV_SUBNET_GROUP)."
  value       = module.service.restore_db_subnet_group_name
}

output "prometheus_dns_sd_name" {
  description = "DNS name to put in a Prometheus `dns_sd_configs` block (type A, port `metrics_port`)."
  value       = module.service.prometheus_dns_sd_name
}

output "metrics_port" {
  description = "Port of the worker's /metrics endpoint."
  value       = module.service.metrics_port
}

output "prometheus_workspace_id" {
  description = "Amazon Managed Service for Prometheus workspace the ADOT sidecar writes to."
  value       = module.service.prometheus_workspace_id
}

output "prometheus_remote_write_url" {
  description = "Remote-write URL of the AMP workspace (when the ADOT sidecar is on)."
  value       = module.service.prometheus_remote_write_url
}

################################################################################
# Tamper evidence and people's policies
################################################################################

output "evidence_kms_key_arn" {
  description = "The key that signs the daily evidence manifests (BV_EVIDENCE_KMS_KEY_ID), or null when manifests are not signed."
  value       = local.evidence_kms_key_arn
}

output "auditor_policy_json" {
  description = "IAM policy document for whoever runs `verify-evidence` / `report --evidence`: read the records and manifests, the ledger's chain heads, decrypt, and `kms:Verify` with the evidence key."
  value       = module.service.auditor_policy_json
}

output "operator_policy_json" {
  description = "IAM policy document for whoever runs `backup-validator dlq [--redrive]`: receive, delete and move back the DLQ's messages, send to the work queues, read the failure notes in the ledger."
  value       = module.service.operator_policy_json
}
