data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
  region     = data.aws_region.current.name

  worker_log_group_name = coalesce(var.worker_log_group_name, "/ecs/${var.name}")

  create_ecs             = var.create_ecs
  create_task_role       = var.create_ecs || var.create_task_role
  create_autoscaling     = var.create_ecs && var.create_autoscaling
  create_restore_network = var.create_restore_network
  enable_adot            = var.create_ecs && var.enable_adot_collector
  create_amp_workspace   = local.enable_adot && var.amp_workspace_id == null
}

################################################################################
# The worker's container log group
################################################################################

resource "aws_cloudwatch_log_group" "worker" {
  count = local.create_ecs ? 1 : 0

  name              = local.worker_log_group_name
  retention_in_days = var.worker_log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Worker environment (also an output, to run the worker elsewhere)
################################################################################

locals {
  restore_subnet_group_name = local.create_restore_network ? aws_db_subnet_group.this[0].name : var.restore_db_subnet_group_name
  restore_security_group_ids = local.create_restore_network ? concat(
    [aws_security_group.restored_db[0].id], var.restore_security_group_ids
  ) : var.restore_security_group_ids

  # BV_EVENTS_QUEUE_URL is left out without the restore events queue: the worker has no restore events to receive then.
  base_worker_environment = {
    BV_QUEUE_URL                  = var.queue_url
    BV_EVENTS_QUEUE_URL           = var.events_queue_url == null ? "" : var.events_queue_url
    BV_DLQ_URL                    = var.dlq_url
    BV_RESULTS_BUCKET             = var.results_bucket
    BV_RESULTS_PREFIX             = var.results_prefix
    BV_LEDGER_TABLE               = var.ledger_table_name
    BV_LOG_GROUP                  = var.records_log_group_name
    BV_RESTORE_ROLE_ARN           = aws_iam_role.restore.arn
    BV_POLICY_FILE                = var.policy_file
    BV_METRICS_PORT               = tostring(var.metrics_port)
    BV_MAX_CONCURRENT_RESTORES    = tostring(var.max_concurrent_restores)
    BV_DB_TLS                     = var.db_tls
    BV_VISIBILITY_SECONDS         = tostring(var.visibility_timeout_seconds)
    BV_DRAIN_SECONDS              = tostring(var.drain_seconds)
    BV_SUBNET_GROUP               = local.restore_subnet_group_name == null ? "" : local.restore_subnet_group_name
    BV_SECURITY_GROUP_IDS         = join(",", local.restore_security_group_ids)
    BV_MANIFEST_PREFIX            = var.manifest_prefix
    BV_RUNNER_LEASE_SECONDS       = tostring(var.runner_lease_seconds)
    BV_TASK_PROTECTION_MINUTES    = tostring(var.task_protection_minutes)
    BV_COVERAGE_SLO_HOURS         = tostring(var.coverage_slo_hours)
    BV_RECONCILE_INTERVAL_SECONDS = tostring(var.reconcile_interval_seconds)
    # Fleet limits left unset are no limits (no counter, no DynamoDB call).
    BV_FLEET_MAX_RESTORES             = var.fleet_max_restores == null ? "" : tostring(var.fleet_max_restores)
    BV_FLEET_MAX_RESTORES_PER_ACCOUNT = var.fleet_max_restores_per_account == null ? "" : tostring(var.fleet_max_restores_per_account)
    BV_FLEET_MAX_RESTORES_PER_KIND    = join(",", [for kind in sort(keys(var.fleet_max_restores_per_kind)) : "${kind}=${var.fleet_max_restores_per_kind[kind]}"])
    BV_FLEET_QUOTA_HEADROOM           = var.fleet_quota_headroom == null ? "" : tostring(var.fleet_quota_headroom)
    BV_RESTORE_TESTING_SWEEP_SECONDS  = var.enable_restore_testing ? tostring(var.restore_testing_sweep_seconds) : ""
    # Without a key the worker signs nothing: neither the key nor its algorithm is set.
    BV_EVIDENCE_KMS_KEY_ID        = var.evidence_kms_key_arn == null ? "" : var.evidence_kms_key_arn
    BV_EVIDENCE_SIGNING_ALGORITHM = var.evidence_kms_key_arn == null ? "" : var.evidence_signing_algorithm
  }

  worker_environment = {
    for name, value in merge(local.base_worker_environment, var.worker_environment) : name => value if value != ""
  }
}

################################################################################
# ECS cluster, task definition, service
################################################################################

locals {
  # ECS stops a container this long after SIGTERM (the Fargate maximum); the worker drains in BV_DRAIN_SECONDS.
  stop_timeout = 120

  # The image has python but no curl.
  health_check_command = "python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:${var.metrics_port}/healthz', timeout=3)\" || exit 1"

  amp_remote_write_url = local.enable_adot ? (
    local.create_amp_workspace
    ? "${aws_prometheus_workspace.this[0].prometheus_endpoint}api/v1/remote_write"
    : "https://aps-workspaces.${local.region}.${local.dns_suffix}/workspaces/${var.amp_workspace_id}/api/v1/remote_write"
  ) : null

  adot_config = {
    extensions = {
      sigv4auth = { region = local.region, service = "aps" }
    }
    receivers = {
      prometheus = {
        config = {
          global = { scrape_interval = var.prometheus_scrape_interval }
          scrape_configs = [{
            job_name       = "backup-validator"
            metrics_path   = "/metrics"
            static_configs = [{ targets = ["127.0.0.1:${var.metrics_port}"] }]
          }]
        }
      }
    }
    processors = {
      # Task ARN, cluster, region become labels, so the series of different tasks stay apart.
      "resourcedetection/ecs" = { detectors = ["env", "ecs"], timeout = "5s", override = false }
      batch                   = {}
    }
    exporters = {
      prometheusremotewrite = {
        endpoint                         = local.amp_remote_write_url
        auth                             = { authenticator = "sigv4auth" }
        resource_to_telemetry_conversion = { enabled = true }
      }
    }
    service = {
      extensions = ["sigv4auth"]
      pipelines = {
        metrics = {
          receivers  = ["prometheus"]
          processors = ["resourcedetection/ecs", "batch"]
          exporters  = ["prometheusremotewrite"]
        }
      }
    }
  }

  worker_container = {
    name                   = "worker"
    image                  = var.container_image
    essential              = true
    readonlyRootFilesystem = true
    stopTimeout            = local.stop_timeout
    environment            = [for name in sort(keys(local.worker_environment)) : { name = name, value = local.worker_environment[name] }]
    portMappings           = [{ name = "metrics", containerPort = var.metrics_port, protocol = "tcp" }]
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    linuxParameters        = { initProcessEnabled = true }
    healthCheck = {
      command     = ["CMD-SHELL", local.health_check_command]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.worker_log_group_name
        awslogs-region        = local.region
        awslogs-stream-prefix = "worker"
      }
    }
  }

  adot_container = {
    name                   = "adot-collector"
    image                  = var.adot_collector_image
    essential              = false
    readonlyRootFilesystem = true
    environment            = [{ name = "AOT_CONFIG_CONTENT", value = yamlencode(local.adot_config) }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.worker_log_group_name
        awslogs-region        = local.region
        awslogs-stream-prefix = "adot"
      }
    }
  }

  # JSON per container first: the two objects have different shapes.
  container_definitions = "[${join(",", compact([
    jsonencode(local.worker_container),
    local.enable_adot ? jsonencode(local.adot_container) : "",
  ]))}]"
}

resource "aws_ecs_cluster" "this" {
  count = local.create_ecs ? 1 : 0

  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_ecs_task_definition" "this" {
  count = local.create_ecs ? 1 : 0

  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.task_execution[0].arn
  task_role_arn            = aws_iam_role.task[0].arn
  container_definitions    = local.container_definitions

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # Writable scratch space under the read-only root file system.
  volume {
    name = "tmp"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.container_image != null
      error_message = "container_image is required when create_ecs is true."
    }
  }
}

resource "aws_ecs_service" "this" {
  count = local.create_ecs ? 1 : 0

  name             = var.name
  cluster          = aws_ecs_cluster.this[0].id
  task_definition  = aws_ecs_task_definition.this[0].arn
  desired_count    = var.desired_count
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_ecs_managed_tags            = true
  enable_execute_command             = var.enable_execute_command
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.worker[0].id]
    assign_public_ip = false
  }

  dynamic "service_registries" {
    for_each = var.enable_service_discovery ? [1] : []

    content {
      registry_arn = aws_service_discovery_service.this[0].arn
    }
  }

  tags = var.tags

  lifecycle {
    # Autoscaling owns the count once the service runs.
    ignore_changes = [desired_count]

    precondition {
      condition     = length(var.private_subnet_ids) > 0
      error_message = "private_subnet_ids is required when create_ecs is true."
    }
  }
}

################################################################################
# Service discovery for Prometheus (dns_sd_configs, type A, port metrics_port)
################################################################################

resource "aws_service_discovery_private_dns_namespace" "this" {
  count = local.create_ecs && var.enable_service_discovery && var.service_discovery_namespace_id == null ? 1 : 0

  name        = coalesce(var.service_discovery_namespace_name, "${var.name}.internal")
  description = "Backup Validator workers"
  vpc         = var.vpc_id

  tags = var.tags
}

resource "aws_service_discovery_service" "this" {
  count = local.create_ecs && var.enable_service_discovery ? 1 : 0

  name        = "worker"
  description = "Backup Validator worker tasks (metrics on port ${var.metrics_port})"

  dns_config {
    namespace_id   = var.service_discovery_namespace_id != null ? var.service_discovery_namespace_id : aws_service_discovery_private_dns_namespace.this[0].id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  tags = var.tags
}

################################################################################
# Amazon Managed Service for Prometheus (for the optional ADOT sidecar)
################################################################################

resource "aws_prometheus_workspace" "this" {
  count = local.create_amp_workspace ? 1 : 0

  alias = var.name

  tags = var.tags
}
