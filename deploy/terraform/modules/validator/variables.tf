################################################################################
# General
################################################################################

variable "name" {
  description = "Name prefix of every resource of this deployment (queue, table, bucket, roles, alarms, ECS service)."
  type        = string
  default     = "backup-validator"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen (it is part of S3, IAM and SQS names)."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}

################################################################################
# Encryption
################################################################################

variable "create_kms_key" {
  description = "Create a customer managed KMS key for the ledger, results bucket, log groups, SNS topic, Athena results and (unless `backup_vault_kms_key_arn` is set) the central backup vault."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key to use instead of creating one (`create_kms_key = false`). Its policy must let CloudWatch Logs, CloudWatch alarms (for SNS) and, with `queue_kms_encryption`, EventBridge use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before the created KMS key is deleted after a destroy."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

################################################################################
# Queue
################################################################################

variable "queue_kms_encryption" {
  description = "Encrypt the queues and their DLQ with the module's KMS key (SSE-KMS) instead of SQS-managed keys (SSE-SQS). Both are encrypted at rest; SSE-KMS adds a KMS call per batch of messages."
  type        = bool
  default     = false
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the work queue, and the window by which the worker's heartbeat (ChangeMessageVisibility) keeps a message it works on invisible (BV_VISIBILITY_SECONDS): one knob, so the two always agree. A message the worker holds stays invisible longer when its ledger lease needs it (BV_LEASE_SECONDS + 10 s + one heartbeat), so a crashed worker's message comes back once another worker may resume it."
  type        = number
  default     = 120
}

variable "message_retention_seconds" {
  description = "How long the work queue and the restore events queue keep a message (default 4 days)."
  type        = number
  default     = 345600
}

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps a message (default 14 days, the maximum). Must be longer than `message_retention_seconds`: SQS keeps a message's original enqueue time when it moves to the DLQ."
  type        = number
  default     = 1209600
}

variable "max_receive_count" {
  description = "Receives after which a message of the work queue or the restore events queue moves to the DLQ (redrive policy). Every visibility expiry (crash, retry with backoff) counts as one receive."
  type        = number
  default     = 5
}

variable "dlq_redrive_allow_only_work_queue" {
  description = "Set a redrive allow policy on the DLQ so that only the work queue and the restore events queue may use it as their dead-letter queue."
  type        = bool
  default     = true
}

variable "receive_wait_time_seconds" {
  description = "Long-polling wait of the work queue and the restore events queue."
  type        = number
  default     = 20
}

################################################################################
# Events
################################################################################

variable "copy_destination_vault_arns" {
  description = "Further backup vault ARNs (besides the one this module creates) whose incoming copies are validated. With no vault at all, every COMPLETED copy job seen by the central account's default event bus is sent to the queue."
  type        = list(string)
  default     = []
}

variable "enable_backup_job_events" {
  description = "Also validate recovery points made by backup jobs in the central account itself (`Backup Job State Change` COMPLETED)."
  type        = bool
  default     = true
}

variable "enable_restore_job_events" {
  description = "Send `Restore Job State Change` events of the restores the worker starts (terminal states, filtered on the restore role) to a queue of their own (BV_EVENTS_QUEUE_URL), so the worker learns of completion before its polling would, even behind a backlog of validation requests."
  type        = bool
  default     = true
}

variable "event_maximum_event_age_seconds" {
  description = "How long EventBridge keeps retrying delivery of an event to the queue before sending it to the DLQ."
  type        = number
  default     = 86400
}

variable "event_maximum_retry_attempts" {
  description = "How many times EventBridge retries delivery of an event to the queue before sending it to the DLQ."
  type        = number
  default     = 185
}

variable "allow_event_forwarding" {
  description = "Let the source accounts / organisation put events on the central account's default event bus (the `source` module can forward its copy job events there)."
  type        = bool
  default     = true
}

################################################################################
# Central backup vault
################################################################################

variable "source_account_ids" {
  description = "Production (source) accounts allowed to copy recovery points into the central vault and to forward their backup events."
  type        = list(string)
  default     = []
}

variable "source_organization_id" {
  description = "AWS Organizations ID (o-...) whose accounts may copy into the central vault and forward events, instead of or besides `source_account_ids`."
  type        = string
  default     = null
}

variable "create_backup_vault" {
  description = "Create the central backup vault that source accounts copy into."
  type        = bool
  default     = true
}

variable "backup_vault_name" {
  description = "Name of the central backup vault (default `<name>-central`)."
  type        = string
  default     = null
}

variable "backup_vault_kms_key_arn" {
  description = "KMS key of the central vault (default: the module's key). Copies of fully managed resource types are re-encrypted with it."
  type        = string
  default     = null
}

variable "backup_vault_force_destroy" {
  description = "Delete the recovery points in the central vault when the vault is destroyed."
  type        = bool
  default     = false
}

variable "backup_vault_lock" {
  description = "Optional AWS Backup Vault Lock on the central vault (governance mode unless `changeable_for_days` is set, which starts the grace period of compliance mode)."
  type = object({
    min_retention_days  = number
    max_retention_days  = number
    changeable_for_days = optional(number)
  })
  default = null
}

################################################################################
# Ledger and results
################################################################################

variable "ledger_table_name" {
  description = "Name of the DynamoDB ledger table (default `<name>-ledger`); never `bv-...`, the prefix of the tables the worker restores and deletes."
  type        = string
  default     = null
}

variable "ledger_deletion_protection" {
  description = "Turn on DynamoDB deletion protection for the ledger."
  type        = bool
  default     = true
}

variable "results_bucket_name" {
  description = "Name of the S3 results bucket (default `<name>-results-<account>-<region>`)."
  type        = string
  default     = null
}

variable "results_prefix" {
  description = "Key prefix of the validation records in the results bucket; records are written under `<prefix>dt=YYYY-MM-DD/<validation_id>.json`."
  type        = string
  default     = "validations/"
}

variable "results_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the results bucket with its records (not possible under Object Lock retention)."
  type        = bool
  default     = false
}

variable "results_bucket_tls_only" {
  description = "Attach the bucket policy that denies every request without TLS, or with TLS below 1.2. Turn it off only for a stand-in that speaks plain HTTP (a local emulator that evaluates bucket policies then refuses every request, as AWS would)."
  type        = bool
  default     = true
}

variable "results_expiration_days" {
  description = "Days after which validation records expire (null keeps them for ever; audits usually want at least a year)."
  type        = number
  default     = null
}

variable "results_noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted record versions are removed."
  type        = number
  default     = 90
}

variable "results_object_lock" {
  description = "Optional S3 Object Lock default retention for the results bucket, making the records tamper-evident evidence (set at creation only: changing it from null later replaces the bucket). `mode` is GOVERNANCE or COMPLIANCE."
  type = object({
    mode = string
    days = number
  })
  default = null
}

variable "results_access_log_bucket" {
  description = "Optional bucket receiving S3 server access logs of the results bucket."
  type        = string
  default     = null
}

variable "athena_results_expiration_days" {
  description = "Days after which Athena query results (under `athena-results/` in the results bucket) expire."
  type        = number
  default     = 30
}

################################################################################
# Analytics (Glue + Athena)
################################################################################

variable "create_analytics" {
  description = "Create the Glue database and table over the records and the Athena workgroup with its named queries."
  type        = bool
  default     = true
}

variable "glue_database_name" {
  description = "Glue database name (default: `name` with hyphens turned into underscores)."
  type        = string
  default     = null
}

variable "glue_table_name" {
  description = "Glue table name of the validation records."
  type        = string
  default     = "validations"
}

variable "create_athena_named_queries" {
  description = "Save the Athena named queries (latest result per resource, failures in the last 7 days, RTO/RPO percentiles, resources without a PASSED validation in N days)."
  type        = bool
  default     = true
}

variable "athena_projection_start_date" {
  description = "First `dt` partition (YYYY-MM-DD) of the Athena partition projection."
  type        = string
  default     = "2024-01-01"
}

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Athena stops a query of the workgroup that scans more than this many bytes (cost guard)."
  type        = number
  default     = 10737418240
}

variable "athena_lookback_days" {
  description = "How many days of records the named queries read (latest result, stale resources)."
  type        = number
  default     = 90
}

variable "stale_after_days" {
  description = "N of the named query `resources without a PASSED validation in N days`."
  type        = number
  default     = 7
}

################################################################################
# Logs, alarms, dashboard
################################################################################

variable "log_group_name" {
  description = "CloudWatch log group receiving one JSON line (with Embedded Metric Format metrics) per validation (default `/<name>/validations`)."
  type        = string
  default     = null

  validation {
    condition     = var.log_group_name == null || can(regex("^[a-zA-Z0-9_/.#-]{1,512}$", var.log_group_name))
    error_message = "log_group_name may only hold letters, digits and _ / . # -."
  }
}

variable "log_retention_days" {
  description = "Retention of the validation records log group."
  type        = number
  default     = 365
}

variable "worker_log_retention_days" {
  description = "Retention of the worker's container log group."
  type        = number
  default     = 365
}

variable "alarm_topic_arn" {
  description = "Existing SNS topic for the alarms. When null the module creates an encrypted topic."
  type        = string
  default     = null
}

variable "alarm_email_addresses" {
  description = "E-mail addresses subscribed to the created alarm topic (each must confirm its subscription)."
  type        = list(string)
  default     = []
}

variable "alarm_period_seconds" {
  description = "Period of the event alarms (validation failed, restore failed, duration, data gap, cleanup, queue)."
  type        = number
  default     = 300
}

variable "alarm_dimensions" {
  description = "Resource type and engine pairs (the `ResourceType` and `Engine` dimensions of the worker's metrics, e.g. RDS + postgres) that get their own copy of every event alarm, besides the alarms over all validations."
  type = list(object({
    resource_type = string
    engine        = string
  }))
  default = []
}

variable "restore_duration_threshold_minutes" {
  description = "Alarm when a restore takes longer than this (minutes, the RTO you promise)."
  type        = number
  default     = 60
}

variable "rpo_target_minutes" {
  description = "Alarm when the data gap of a validated backup (recovery point creation minus newest row) exceeds this (minutes, the RPO you promise)."
  type        = number
  default     = 1440
}

variable "no_passed_validation_hours" {
  description = "Alarm when no validation PASSED in this many hours (missing data counts as breaching, so a silent worker alarms too)."
  type        = number
  default     = 26
}

variable "oldest_message_age_threshold_seconds" {
  description = "Alarm when the oldest message of the work queue is older than this. Messages being worked on count too, so keep it above the longest restore plus checks."
  type        = number
  default     = 14400
}

variable "restore_events_oldest_message_age_threshold_seconds" {
  description = "Alarm when the oldest message of the restore events queue is older than this. The worker receives restore events however long the work queue's backlog is and handles each in moments, so an old one means no worker is receiving them."
  type        = number
  default     = 900
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard."
  type        = bool
  default     = true
}

variable "create_query_definitions" {
  description = "Save CloudWatch Logs Insights query definitions for the usual questions (latest result per resource, failures, slowest restores)."
  type        = bool
  default     = true
}

################################################################################
# ECS worker
################################################################################

variable "create_ecs" {
  description = "Run the worker on ECS Fargate (cluster, task definition, service, worker security group, service discovery)."
  type        = bool
  default     = true
}

variable "create_task_role" {
  description = "Create the worker's task role even when `create_ecs` is false (to run the worker elsewhere with the same permissions)."
  type        = bool
  default     = false
}

variable "create_autoscaling" {
  description = "Scale the ECS service on SQS backlog per task (needs `create_ecs`)."
  type        = bool
  default     = true
}

variable "vpc_id" {
  description = "VPC of the worker tasks and of the restored databases (required with `create_ecs` or `create_restore_network`)."
  type        = string
  default     = null
}

variable "private_subnet_ids" {
  description = "Private subnets of the worker tasks (no public IP is assigned: they need a NAT gateway or VPC endpoints to reach AWS APIs); also the default subnets of restores."
  type        = list(string)
  default     = []
}

variable "container_image" {
  description = "Worker image (`repository:tag` or `repository@digest`). Required with `create_ecs`."
  type        = string
  default     = null
}

variable "task_cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 512
}

variable "task_memory" {
  description = "Fargate task memory (MiB); must be a valid combination with `task_cpu`."
  type        = number
  default     = 1024
}

variable "cpu_architecture" {
  description = "CPU architecture of the worker image."
  type        = string
  default     = "X86_64"
}

variable "desired_count" {
  description = "Initial number of worker tasks (afterwards autoscaling owns the count; changes are ignored)."
  type        = number
  default     = 1
}

variable "autoscaling_min_capacity" {
  description = "Minimum number of worker tasks (at least 1: backlog per task divides by the running tasks)."
  type        = number
  default     = 1
}

variable "autoscaling_max_capacity" {
  description = "Maximum number of worker tasks."
  type        = number
  default     = 4
}

variable "target_backlog_per_task" {
  description = "Target messages per running task, waiting and being validated (visible + in flight): the messages one task may hold and still meet the latency you accept (acceptable latency / time per message x concurrent restores per task)."
  type        = number
  default     = 10
}

variable "scale_in_cooldown_seconds" {
  description = "Cooldown after a scale-in (long: scaling in stops tasks that may hold restores, which another task then resumes)."
  type        = number
  default     = 900
}

variable "scale_out_cooldown_seconds" {
  description = "Cooldown after a scale-out."
  type        = number
  default     = 120
}

variable "policy_file" {
  description = "Path inside the container of the worker's TOML policy file (BV_POLICY_FILE)."
  type        = string
  default     = "/etc/backup-validator/policy.toml"
}

variable "metrics_port" {
  description = "Container port of the worker's /metrics, /healthz and /readyz endpoints (BV_METRICS_PORT)."
  type        = number
  default     = 9797
}

variable "max_concurrent_restores" {
  description = "Restores one worker task runs at once (BV_MAX_CONCURRENT_RESTORES); mostly waiting, so a small task handles many."
  type        = number
  default     = 20
}

variable "db_tls" {
  description = "TLS to the restored databases (BV_DB_TLS): `require` in AWS, `disable` only for local stand-ins."
  type        = string
  default     = "require"
}

variable "drain_seconds" {
  description = "Seconds the worker drains after SIGTERM (BV_DRAIN_SECONDS, above 0, at most 100): shutdown then takes at most 15 s more, inside the container stopTimeout of 120 s."
  type        = number
  default     = 25
}

variable "worker_environment" {
  description = "Extra environment variables of the worker container (they override the module's BV_* values)."
  type        = map(string)
  default     = {}
}

variable "enable_execute_command" {
  description = "Allow ECS Exec into worker tasks."
  type        = bool
  default     = false
}

variable "metrics_ingress_cidr_blocks" {
  description = "CIDR blocks (for example the Prometheus servers) allowed to reach the worker's metrics port."
  type        = list(string)
  default     = []
}

variable "metrics_ingress_security_group_ids" {
  description = "Security groups (for example of Prometheus) allowed to reach the worker's metrics port."
  type        = list(string)
  default     = []
}

variable "enable_service_discovery" {
  description = "Register worker tasks in Cloud Map (DNS A records), so Prometheus `dns_sd_configs` finds them."
  type        = bool
  default     = true
}

variable "service_discovery_namespace_id" {
  description = "Existing Cloud Map private DNS namespace ID; when null a namespace named `service_discovery_namespace_name` is created."
  type        = string
  default     = null
}

variable "service_discovery_namespace_name" {
  description = "Name of the private DNS namespace created for the workers (default `<name>.internal`)."
  type        = string
  default     = null
}

variable "enable_adot_collector" {
  description = "Add an AWS Distro for OpenTelemetry collector sidecar that scrapes the worker's /metrics and remote-writes to Amazon Managed Service for Prometheus."
  type        = bool
  default     = false
}

variable "adot_collector_image" {
  description = "Image of the ADOT collector sidecar."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
}

variable "amp_workspace_id" {
  description = "Existing Amazon Managed Service for Prometheus workspace ID for the sidecar; when null (and the sidecar is on) a workspace is created."
  type        = string
  default     = null
}

variable "prometheus_scrape_interval" {
  description = "Scrape interval of the ADOT collector sidecar."
  type        = string
  default     = "30s"
}

################################################################################
# Restores
################################################################################

variable "create_restore_network" {
  description = "Create the DB subnet group and the security group that restored databases get (ingress only from the worker)."
  type        = bool
  default     = true
}

variable "restore_subnet_ids" {
  description = "Subnets of the restore DB subnet group (default `private_subnet_ids`); at least two Availability Zones."
  type        = list(string)
  default     = []
}

variable "restore_db_subnet_group_name" {
  description = "Existing DB subnet group for restores, used when `create_restore_network` is false."
  type        = string
  default     = null
}

variable "restore_security_group_ids" {
  description = "Existing security groups for restored databases, used when `create_restore_network` is false."
  type        = list(string)
  default     = []
}

variable "restore_db_allowed_security_group_ids" {
  description = "Further security groups (besides the worker's) allowed to connect to restored databases."
  type        = list(string)
  default     = []
}

variable "database_ports" {
  description = "Ports of the restored databases the worker connects to (PostgreSQL, MySQL/MariaDB)."
  type        = list(number)
  default     = [5432, 3306]
}

variable "restore_role_policy_arns" {
  description = "Managed policies attached to the restore role. Null attaches AWS Backup's managed restore policy (AWSBackupServiceRolePolicyForRestores); a list replaces it, for example with a narrower policy of your own."
  type        = list(string)
  default     = null
}

variable "restore_kms_key_arns" {
  description = "KMS keys of the recovery points (for RDS: the source database's key, shared with the central account) that the restore role must use."
  type        = list(string)
  default     = []
}

variable "iam_role_permissions_boundary" {
  description = "Permissions boundary ARN attached to every role the module creates."
  type        = string
  default     = null
}

################################################################################
# Tamper evidence (docs/evidence.md)
################################################################################

variable "create_evidence_signing_key" {
  description = "Create an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs the daily evidence manifests. Ignored when `evidence_kms_key_arn` is set."
  type        = bool
  default     = false
}

variable "evidence_kms_key_arn" {
  description = "An existing asymmetric KMS key (SIGN_VERIFY) that signs the daily evidence manifests, instead of creating one. Null with `create_evidence_signing_key = false`: manifests are not signed."
  type        = string
  default     = null
}

variable "evidence_signing_algorithm" {
  description = "KMS signing algorithm of the manifests, matching the key's spec (BV_EVIDENCE_SIGNING_ALGORITHM); ECDSA_SHA_256 for the key this module creates."
  type        = string
  default     = "ECDSA_SHA_256"
}

variable "manifest_prefix" {
  description = "Key prefix of the daily evidence manifests in the results bucket (BV_MANIFEST_PREFIX); outside `results_prefix`, so that Athena and the report never read a manifest as a record."
  type        = string
  default     = "manifests/"
}

################################################################################
# Restore testing (docs/modes.md)
################################################################################

variable "enable_restore_testing" {
  description = "Route the `Restore Job State Change` COMPLETED events of restore testing jobs (`detail.restoreTestingPlanArn` present, any plan of this account: the worker validates those a policy selection names) to the restore events queue, which is then created even without `enable_restore_job_events`. Needed by `restore_testing_plans`."
  type        = bool
  default     = false
}

variable "restore_testing_plans" {
  description = "AWS Backup restore testing plans to create, by plan name (letters, digits, underscores; the name a policy's `restore_testing_plan` glob matches). Each: `schedule_expression` (cron()/rate()), optional `schedule_expression_timezone` and `start_window_hours` (1-168), `recovery_point_selection` (`algorithm` LATEST_WITHIN_WINDOW or RANDOM_WITHIN_WINDOW, `include_vaults` ARN globs (default all), `exclude_vaults`, `recovery_point_types` SNAPSHOT/CONTINUOUS, `selection_window_days` 1-365), and `selections` by name: `protected_resource_type` (RDS, Aurora or DynamoDB: the kinds the worker validates), `protected_resource_arns` (up to 30 ARNs, or `[\"*\"]`, the default, with `protected_resource_conditions` `string_equals` / `string_not_equals` on `aws:ResourceTag/<key>`), `restore_metadata_overrides` (restore metadata, e.g. DBInstanceClass, DBSubnetGroupName, VpcSecurityGroupIds), `validation_window_hours` (1-168, default 1: also what a lost verdict costs), optional `iam_role_arn`."
  type = map(object({
    schedule_expression          = string
    schedule_expression_timezone = optional(string)
    start_window_hours           = optional(number)
    recovery_point_selection = optional(object({
      algorithm             = optional(string, "LATEST_WITHIN_WINDOW")
      include_vaults        = optional(list(string), ["*"])
      exclude_vaults        = optional(list(string), [])
      recovery_point_types  = optional(list(string), ["SNAPSHOT"])
      selection_window_days = optional(number)
    }), {})
    selections = map(object({
      protected_resource_type = string
      protected_resource_arns = optional(list(string), ["*"])
      protected_resource_conditions = optional(object({
        string_equals     = optional(list(object({ key = string, value = string })), [])
        string_not_equals = optional(list(object({ key = string, value = string })), [])
      }), {})
      restore_metadata_overrides = optional(map(string), {})
      validation_window_hours    = optional(number, 1)
      iam_role_arn               = optional(string)
    }))
  }))
  default = {}
}

variable "restore_testing_sweep_seconds" {
  description = "Period of the worker's sweep for restore testing jobs whose events were lost (BV_RESTORE_TESTING_SWEEP_SECONDS); set only with `enable_restore_testing`."
  type        = number
  default     = 300
}

################################################################################
# Fleets (docs/fleet.md) and coverage
################################################################################

variable "fleet_max_restores" {
  description = "Restores in flight across every worker task sharing the ledger (BV_FLEET_MAX_RESTORES); null: no fleet-wide total."
  type        = number
  default     = null
}

variable "fleet_max_restores_per_account" {
  description = "Fleet-wide restores in flight per source account and region (BV_FLEET_MAX_RESTORES_PER_ACCOUNT); null: no such limit."
  type        = number
  default     = null
}

variable "fleet_max_restores_per_kind" {
  description = "Fleet-wide restores in flight per resource kind, e.g. `{ RDS = 30, Aurora = 10, DynamoDB = 20 }` (BV_FLEET_MAX_RESTORES_PER_KIND); a kind left out has no such limit."
  type        = map(number)
  default     = {}
}

variable "fleet_quota_headroom" {
  description = "Derive the RDS and Aurora fleet limits from the account's DBInstances / DBClusters quotas minus this many (BV_FLEET_QUOTA_HEADROOM); null: only the limits set by hand."
  type        = number
  default     = null
}

variable "runner_lease_seconds" {
  description = "Lease of the one task that runs the sweeper and the coverage reconciler (BV_RUNNER_LEASE_SECONDS); after a crash another task takes over within about lease + 10 s + a third of the lease."
  type        = number
  default     = 120
}

variable "task_protection_minutes" {
  description = "ECS scale-in protection expiry while a task holds validations, renewed at half of it (BV_TASK_PROTECTION_MINUTES; the ECS maximum is 2880)."
  type        = number
  default     = 120
}

variable "coverage_slo_hours" {
  description = "A selected source without a PASSED validation for this long is uncovered (BV_COVERAGE_SLO_HOURS); a policy selection's `coverage_slo` overrides it for its sources."
  type        = number
  default     = 26
}

variable "reconcile_interval_seconds" {
  description = "Period of the coverage reconciler, which writes the coverage metrics (BV_RECONCILE_INTERVAL_SECONDS); keep it well below the monitoring module's `coverage_alarm_period_seconds`."
  type        = number
  default     = 900
}

variable "coverage_alarm_period_seconds" {
  description = "Period of the coverage alarm on the reconciler's UncoveredSources metric. Missing data is breaching (a reconciler that stopped reporting must not look like full coverage), so keep it at least twice `reconcile_interval_seconds`."
  type        = number
  default     = 3600
}

variable "coverage_alarm_selections" {
  description = "Policy selections (by `name`) that get a coverage alarm of their own, on their `Selection` series of UncoveredSources (for selections with their own `coverage_slo`, or their own owners)."
  type        = list(string)
  default     = []
}
