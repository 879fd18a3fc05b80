output "queue_url" {
  description = "URL of the work queue (BV_QUEUE_URL)."
  value       = module.validator.queue_url
}

output "events_queue_url" {
  description = "URL of the restore events queue (BV_EVENTS_QUEUE_URL)."
  value       = module.validator.events_queue_url
}

output "dlq_url" {
  description = "URL of the dead-letter queue (BV_DLQ_URL)."
  value       = module.validator.dlq_url
}

output "results_bucket" {
  description = "Results bucket (BV_RESULTS_BUCKET)."
  value       = module.validator.results_bucket
}

output "ledger_table" {
  description = "Ledger table (BV_LEDGER_TABLE)."
  value       = module.validator.ledger_table
}

output "log_group_name" {
  description = "Records log group (BV_LOG_GROUP)."
  value       = module.validator.log_group_name
}

output "rule_names" {
  description = "EventBridge rule names by kind (copy_job, backup_job, restore_job)."
  value       = module.validator.rule_names
}

output "alarm_names" {
  description = "CloudWatch alarm names by key."
  value       = module.validator.alarm_names
}

output "restore_role_arn" {
  description = "Restore role (BV_RESTORE_ROLE_ARN)."
  value       = module.validator.restore_role_arn
}

output "restore_testing_role_arn" {
  description = "Role AWS Backup restores with for restore testing selections."
  value       = module.validator.restore_testing_role_arn
}

output "task_role_name" {
  description = "The worker's task role (its inline policy is the worker's permissions)."
  value       = module.validator.task_role_name
}

output "worker_environment" {
  description = "BV_* environment for a worker run against the emulator."
  value       = module.validator.worker_environment
}

output "athena_workgroup_name" {
  description = "Athena workgroup with the named queries."
  value       = module.validator.athena_workgroup_name
}

output "athena_named_query_ids" {
  description = "IDs of the Athena named queries by key (the names of their SQL files in modules/results/queries)."
  value       = module.validator.athena_named_query_ids
}

output "named_query_sql" {
  description = "The SQL of every named query by key, as deployed."
  value       = module.validator.named_query_sql
}

output "results_object_lock" {
  description = "Default Object Lock retention of the records bucket."
  value       = module.validator.results_object_lock
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.validator.dashboard_name
}

output "evidence_kms_key_arn" {
  description = "The key that signs the daily evidence manifests."
  value       = module.validator.evidence_kms_key_arn
}

output "auditor_policy_json" {
  description = "IAM policy document for verify-evidence and report --evidence."
  value       = module.validator.auditor_policy_json
}

output "operator_policy_json" {
  description = "IAM policy document for the dlq command."
  value       = module.validator.operator_policy_json
}
