variable "name" {
  description = "Name prefix of the vault, plan, selection and roles in this (source) account."
  type        = string
  default     = "backup-validator"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}$", var.name))
    error_message = "name must be 2-41 letters, digits, hyphens or underscores."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them."
  type        = map(string)
  default     = {}
}

variable "destination_vault_arn" {
  description = "ARN of the central backup vault (output `backup_vault_arn` of the validator module) that every recovery point is copied into."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]{12}:backup-vault:.+$", var.destination_vault_arn))
    error_message = "destination_vault_arn must be a backup vault ARN (arn:aws:backup:<region>:<account>:backup-vault:<name>)."
  }
}

variable "vault_name" {
  description = "Name of the backup vault in this account (default `<name>`)."
  type        = string
  default     = null

  validation {
    condition     = var.vault_name == null || can(regex("^[a-zA-Z0-9_-]{2,50}$", var.vault_name))
    error_message = "vault_name must be 2-50 letters, digits, hyphens or underscores."
  }
}

variable "create_kms_key" {
  description = "Create a customer managed KMS key for the vault, usable by the central account (cross-account copies need a customer managed key shared with the destination)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Existing KMS key of the vault when `create_kms_key` is false; its policy must let the central account use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "vault_force_destroy" {
  description = "Delete the recovery points in the vault when it is destroyed."
  type        = bool
  default     = false
}

variable "schedule" {
  description = "When backups run (AWS Backup cron or rate expression)."
  type        = string
  default     = "cron(0 3 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.schedule))
    error_message = "schedule must be a cron(...) or rate(...) expression."
  }
}

variable "schedule_timezone" {
  description = "Time zone of the schedule (IANA name)."
  type        = string
  default     = "Etc/UTC"
}

variable "start_window_minutes" {
  description = "Minutes after the scheduled time within which a backup must start."
  type        = number
  default     = 60

  validation {
    condition     = var.start_window_minutes >= 60
    error_message = "start_window_minutes must be at least 60 (the AWS Backup minimum)."
  }
}

variable "completion_window_minutes" {
  description = "Minutes after the start within which a backup must complete."
  type        = number
  default     = 480

  validation {
    condition     = var.completion_window_minutes >= 120
    error_message = "completion_window_minutes must be at least 120."
  }
}

variable "delete_after_days" {
  description = "Retention of the recovery points in this account."
  type        = number
  default     = 35

  validation {
    condition     = var.delete_after_days >= 1
    error_message = "delete_after_days must be at least 1."
  }
}

variable "cold_storage_after_days" {
  description = "Move recovery points to cold storage after this many days (null: never; only some resource types support it, and cold recovery points cannot be copied)."
  type        = number
  default     = null

  validation {
    condition     = var.cold_storage_after_days == null || try(var.cold_storage_after_days >= 1, false)
    error_message = "cold_storage_after_days must be null or at least 1."
  }
}

variable "copy_delete_after_days" {
  description = "Retention of the copies in the central vault."
  type        = number
  default     = 35

  validation {
    condition     = var.copy_delete_after_days >= 1
    error_message = "copy_delete_after_days must be at least 1."
  }
}

variable "selection_tags" {
  description = "Resources carrying any of these tags (key = value) are backed up and copied to the central vault. Empty: no selection is created (assign resources to the plan, output `backup_plan_id`, with a selection of your own)."
  type = list(object({
    key   = string
    value = string
  }))
  default = [{ key = "backup-validator", value = "enabled" }]
}

variable "backup_role_arn" {
  description = "Existing IAM role AWS Backup uses for the plan; when null a role with the AWS managed backup and restore policies is created."
  type        = string
  default     = null
}

variable "forward_copy_events" {
  description = "Forward this account's `Copy Job State Change` events for copies into the central vault to the central account's default event bus (the validator module's `allow_event_forwarding` must admit this account)."
  type        = bool
  default     = true
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
