data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
  region     = data.aws_region.current.name

  # The metric namespace of the worker's Embedded Metric Format records (worker/emf.py: NAMESPACE).
  metric_namespace = "BackupValidator"

  kms_key_arn = var.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  # Named here, not read from the submodules: the key policy names them, and the log groups use the key.
  log_group_name        = coalesce(var.log_group_name, "/${var.name}/validations")
  worker_log_group_name = "/ecs/${var.name}"
}

################################################################################
# The parts. Each is a module of its own (../intake, ../results, ../monitoring, ../service) that can be used
# without this one; this module wires their outputs into each other's inputs.
################################################################################

module "intake" {
  source = "../intake"

  name             = var.name
  tags             = var.tags
  kms_key_arn      = local.kms_key_arn
  restore_role_arn = module.service.restore_role_arn

  queue_kms_encryption              = var.queue_kms_encryption
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  message_retention_seconds         = var.message_retention_seconds
  dlq_message_retention_seconds     = var.dlq_message_retention_seconds
  max_receive_count                 = var.max_receive_count
  dlq_redrive_allow_only_work_queue = var.dlq_redrive_allow_only_work_queue
  receive_wait_time_seconds         = var.receive_wait_time_seconds

  copy_destination_vault_arns     = var.copy_destination_vault_arns
  enable_backup_job_events        = var.enable_backup_job_events
  enable_restore_job_events       = var.enable_restore_job_events
  event_maximum_event_age_seconds = var.event_maximum_event_age_seconds
  event_maximum_retry_attempts    = var.event_maximum_retry_attempts
  allow_event_forwarding          = var.allow_event_forwarding

  source_account_ids         = var.source_account_ids
  source_organization_id     = var.source_organization_id
  create_backup_vault        = var.create_backup_vault
  backup_vault_name          = var.backup_vault_name
  backup_vault_kms_key_arn   = var.backup_vault_kms_key_arn
  backup_vault_force_destroy = var.backup_vault_force_destroy
  backup_vault_lock          = var.backup_vault_lock

  enable_restore_testing   = var.enable_restore_testing
  restore_testing_plans    = var.restore_testing_plans
  restore_testing_role_arn = module.service.restore_testing_role_arn
}

module "results" {
  source = "../results"

  name        = var.name
  tags        = var.tags
  kms_key_arn = local.kms_key_arn

  ledger_table_name          = var.ledger_table_name
  ledger_deletion_protection = var.ledger_deletion_protection

  results_bucket_name                        = var.results_bucket_name
  results_prefix                             = var.results_prefix
  results_bucket_force_destroy               = var.results_bucket_force_destroy
  results_bucket_tls_only                    = var.results_bucket_tls_only
  results_expiration_days                    = var.results_expiration_days
  results_noncurrent_version_expiration_days = var.results_noncurrent_version_expiration_days
  results_object_lock                        = var.results_object_lock
  results_access_log_bucket                  = var.results_access_log_bucket

  create_analytics                      = var.create_analytics
  glue_database_name                    = var.glue_database_name
  glue_table_name                       = var.glue_table_name
  create_athena_named_queries           = var.create_athena_named_queries
  athena_results_expiration_days        = var.athena_results_expiration_days
  athena_projection_start_date          = var.athena_projection_start_date
  athena_bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff_per_query
  athena_lookback_days                  = var.athena_lookback_days
  stale_after_days                      = var.stale_after_days
}

module "monitoring" {
  source = "../monitoring"

  name             = var.name
  tags             = var.tags
  kms_key_arn      = local.kms_key_arn
  metric_namespace = local.metric_namespace

  log_group_name     = local.log_group_name
  log_retention_days = var.log_retention_days

  alarm_topic_arn                                     = var.alarm_topic_arn
  alarm_email_addresses                               = var.alarm_email_addresses
  alarm_period_seconds                                = var.alarm_period_seconds
  alarm_dimensions                                    = var.alarm_dimensions
  restore_duration_threshold_minutes                  = var.restore_duration_threshold_minutes
  rpo_target_minutes                                  = var.rpo_target_minutes
  no_passed_validation_hours                          = var.no_passed_validation_hours
  oldest_message_age_threshold_seconds                = var.oldest_message_age_threshold_seconds
  restore_events_oldest_message_age_threshold_seconds = var.restore_events_oldest_message_age_threshold_seconds
  create_dashboard                                    = var.create_dashboard
  create_query_definitions                            = var.create_query_definitions
  coverage_alarm_period_seconds                       = var.coverage_alarm_period_seconds
  coverage_alarm_selections                           = var.coverage_alarm_selections
  reconcile_interval_seconds                          = var.reconcile_interval_seconds

  queue_name        = module.intake.queue_name
  events_queue_name = module.intake.events_queue_name
  dlq_name          = module.intake.dlq_name
  results_bucket    = module.results.results_bucket
  results_prefix    = module.results.results_prefix
  ecs_service = var.create_ecs ? {
    cluster_name = module.service.cluster_name
    service_name = module.service.service_name
  } : null
}

module "service" {
  source = "../service"

  name        = var.name
  tags        = var.tags
  kms_key_arn = local.kms_key_arn

  # What the worker uses: its permissions and its BV_* environment.
  queue_url                  = module.intake.queue_url
  queue_arn                  = module.intake.queue_arn
  queue_name                 = module.intake.queue_name
  events_queue_url           = module.intake.events_queue_url
  events_queue_arn           = module.intake.events_queue_arn
  dlq_url                    = module.intake.dlq_url
  dlq_arn                    = module.intake.dlq_arn
  visibility_timeout_seconds = var.visibility_timeout_seconds
  ledger_table_name          = module.results.ledger_table
  ledger_table_arn           = module.results.ledger_table_arn
  results_bucket             = module.results.results_bucket
  results_bucket_arn         = module.results.results_bucket_arn
  results_prefix             = module.results.results_prefix
  evidence_kms_key_arn       = local.evidence_kms_key_arn
  evidence_signing_algorithm = var.evidence_signing_algorithm
  manifest_prefix            = var.manifest_prefix
  records_log_group_name     = module.monitoring.log_group_name
  records_log_group_arn      = module.monitoring.log_group_arn
  metric_namespace           = local.metric_namespace
  worker_log_group_name      = local.worker_log_group_name
  worker_log_retention_days  = var.worker_log_retention_days

  create_ecs                 = var.create_ecs
  create_task_role           = var.create_task_role
  create_autoscaling         = var.create_autoscaling
  vpc_id                     = var.vpc_id
  private_subnet_ids         = var.private_subnet_ids
  container_image            = var.container_image
  task_cpu                   = var.task_cpu
  task_memory                = var.task_memory
  cpu_architecture           = var.cpu_architecture
  desired_count              = var.desired_count
  autoscaling_min_capacity   = var.autoscaling_min_capacity
  autoscaling_max_capacity   = var.autoscaling_max_capacity
  target_backlog_per_task    = var.target_backlog_per_task
  scale_in_cooldown_seconds  = var.scale_in_cooldown_seconds
  scale_out_cooldown_seconds = var.scale_out_cooldown_seconds

  policy_file             = var.policy_file
  metrics_port            = var.metrics_port
  max_concurrent_restores = var.max_concurrent_restores
  db_tls                  = var.db_tls
  drain_seconds           = var.drain_seconds
  worker_environment      = var.worker_environment
  enable_execute_command  = var.enable_execute_command

  fleet_max_restores             = var.fleet_max_restores
  fleet_max_restores_per_account = var.fleet_max_restores_per_account
  fleet_max_restores_per_kind    = var.fleet_max_restores_per_kind
  fleet_quota_headroom           = var.fleet_quota_headroom
  runner_lease_seconds           = var.runner_lease_seconds
  task_protection_minutes        = var.task_protection_minutes
  coverage_slo_hours             = var.coverage_slo_hours
  reconcile_interval_seconds     = var.reconcile_interval_seconds
  enable_restore_testing         = var.enable_restore_testing
  restore_testing_sweep_seconds  = var.restore_testing_sweep_seconds

  metrics_ingress_cidr_blocks        = var.metrics_ingress_cidr_blocks
  metrics_ingress_security_group_ids = var.metrics_ingress_security_group_ids
  enable_service_discovery           = var.enable_service_discovery
  service_discovery_namespace_id     = var.service_discovery_namespace_id
  service_discovery_namespace_name   = var.service_discovery_namespace_name
  enable_adot_collector              = var.enable_adot_collector
  adot_collector_image               = var.adot_collector_image
  amp_workspace_id                   = var.amp_workspace_id
  prometheus_scrape_interval         = var.prometheus_scrape_interval

  create_restore_network                = var.create_restore_network
  restore_subnet_ids                    = var.restore_subnet_ids
  restore_db_subnet_group_name          = var.restore_db_subnet_group_name
  restore_security_group_ids            = var.restore_security_group_ids
  restore_db_allowed_security_group_ids = var.restore_db_allowed_security_group_ids
  database_ports                        = var.database_ports
  restore_role_policy_arns              = var.restore_role_policy_arns
  restore_kms_key_arns                  = var.restore_kms_key_arns
  iam_role_permissions_boundary         = var.iam_role_permissions_boundary
}
