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

variable "kms_key_arn" {
  description = "KMS key encrypting the records log group and the created alarm topic. Its policy must let CloudWatch Logs use it for that log group and CloudWatch alarms publish to the topic."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

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

variable "coverage_alarm_period_seconds" {
  description = "Period of the coverage alarm on the reconciler's UncoveredSources metric. Missing data is breaching (a reconciler that stopped reporting must not look like full coverage), so keep it at least twice `reconcile_interval_seconds`."
  type        = number
  default     = 3600

  validation {
    condition     = var.coverage_alarm_period_seconds >= 300 && var.coverage_alarm_period_seconds <= 86400 && var.coverage_alarm_period_seconds % 60 == 0
    error_message = "coverage_alarm_period_seconds must be a multiple of 60 between 300 and 86400."
  }
}

variable "reconcile_interval_seconds" {
  description = "Period of the worker's coverage reconciler (BV_RECONCILE_INTERVAL_SECONDS): the coverage alarms' period must be at least twice it."
  type        = number
  default     = 900
}

variable "coverage_alarm_selections" {
  description = "Policy selections (by `name`) that get a coverage alarm of their own, on their `Selection` series of UncoveredSources (for selections with their own `coverage_slo`, or their own owners)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.coverage_alarm_selections : can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", name))])
    error_message = "coverage_alarm_selections: selection names of 1-64 letters, digits, '_', '.' and '-' (they are part of the alarm names)."
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

variable "alarm_dimensions" {
  description = "Resource type and engine pairs (the `ResourceType` and `Engine` dimensions of the worker's metrics, e.g. RDS + postgres) that get their own copy of every event alarm, besides the alarms over all validations."
  type = list(object({
    resource_type = string
    engine        = string
  }))
  default = []

  validation {
    condition     = alltrue([for pair in var.alarm_dimensions : can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]*$", pair.resource_type)) && can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]*$", pair.engine))])
    error_message = "alarm_dimensions: resource_type and engine must be non-empty letters, digits, '.', '_' or '-' (they are part of the alarm names)."
  }

  validation {
    condition     = length(distinct([for pair in var.alarm_dimensions : lower("${pair.resource_type}/${pair.engine}")])) == length(var.alarm_dimensions)
    error_message = "alarm_dimensions must not list the same resource type and engine twice."
  }
}

################################################################################
# What is monitored (outputs of the other submodules)
################################################################################

variable "metric_namespace" {
  description = "CloudWatch namespace of the worker's Embedded Metric Format metrics (the worker's constant; change only together with it)."
  type        = string
  default     = "BackupValidator"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metric_namespace)) && !startswith(var.metric_namespace, "AWS/")
    error_message = "metric_namespace must be a custom CloudWatch namespace (not AWS/...)."
  }
}

variable "queue_name" {
  description = "Name of the work queue (age alarm, dashboard)."
  type        = string
}

variable "events_queue_name" {
  description = "Name of the restore events queue (age alarm, dashboard); null when there is none."
  type        = string
  default     = null
}

variable "dlq_name" {
  description = "Name of the dead-letter queue (not-empty alarm, dashboard)."
  type        = string
}

variable "ecs_service" {
  description = "ECS cluster and service of the workers (running tasks alarm, dashboard); null when the worker runs elsewhere."
  type = object({
    cluster_name = string
    service_name = string
  })
  default = null
}

variable "results_bucket" {
  description = "Results bucket, named on the dashboard."
  type        = string
}

variable "results_prefix" {
  description = "Key prefix of the records in the results bucket, named on the dashboard."
  type        = string
  default     = "validations/"
}
