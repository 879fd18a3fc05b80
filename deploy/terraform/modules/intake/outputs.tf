################################################################################
# Queues
################################################################################

output "queue_url" {
  description = "URL of the work queue (BV_QUEUE_URL)."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the work queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the work queue."
  value       = aws_sqs_queue.this.name
}

output "events_queue_url" {
  description = "URL of the restore events queue (BV_EVENTS_QUEUE_URL); null without the restore job rule (`enable_restore_job_events`) and the restore testing rule (`enable_restore_testing`)."
  value       = one(aws_sqs_queue.restore_events[*].url)
}

output "events_queue_arn" {
  description = "ARN of the restore events queue; null without either restore rule."
  value       = one(aws_sqs_queue.restore_events[*].arn)
}

output "events_queue_name" {
  description = "Name of the restore events queue; null without either restore rule."
  value       = one(aws_sqs_queue.restore_events[*].name)
}

output "dlq_url" {
  description = "URL of the dead-letter queue (BV_DLQ_URL)."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

################################################################################
# Rules and vault
################################################################################

output "rule_names" {
  description = "EventBridge rule names by kind (copy_job, backup_job, restore_job)."
  value       = { for key, rule in aws_cloudwatch_event_rule.this : key => rule.name }
}

output "rule_arns" {
  description = "EventBridge rule ARNs by kind."
  value       = { for key, rule in aws_cloudwatch_event_rule.this : key => rule.arn }
}

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

################################################################################
# Restore testing
################################################################################

output "restore_testing_plan_arns" {
  description = "ARNs of the restore testing plans by name (what a policy selection's `restore_testing_plan` glob matches)."
  value       = { for name, plan in aws_backup_restore_testing_plan.this : name => plan.arn }
}
