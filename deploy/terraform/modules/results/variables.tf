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
  description = "KMS key encrypting the ledger table, the results bucket and the Athena query results (required; null fails the plan with an explanation)."
  type        = string

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "ledger_table_name" {
  description = "Name of the DynamoDB ledger table (default `<name>-ledger`); never `bv-...`, the prefix of the tables the worker restores and deletes."
  type        = string
  default     = null

  validation {
    condition     = var.ledger_table_name == null || !startswith(coalesce(var.ledger_table_name, "-"), "bv-")
    error_message = "ledger_table_name must not start with bv-: the worker deletes bv- tables (its restores)."
  }
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

variable "results_bucket_tls_only" {
  description = "Attach the bucket policy that denies every request without TLS, or with TLS below 1.2. Turn it off only for a stand-in that speaks plain HTTP (a local emulator that evaluates bucket policies then refuses every request, as AWS would)."
  type        = bool
  default     = true
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
