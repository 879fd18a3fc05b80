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
  description = "KMS key encrypting the worker's log group; the worker is allowed to use it (Decrypt, GenerateDataKey) for the ledger and the records."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
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
  description = "Target messages per running task, waiting and being validated (visible + in flight): the messages one task may hold and still meet the latency you accept (acceptable latency / time per message x concurrent restores per task)."
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
  description = "Seconds the worker drains after SIGTERM (BV_DRAIN_SECONDS, above 0, at most 100): shutdown then takes at most 15 s more, inside the container stopTimeout of 120 s."
  type        = number
  default     = 25

  validation {
    condition     = var.drain_seconds > 0 && var.drain_seconds <= 100
    error_message = "drain_seconds must be above 0 and at most 100: shutdown takes at most drain + 15 s and ECS kills the container 120 s after SIGTERM."
  }
}

################################################################################
# Fleets (docs/fleet.md): limits shared by every task through the ledger, the runner lease, scale-in protection
################################################################################

variable "fleet_max_restores" {
  description = "Restores in flight across every worker task sharing the ledger (BV_FLEET_MAX_RESTORES); null: no fleet-wide total."
  type        = number
  default     = null

  validation {
    condition     = var.fleet_max_restores == null || try(var.fleet_max_restores >= 1 && floor(var.fleet_max_restores) == var.fleet_max_restores, false)
    error_message = "fleet_max_restores must be a whole number of at least 1 (or null)."
  }
}

variable "fleet_max_restores_per_account" {
  description = "Fleet-wide restores in flight per source account and region (BV_FLEET_MAX_RESTORES_PER_ACCOUNT); null: no such limit."
  type        = number
  default     = null

  validation {
    condition     = var.fleet_max_restores_per_account == null || try(var.fleet_max_restores_per_account >= 1 && floor(var.fleet_max_restores_per_account) == var.fleet_max_restores_per_account, false)
    error_message = "fleet_max_restores_per_account must be a whole number of at least 1 (or null)."
  }
}

variable "fleet_max_restores_per_kind" {
  description = "Fleet-wide restores in flight per resource kind, e.g. `{ RDS = 30, Aurora = 10, DynamoDB = 20 }` (BV_FLEET_MAX_RESTORES_PER_KIND); a kind left out has no such limit."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for kind, limit in var.fleet_max_restores_per_kind : contains(["RDS", "Aurora", "DynamoDB"], kind) && limit >= 1 && floor(limit) == limit])
    error_message = "fleet_max_restores_per_kind keys must be RDS, Aurora or DynamoDB, and each limit a whole number of at least 1."
  }
}

variable "fleet_quota_headroom" {
  description = "Derive the RDS and Aurora fleet limits from the account's DBInstances / DBClusters quotas minus this many (BV_FLEET_QUOTA_HEADROOM); null: only the limits set by hand."
  type        = number
  default     = null

  validation {
    condition     = var.fleet_quota_headroom == null || try(var.fleet_quota_headroom >= 0 && floor(var.fleet_quota_headroom) == var.fleet_quota_headroom, false)
    error_message = "fleet_quota_headroom must be a whole number of at least 0 (or null)."
  }
}

variable "runner_lease_seconds" {
  description = "Lease of the one task that runs the sweeper and the coverage reconciler (BV_RUNNER_LEASE_SECONDS); after a crash another task takes over within about lease + 10 s + a third of the lease."
  type        = number
  default     = 120

  validation {
    condition     = var.runner_lease_seconds >= 30 && floor(var.runner_lease_seconds) == var.runner_lease_seconds
    error_message = "runner_lease_seconds must be a whole number of at least 30."
  }
}

variable "task_protection_minutes" {
  description = "ECS scale-in protection expiry while a task holds validations, renewed at half of it (BV_TASK_PROTECTION_MINUTES; the ECS maximum is 2880)."
  type        = number
  default     = 120

  validation {
    condition     = var.task_protection_minutes >= 1 && var.task_protection_minutes <= 2880 && floor(var.task_protection_minutes) == var.task_protection_minutes
    error_message = "task_protection_minutes must be a whole number between 1 and 2880."
  }
}

################################################################################
# Coverage (docs/fleet.md "Coverage, incrementally") and restore testing (docs/modes.md)
################################################################################

variable "coverage_slo_hours" {
  description = "A selected source without a PASSED validation for this long is uncovered (BV_COVERAGE_SLO_HOURS); a policy selection's `coverage_slo` overrides it for its sources."
  type        = number
  default     = 26

  validation {
    condition     = var.coverage_slo_hours > 0
    error_message = "coverage_slo_hours must be positive."
  }
}

variable "reconcile_interval_seconds" {
  description = "Period of the coverage reconciler, which writes the coverage metrics (BV_RECONCILE_INTERVAL_SECONDS); keep it well below the monitoring module's `coverage_alarm_period_seconds`."
  type        = number
  default     = 900

  validation {
    condition     = var.reconcile_interval_seconds >= 60
    error_message = "reconcile_interval_seconds must be at least 60."
  }
}

variable "enable_restore_testing" {
  description = "Validate AWS Backup restore testing jobs: create the role restore testing selections restore with (`restore_testing_role_arn`) and grant the worker what docs/modes.md lists (modify the restored `awsbackup-restore-test-*` databases, never delete them; ListRestoreTestingPlans)."
  type        = bool
  default     = false
}

variable "restore_testing_sweep_seconds" {
  description = "Period of the worker's sweep for restore testing jobs whose events were lost (BV_RESTORE_TESTING_SWEEP_SECONDS); set only with `enable_restore_testing`."
  type        = number
  default     = 300

  validation {
    condition     = var.restore_testing_sweep_seconds >= 30
    error_message = "restore_testing_sweep_seconds must be at least 30."
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

variable "worker_log_group_name" {
  description = "Log group of the worker's container output (default `/ecs/<name>`)."
  type        = string
  default     = null

  validation {
    condition     = var.worker_log_group_name == null || can(regex("^[a-zA-Z0-9_/.#-]{1,512}$", var.worker_log_group_name))
    error_message = "worker_log_group_name may only hold letters, digits and _ / . # -."
  }
}

################################################################################
# What the worker uses (outputs of the other submodules): its permissions and its BV_* environment
################################################################################

variable "queue_url" {
  description = "URL of the work queue (BV_QUEUE_URL)."
  type        = string
}

variable "queue_arn" {
  description = "ARN of the work queue, which the worker consumes."
  type        = string
}

variable "queue_name" {
  description = "Name of the work queue, whose backlog the autoscaling tracks."
  type        = string
}

variable "events_queue_url" {
  description = "URL of the restore events queue (BV_EVENTS_QUEUE_URL); null when there is none."
  type        = string
  default     = null
}

variable "events_queue_arn" {
  description = "ARN of the restore events queue, which the worker consumes; null when there is none."
  type        = string
  default     = null
}

variable "dlq_url" {
  description = "URL of the dead-letter queue (BV_DLQ_URL)."
  type        = string
}

variable "dlq_arn" {
  description = "ARN of the dead-letter queue, the only queue the worker sends to."
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the work queue, which the worker's heartbeat keeps extending (BV_VISIBILITY_SECONDS)."
  type        = number
  default     = 120

  validation {
    condition     = var.visibility_timeout_seconds >= 30 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 30 and 43200 (the SQS maximum)."
  }
}

variable "ledger_table_name" {
  description = "Name of the DynamoDB ledger table (BV_LEDGER_TABLE)."
  type        = string
}

variable "ledger_table_arn" {
  description = "ARN of the DynamoDB ledger table."
  type        = string
}

variable "results_bucket" {
  description = "Name of the results bucket (BV_RESULTS_BUCKET)."
  type        = string
}

variable "results_bucket_arn" {
  description = "ARN of the results bucket; the worker reads and writes only under `results_prefix`."
  type        = string
}

variable "results_prefix" {
  description = "Key prefix of the records (BV_RESULTS_PREFIX)."
  type        = string
  default     = "validations/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9!_.*'()/-]*/$", var.results_prefix))
    error_message = "results_prefix must be non-empty, must not start with '/' and must end with '/'."
  }
}

variable "records_log_group_name" {
  description = "Log group of the validation records (BV_LOG_GROUP)."
  type        = string
}

variable "records_log_group_arn" {
  description = "ARN of the records log group, the only log group the worker writes to."
  type        = string
}

variable "metric_namespace" {
  description = "CloudWatch namespace the worker may put metrics in (the worker's constant; change only together with it)."
  type        = string
  default     = "BackupValidator"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metric_namespace)) && !startswith(var.metric_namespace, "AWS/")
    error_message = "metric_namespace must be a custom CloudWatch namespace (not AWS/...)."
  }
}

################################################################################
# Tamper evidence (docs/evidence.md)
################################################################################

variable "evidence_kms_key_arn" {
  description = "Asymmetric KMS key (key usage SIGN_VERIFY) that signs the daily evidence manifests (BV_EVIDENCE_KMS_KEY_ID); the worker may `kms:Sign` with it only. Null: manifests are not signed."
  type        = string
  default     = null

  validation {
    condition     = var.evidence_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", coalesce(var.evidence_kms_key_arn, "-")))
    error_message = "evidence_kms_key_arn must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "evidence_signing_algorithm" {
  description = "KMS signing algorithm of the manifests, matching the key's spec (BV_EVIDENCE_SIGNING_ALGORITHM); the worker may sign with this algorithm only."
  type        = string
  default     = "ECDSA_SHA_256"

  validation {
    condition     = can(regex("^(ECDSA_SHA_(256|384|512)|RSASSA_PSS_SHA_(256|384|512)|RSASSA_PKCS1_V1_5_SHA_(256|384|512))$", var.evidence_signing_algorithm))
    error_message = "evidence_signing_algorithm must be a KMS signing algorithm (ECDSA_SHA_256, RSASSA_PSS_SHA_256, ...)."
  }
}

variable "manifest_prefix" {
  description = "Key prefix of the daily evidence manifests in the results bucket (BV_MANIFEST_PREFIX); outside `results_prefix`, so that Athena and the report never read a manifest as a record."
  type        = string
  default     = "manifests/"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9!_.*'()/-]*/$", var.manifest_prefix))
    error_message = "manifest_prefix must be non-empty, must not start with '/' and must end with '/'."
  }
}
