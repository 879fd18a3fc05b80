# Where the resources of this module went when it was split into submodules: existing deployments move their
# state on the next plan instead of destroying and recreating the queues, the ledger and the records bucket.

################################################################################
# intake
################################################################################

moved {
  from = aws_cloudwatch_event_rule.this
  to   = module.intake.aws_cloudwatch_event_rule.this
}

moved {
  from = aws_cloudwatch_event_target.this
  to   = module.intake.aws_cloudwatch_event_target.this
}

moved {
  from = aws_cloudwatch_event_permission.source_accounts
  to   = module.intake.aws_cloudwatch_event_permission.source_accounts
}

moved {
  from = aws_cloudwatch_event_permission.organization
  to   = module.intake.aws_cloudwatch_event_permission.organization
}

moved {
  from = aws_sqs_queue.dlq
  to   = module.intake.aws_sqs_queue.dlq
}

moved {
  from = aws_sqs_queue.this
  to   = module.intake.aws_sqs_queue.this
}

moved {
  from = aws_sqs_queue.restore_events
  to   = module.intake.aws_sqs_queue.restore_events
}

moved {
  from = aws_backup_vault.this
  to   = module.intake.aws_backup_vault.this
}

moved {
  from = aws_backup_vault_policy.this
  to   = module.intake.aws_backup_vault_policy.this
}

moved {
  from = aws_backup_vault_lock_configuration.this
  to   = module.intake.aws_backup_vault_lock_configuration.this
}

################################################################################
# results
################################################################################

moved {
  from = aws_glue_catalog_database.this
  to   = module.results.aws_glue_catalog_database.this
}

moved {
  from = aws_glue_catalog_table.this
  to   = module.results.aws_glue_catalog_table.this
}

moved {
  from = aws_athena_workgroup.this
  to   = module.results.aws_athena_workgroup.this
}

moved {
  from = aws_athena_named_query.this
  to   = module.results.aws_athena_named_query.this
}

moved {
  from = aws_dynamodb_table.this
  to   = module.results.aws_dynamodb_table.this
}

moved {
  from = aws_s3_bucket.this
  to   = module.results.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_public_access_block.this
  to   = module.results.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_ownership_controls.this
  to   = module.results.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_versioning.this
  to   = module.results.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this
  to   = module.results.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_policy.this
  to   = module.results.aws_s3_bucket_policy.this[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.this
  to   = module.results.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_object_lock_configuration.this
  to   = module.results.aws_s3_bucket_object_lock_configuration.this
}

moved {
  from = aws_s3_bucket_logging.this
  to   = module.results.aws_s3_bucket_logging.this
}

################################################################################
# monitoring
################################################################################

moved {
  from = aws_cloudwatch_metric_alarm.validator
  to   = module.monitoring.aws_cloudwatch_metric_alarm.validator
}

moved {
  from = aws_cloudwatch_metric_alarm.queue
  to   = module.monitoring.aws_cloudwatch_metric_alarm.queue
}

moved {
  from = aws_cloudwatch_metric_alarm.running_tasks
  to   = module.monitoring.aws_cloudwatch_metric_alarm.running_tasks
}

moved {
  from = aws_cloudwatch_dashboard.this
  to   = module.monitoring.aws_cloudwatch_dashboard.this
}

moved {
  from = aws_cloudwatch_log_group.records
  to   = module.monitoring.aws_cloudwatch_log_group.records
}

moved {
  from = aws_sns_topic.this
  to   = module.monitoring.aws_sns_topic.this
}

moved {
  from = aws_sns_topic_subscription.email
  to   = module.monitoring.aws_sns_topic_subscription.email
}

moved {
  from = aws_cloudwatch_query_definition.this
  to   = module.monitoring.aws_cloudwatch_query_definition.this
}

################################################################################
# service
################################################################################

moved {
  from = aws_iam_role.restore
  to   = module.service.aws_iam_role.restore
}

moved {
  from = aws_iam_role_policy_attachment.restore
  to   = module.service.aws_iam_role_policy_attachment.restore
}

moved {
  from = aws_iam_role_policy.restore_kms
  to   = module.service.aws_iam_role_policy.restore_kms
}

moved {
  from = aws_iam_role.task_execution
  to   = module.service.aws_iam_role.task_execution
}

moved {
  from = aws_iam_role_policy.task_execution
  to   = module.service.aws_iam_role_policy.task_execution
}

moved {
  from = aws_iam_role.task
  to   = module.service.aws_iam_role.task
}

moved {
  from = aws_iam_role_policy.task
  to   = module.service.aws_iam_role_policy.task
}

moved {
  from = aws_cloudwatch_log_group.worker
  to   = module.service.aws_cloudwatch_log_group.worker
}

moved {
  from = aws_ecs_cluster.this
  to   = module.service.aws_ecs_cluster.this
}

moved {
  from = aws_ecs_task_definition.this
  to   = module.service.aws_ecs_task_definition.this
}

moved {
  from = aws_ecs_service.this
  to   = module.service.aws_ecs_service.this
}

moved {
  from = aws_service_discovery_private_dns_namespace.this
  to   = module.service.aws_service_discovery_private_dns_namespace.this
}

moved {
  from = aws_service_discovery_service.this
  to   = module.service.aws_service_discovery_service.this
}

moved {
  from = aws_prometheus_workspace.this
  to   = module.service.aws_prometheus_workspace.this
}

moved {
  from = aws_appautoscaling_target.this
  to   = module.service.aws_appautoscaling_target.this
}

moved {
  from = aws_appautoscaling_policy.backlog_per_task
  to   = module.service.aws_appautoscaling_policy.backlog_per_task
}

moved {
  from = aws_security_group.worker
  to   = module.service.aws_security_group.worker
}

moved {
  from = aws_vpc_security_group_egress_rule.worker_https
  to   = module.service.aws_vpc_security_group_egress_rule.worker_https
}

moved {
  from = aws_vpc_security_group_egress_rule.worker_to_restored_db
  to   = module.service.aws_vpc_security_group_egress_rule.worker_to_restored_db
}

moved {
  from = aws_vpc_security_group_ingress_rule.metrics_from_cidr
  to   = module.service.aws_vpc_security_group_ingress_rule.metrics_from_cidr
}

moved {
  from = aws_vpc_security_group_ingress_rule.metrics_from_security_group
  to   = module.service.aws_vpc_security_group_ingress_rule.metrics_from_security_group
}

moved {
  from = aws_security_group.restored_db
  to   = module.service.aws_security_group.restored_db
}

moved {
  from = aws_vpc_security_group_ingress_rule.restored_db
  to   = module.service.aws_vpc_security_group_ingress_rule.restored_db
}

moved {
  from = aws_db_subnet_group.this
  to   = module.service.aws_db_subnet_group.this
}
