################################################################################
# Roles
################################################################################

output "restore_role_arn" {
  description = "Role AWS Backup restores with (BV_RESTORE_ROLE_ARN)."
  value       = aws_iam_role.restore.arn
}

output "restore_testing_role_arn" {
  description = "Role AWS Backup restores with for restore testing selections (with `enable_restore_testing`; else null)."
  value       = one(aws_iam_role.restore_testing[*].arn)
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

################################################################################
# Worker
################################################################################

output "worker_environment" {
  description = "Environment of the worker container (BV_* variables), to run the worker elsewhere."
  value       = local.worker_environment
}

output "worker_log_group_name" {
  description = "Log group of the worker's container output."
  value       = try(aws_cloudwatch_log_group.worker[0].name, null)
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

################################################################################
# Network
################################################################################

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

################################################################################
# Metrics
################################################################################

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

################################################################################
# People's policies
################################################################################

output "auditor_policy_json" {
  description = "IAM policy document for whoever runs `verify-evidence` / `report --evidence`: read the records and manifests, the ledger's chain heads, decrypt, and `kms:Verify` with the evidence key."
  value       = data.aws_iam_policy_document.auditor.json
}

output "operator_policy_json" {
  description = "IAM policy document for whoever runs `backup-validator dlq [--redrive]`: receive, delete and move back the DLQ's messages, send to the work queues, read the failure notes in the ledger."
  value       = data.aws_iam_policy_document.operator.json
}
