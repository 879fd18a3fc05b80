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
  description = "Visibility timeout of the work queue, and the window by which the worker's heartbeat (ChangeMessageVisibility) keeps a message it works on invisible (BV_VISIBILITY_SECONDS): one knob, so the two always agree. It is also how long a crashed worker's message waits before another worker resumes it."
  type        = number
  default     = 120

  validation {
    condition     = var.visibility_timeout_seconds >= 30 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 30 (a heartbeat needs time to land) and 43200 (the SQS maximum)."
  }
}

variable "message_retention_seconds" {
  description = "How long the work queue and the restore events queue keep a message (default 4 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 3600 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 3600 and 1209600 (14 days)."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps a message (default 14 days, the maximum). Must be longer than `message_retention_seconds`: SQS keeps a message's original enqueue time when it moves to the DLQ."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 3600 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 3600 and 1209600 (14 days)."
  }
}

variable "max_receive_count" {
  description = "Receives after which a message of the work queue or the restore events queue moves to the DLQ (redrive policy). Every visibility expiry (crash, retry with backoff) counts as one receive."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
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

  validation {
    condition     = var.receive_wait_time_seconds >= 0 && var.receive_wait_time_seconds <= 20
    error_message = "receive_wait_time_seconds must be between 0 and 20."
  }
}

################################################################################
# Events
################################################################################

variable "copy_destination_vault_arns" {
  description = "Further backup vault ARNs (besides the one this module creates) whose incoming copies are validated. With no vault at all, every COMPLETED copy job seen by the central account's default event bus is sent to the queue."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.copy_destination_vault_arns : can(regex("^arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]+:backup-vault:.+$", arn))])
    error_message = "copy_destination_vault_arns must hold backup vault ARNs (arn:aws:backup:<region>:<account>:backup-vault:<name>)."
  }
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

  validation {
    condition     = var.event_maximum_event_age_seconds >= 60 && var.event_maximum_event_age_seconds <= 86400
    error_message = "event_maximum_event_age_seconds must be between 60 and 86400."
  }
}

variable "event_maximum_retry_attempts" {
  description = "How many times EventBridge retries delivery of an event to the queue before sending it to the DLQ."
  type        = number
  default     = 185

  validation {
    condition     = var.event_maximum_retry_attempts >= 0 && var.event_maximum_retry_attempts <= 185
    error_message = "event_maximum_retry_attempts must be between 0 and 185."
  }
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

  validation {
    condition     = alltrue([for id in var.source_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "source_account_ids must be 12-digit AWS account IDs."
  }
}

variable "source_organization_id" {
  description = "AWS Organizations ID (o-...) whose accounts may copy into the central vault and forward events, instead of or besides `source_account_ids`."
  type        = string
  default     = null

  validation {
    condition     = var.source_organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.source_organization_id))
    error_message = "source_organization_id must look like o-xxxxxxxxxx."
  }
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

  validation {
    condition     = var.backup_vault_name == null || can(regex("^[a-zA-Z0-9_-]{2,50}$", var.backup_vault_name))
    error_message = "backup_vault_name must be 2-50 letters, digits, hyphens or underscores."
  }
}

variable "backup_vault_kms_key_arn" {
  description = "KMS key of the central vault (default: the module's key). Copies of fully managed resource types are re-encrypted with it."
  type        = string
  default     = null

  validation {
    condition     = var.backup_vault_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.backup_vault_kms_key_arn))
    error_message = "backup_vault_kms_key_arn must be a KMS key ARN."
  }
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

  validation {
    condition     = var.backup_vault_lock == null || try(var.backup_vault_lock.min_retention_days >= 1 && var.backup_vault_lock.max_retention_days >= var.backup_vault_lock.min_retention_days, false)
    error_message = "backup_vault_lock needs min_retention_days >= 1 and max_retention_days >= min_retention_days."
  }
}

################################################################################
# Ledger and results
################################################################################

variable "ledger_table_name" {
  description = "Name of the DynamoDB ledger table (default `<name>-ledger`)."
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

  validation {
    condition     = var.results_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.results_bucket_name))
    error_message = "results_bucket_name must be a valid S3 bucket name."
  }
}

variable "results_prefix" {
  description = "Key prefix of the validation records in the results bucket; records are written under `<prefix>dt=YYYY-MM-DD/<validation_id>.json`."
  type        = string
  default     = "validations/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9!_.*'()/-]*/$", var.results_prefix)) && !startswith(var.results_prefix, "athena-results/")
    error_message = "results_prefix must be non-empty, must not start with '/', must end with '/' and must not be the Athena results prefix."
  }
}

variable "results_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the results bucket with its records (not possible under Object Lock retention)."
  type        = bool
  default     = false
}

variable "results_expiration_days" {
  description = "Days after which validation records expire (null keeps them for ever; audits usually want at least a year)."
  type        = number
  default     = null

  validation {
    condition     = var.results_expiration_days == null || try(var.results_expiration_days >= 1, false)
    error_message = "results_expiration_days must be null or at least 1."
  }
}

variable "results_noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted record versions are removed."
  type        = number
  default     = 90

  validation {
    condition     = var.results_noncurrent_version_expiration_days >= 1
    error_message = "results_noncurrent_version_expiration_days must be at least 1."
  }
}

variable "results_object_lock" {
  description = "Optional S3 Object Lock default retention for the results bucket, making the records tamper-evident evidence (set at creation only: changing it from null later replaces the bucket). `mode` is GOVERNANCE or COMPLIANCE."
  type = object({
    mode = string
    days = number
  })
  default = null

  validation {
    condition     = var.results_object_lock == null || try(contains(["GOVERNANCE", "COMPLIANCE"], var.results_object_lock.mode) && var.results_object_lock.days >= 1, false)
    error_message = "results_object_lock.mode must be GOVERNANCE or COMPLIANCE and days at least 1."
  }
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

  validation {
    condition     = var.athena_results_expiration_days >= 1
    error_message = "athena_results_expiration_days must be at least 1."
  }
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

  validation {
    condition     = var.glue_database_name == null || can(regex("^[a-z0-9_]{1,255}$", var.glue_database_name))
    error_message = "glue_database_name must be lowercase letters, digits and underscores."
  }
}

variable "glue_table_name" {
  description = "Glue table name of the validation records."
  type        = string
  default     = "validations"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.glue_table_name))
    error_message = "glue_table_name must be lowercase letters, digits and underscores."
  }
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

  validation {
    condition     = can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", var.athena_projection_start_date))
    error_message = "athena_projection_start_date must be a YYYY-MM-DD date."
  }
}

variable "athena_bytes_scanned_cutoff_per_query" {
  description = "Athena stops a query of the workgroup that scans more than this many bytes (cost guard)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.athena_bytes_scanned_cutoff_per_query >= 10485760
    error_message = "athena_bytes_scanned_cutoff_per_query must be at least 10485760 (10 MB, the Athena minimum)."
  }
}

variable "athena_lookback_days" {
  description = "How many days of records the named queries read (latest result, stale resources)."
  type        = number
  default     = 90

  validation {
    condition     = var.athena_lookback_days >= 1 && var.athena_lookback_days <= 3660
    error_message = "athena_lookback_days must be between 1 and 3660."
  }
}

variable "stale_after_days" {
  description = "N of the named query `resources without a PASSED validation in N days`."
  type        = number
  default     = 7

  validation {
    condition     = var.stale_after_days >= 1 && var.stale_after_days <= 365
    error_message = "stale_after_days must be between 1 and 365."
  }
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

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "worker_log_retention_days" {
  description = "Retention of the worker's container log group."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.worker_log_retention_days)
    error_message = "worker_log_retention_days must be one of the values CloudWatch Logs accepts."
  }
}

variable "alarm_topic_arn" {
  description = "Existing SNS topic for the alarms. When null the module creates an encrypted topic."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "alarm_email_addresses" {
  description = "E-mail addresses subscribed to the created alarm topic (each must confirm its subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for address in var.alarm_email_addresses : can(regex("^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:]]+$", address))])
    error_message = "alarm_email_addresses must hold e-mail addresses."
  }
}

variable "alarm_period_seconds" {
  description = "Period of the event alarms (validation failed, restore failed, duration, data gap, cleanup, queue)."
  type        = number
  default     = 300

  validation {
    condition     = var.alarm_period_seconds >= 60 && var.alarm_period_seconds % 60 == 0
    error_message = "alarm_period_seconds must be a multiple of 60."
  }
}

variable "restore_duration_threshold_minutes" {
  description = "Alarm when a restore takes longer than this (minutes, the RTO you promise)."
  type        = number
  default     = 60

  validation {
    condition     = var.restore_duration_threshold_minutes > 0
    error_message = "restore_duration_threshold_minutes must be positive."
  }
}

variable "rpo_target_minutes" {
  description = "Alarm when the data gap of a validated backup (recovery point creation minus newest row) exceeds this (minutes, the RPO you promise)."
  type        = number
  default     = 1440

  validation {
    condition     = var.rpo_target_minutes > 0
    error_message = "rpo_target_minutes must be positive."
  }
}

variable "no_passed_validation_hours" {
  description = "Alarm when no validation PASSED in this many hours (missing data counts as breaching, so a silent worker alarms too)."
  type        = number
  default     = 26

  validation {
    condition     = var.no_passed_validation_hours >= 1 && var.no_passed_validation_hours <= 168 && floor(var.no_passed_validation_hours) == var.no_passed_validation_hours
    error_message = "no_passed_validation_hours must be a whole number between 1 and 168 (CloudWatch evaluates at most 7 days)."
  }
}

variable "oldest_message_age_threshold_seconds" {
  description = "Alarm when the oldest message of the work queue is older than this. Messages being worked on count too, so keep it above the longest restore plus checks."
  type        = number
  default     = 14400

  validation {
    condition     = var.oldest_message_age_threshold_seconds >= 300
    error_message = "oldest_message_age_threshold_seconds must be at least 300."
  }
}

variable "restore_events_oldest_message_age_threshold_seconds" {
  description = "Alarm when the oldest message of the restore events queue is older than this. The worker receives restore events however long the work queue's backlog is and handles each in moments, so an old one means no worker is receiving them."
  type        = number
  default     = 900

  validation {
    condition     = var.restore_events_oldest_message_age_threshold_seconds >= 300
    error_message = "restore_events_oldest_message_age_threshold_seconds must be at least 300."
  }
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

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192, 16384)."
  }
}

variable "task_memory" {
  description = "Fargate task memory (MiB); must be a valid combination with `task_cpu`."
  type        = number
  default     = 1024

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 122880
    error_message = "task_memory must be between 512 and 122880 MiB."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the worker image."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "desired_count" {
  description = "Initial number of worker tasks (afterwards autoscaling owns the count; changes are ignored)."
  type        = number
  default     = 1

  validation {
    condition     = var.desired_count >= 0
    error_message = "desired_count must not be negative."
  }
}

variable "autoscaling_min_capacity" {
  description = "Minimum number of worker tasks (at least 1: backlog per task divides by the running tasks)."
  type        = number
  default     = 1

  validation {
    condition     = var.autoscaling_min_capacity >= 1
    error_message = "autoscaling_min_capacity must be at least 1."
  }
}

variable "autoscaling_max_capacity" {
  description = "Maximum number of worker tasks."
  type        = number
  default     = 4

  validation {
    condition     = var.autoscaling_max_capacity >= 1
    error_message = "autoscaling_max_capacity must be at least 1."
  }
}

variable "target_backlog_per_task" {
  description = "Target visible messages per running task: the messages one task may have waiting and still meet the latency you accept (acceptable latency / time per message x concurrent restores per task)."
  type        = number
  default     = 10

  validation {
    condition     = var.target_backlog_per_task > 0
    error_message = "target_backlog_per_task must be positive."
  }
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

  validation {
    condition     = var.metrics_port >= 1024 && var.metrics_port <= 65535
    error_message = "metrics_port must be between 1024 and 65535."
  }
}

variable "max_concurrent_restores" {
  description = "Restores one worker task runs at once (BV_MAX_CONCURRENT_RESTORES); mostly waiting, so a small task handles many."
  type        = number
  default     = 20

  validation {
    condition     = var.max_concurrent_restores >= 1 && var.max_concurrent_restores <= 20000
    error_message = "max_concurrent_restores must be between 1 and 20000."
  }
}

variable "db_tls" {
  description = "TLS to the restored databases (BV_DB_TLS): `require` in AWS, `disable` only for local stand-ins."
  type        = string
  default     = "require"

  validation {
    condition     = contains(["require", "disable"], var.db_tls)
    error_message = "db_tls must be require or disable."
  }
}

variable "drain_seconds" {
  description = "Seconds the worker drains after SIGTERM before exiting (BV_DRAIN_SECONDS); must stay below the container stopTimeout of 120 s."
  type        = number
  default     = 25

  validation {
    condition     = var.drain_seconds >= 0 && var.drain_seconds <= 110
    error_message = "drain_seconds must be between 0 and 110 (ECS kills the container 120 s after SIGTERM)."
  }
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

  validation {
    condition     = alltrue([for cidr in var.metrics_ingress_cidr_blocks : can(cidrnetmask(cidr)) && cidr != "0.0.0.0/0"])
    error_message = "metrics_ingress_cidr_blocks must hold IPv4 CIDR blocks other than 0.0.0.0/0."
  }
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

  validation {
    condition     = can(regex("^[0-9]+(s|m)$", var.prometheus_scrape_interval))
    error_message = "prometheus_scrape_interval must look like 30s or 1m."
  }
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

  validation {
    condition     = length(var.database_ports) > 0 && alltrue([for port in var.database_ports : port >= 1 && port <= 65535])
    error_message = "database_ports must hold at least one TCP port."
  }
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
