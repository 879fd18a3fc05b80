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
  description = "KMS key encrypting the queues (with `queue_kms_encryption`) and, unless `backup_vault_kms_key_arn` is set, the central backup vault."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "queue_kms_encryption" {
  description = "Encrypt the queues and their DLQ with the module's KMS key (SSE-KMS) instead of SQS-managed keys (SSE-SQS). Both are encrypted at rest; SSE-KMS adds a KMS call per batch of messages."
  type        = bool
  default     = false
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the work queue, and the window by which the worker's heartbeat (ChangeMessageVisibility) keeps a message it works on invisible (BV_VISIBILITY_SECONDS): one knob, so the two always agree. A message the worker holds stays invisible longer when its ledger lease needs it (BV_LEASE_SECONDS + 10 s + one heartbeat), so a crashed worker's message comes back once another worker may resume it."
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

variable "restore_role_arn" {
  description = "Role the worker's restore jobs run with: the restore job rule admits only `Restore Job State Change` events of restores started with it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.restore_role_arn))
    error_message = "restore_role_arn must be an IAM role ARN."
  }
}

################################################################################
# AWS Backup restore testing (docs/modes.md)
################################################################################

variable "enable_restore_testing" {
  description = "Route the `Restore Job State Change` COMPLETED events of restore testing jobs (`detail.restoreTestingPlanArn` present, any plan of this account: the worker validates those a policy selection names) to the restore events queue, which is then created even without `enable_restore_job_events`. Needed by `restore_testing_plans`."
  type        = bool
  default     = false
}

variable "restore_testing_role_arn" {
  description = "Role AWS Backup restores with for the restore testing selections that name none of their own (the service module's `restore_testing_role_arn`)."
  type        = string
  default     = null

  validation {
    condition     = var.restore_testing_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.restore_testing_role_arn, "-")))
    error_message = "restore_testing_role_arn must be an IAM role ARN."
  }
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

  validation {
    condition     = alltrue([for name, plan in var.restore_testing_plans : can(regex("^[A-Za-z][A-Za-z0-9_]{0,49}$", name)) && alltrue([for selection in keys(plan.selections) : can(regex("^[A-Za-z][A-Za-z0-9_]{0,49}$", selection))])])
    error_message = "Restore testing plan and selection names must be 1-50 letters, digits and underscores, starting with a letter (AWS Backup's rule)."
  }

  validation {
    condition = alltrue([for plan in values(var.restore_testing_plans) : (
      can(regex("^(cron|rate)\\(.+\\)$", plan.schedule_expression))
      && (plan.start_window_hours == null || try(plan.start_window_hours >= 1 && plan.start_window_hours <= 168, false))
      && length(plan.selections) > 0
    )])
    error_message = "Each restore testing plan needs a cron(...) or rate(...) schedule_expression, start_window_hours between 1 and 168 when given, and at least one selection."
  }

  validation {
    condition = alltrue([for plan in values(var.restore_testing_plans) : (
      contains(["LATEST_WITHIN_WINDOW", "RANDOM_WITHIN_WINDOW"], plan.recovery_point_selection.algorithm)
      && length(plan.recovery_point_selection.include_vaults) > 0
      && length(plan.recovery_point_selection.recovery_point_types) > 0
      && alltrue([for kind in plan.recovery_point_selection.recovery_point_types : contains(["SNAPSHOT", "CONTINUOUS"], kind)])
      && (plan.recovery_point_selection.selection_window_days == null || try(plan.recovery_point_selection.selection_window_days >= 1 && plan.recovery_point_selection.selection_window_days <= 365, false))
    )])
    error_message = "recovery_point_selection: algorithm LATEST_WITHIN_WINDOW or RANDOM_WITHIN_WINDOW, at least one include_vaults glob, recovery_point_types of SNAPSHOT and CONTINUOUS, selection_window_days between 1 and 365."
  }

  validation {
    condition = alltrue(flatten([for plan in values(var.restore_testing_plans) : [for selection in values(plan.selections) : (
      contains(["RDS", "Aurora", "DynamoDB"], selection.protected_resource_type)
      && selection.validation_window_hours >= 1 && selection.validation_window_hours <= 168
    )]]))
    error_message = "Each restore testing selection needs protected_resource_type RDS, Aurora or DynamoDB (the kinds the worker validates) and validation_window_hours between 1 and 168."
  }

  validation {
    condition = alltrue(flatten([for plan in values(var.restore_testing_plans) : [for selection in values(plan.selections) : (
      length(selection.protected_resource_arns) > 0
      && (join(",", selection.protected_resource_arns) == "*" || (length(selection.protected_resource_arns) <= 30 && alltrue([for arn in selection.protected_resource_arns : startswith(arn, "arn:") && !strcontains(arn, "*")])))
      && (join(",", selection.protected_resource_arns) == "*" || length(selection.protected_resource_conditions.string_equals) + length(selection.protected_resource_conditions.string_not_equals) == 0)
      && alltrue([for condition in concat(selection.protected_resource_conditions.string_equals, selection.protected_resource_conditions.string_not_equals) : startswith(condition.key, "aws:ResourceTag/")])
    )]]))
    error_message = "protected_resource_arns must be [\"*\"] or up to 30 resource ARNs without wildcards; protected_resource_conditions (keys aws:ResourceTag/<key>) go with [\"*\"] only (AWS Backup's rule)."
  }
}
