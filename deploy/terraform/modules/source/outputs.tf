output "vault_arn" {
  description = "ARN of the backup vault in this account."
  value       = aws_backup_vault.this.arn
}

output "vault_name" {
  description = "Name of the backup vault in this account."
  value       = aws_backup_vault.this.name
}

output "kms_key_arn" {
  description = "KMS key of the vault (shared with the central account)."
  value       = local.kms_key_arn
}

output "backup_plan_id" {
  description = "ID of the backup plan."
  value       = aws_backup_plan.this.id
}

output "backup_plan_arn" {
  description = "ARN of the backup plan."
  value       = aws_backup_plan.this.arn
}

output "backup_selection_id" {
  description = "ID of the tag-based backup selection (null when `selection_tags` is empty)."
  value       = try(aws_backup_selection.this[0].id, null)
}

output "backup_role_arn" {
  description = "Role AWS Backup runs the plan with."
  value       = local.backup_role_arn
}

output "forward_copy_events_rule_name" {
  description = "EventBridge rule forwarding copy job events to the central account (null when off)."
  value       = try(aws_cloudwatch_event_rule.forward_copy_events[0].name, null)
}
