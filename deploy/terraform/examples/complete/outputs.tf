output "central_vault_arn" {
  description = "Central backup vault the source account copies into."
  value       = module.validator.backup_vault_arn
}

output "queue_url" {
  description = "Work queue."
  value       = module.validator.queue_url
}

output "events_queue_url" {
  description = "Restore events queue (BV_EVENTS_QUEUE_URL)."
  value       = module.validator.events_queue_url
}

output "results_bucket" {
  description = "Bucket of the validation records."
  value       = module.validator.results_bucket
}

output "athena_workgroup_name" {
  description = "Athena workgroup with the named queries."
  value       = module.validator.athena_workgroup_name
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.validator.dashboard_name
}

output "prometheus_dns_sd_name" {
  description = "Name for Prometheus dns_sd_configs (type A) with port metrics_port."
  value       = module.validator.prometheus_dns_sd_name
}

output "source_vault_arn" {
  description = "Backup vault in the source account."
  value       = module.source.vault_arn
}

output "source_backup_plan_id" {
  description = "Backup plan in the source account."
  value       = module.source.backup_plan_id
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
