################################################################################
# Worker environment (also an output, to run the worker elsewhere)
################################################################################

locals {
  restore_subnet_group_name = local.create_restore_network ? aws_db_subnet_group.this[0].name : var.restore_db_subnet_group_name
  restore_security_group_ids = local.create_restore_network ? concat(
    [aws_security_group.restored_db[0].id], var.restore_security_group_ids
  ) : var.restore_security_group_ids

  # BV_EVENTS_QUEUE_URL is left out without the restore job rule: the worker has no restore events to receive then.
  base_worker_environment = {
    BV_QUEUE_URL               = aws_sqs_queue.this.url
    BV_EVENTS_QUEUE_URL        = local.create_restore_events_queue ? aws_sqs_queue.restore_events[0].url : ""
    BV_DLQ_URL                 = aws_sqs_queue.dlq.url
    BV_RESULTS_BUCKET          = aws_s3_bucket.this.bucket
    BV_RESULTS_PREFIX          = var.results_prefix
    BV_LEDGER_TABLE            = aws_dynamodb_table.this.name
    BV_LOG_GROUP               = aws_cloudwatch_log_group.records.name
    BV_RESTORE_ROLE_ARN        = aws_iam_role.restore.arn
    BV_POLICY_FILE             = var.policy_file
    BV_METRICS_PORT            = tostring(var.metrics_port)
    BV_MAX_CONCURRENT_RESTORES = tostring(var.max_concurrent_restores)
    BV_DB_TLS                  = var.db_tls
    BV_VISIBILITY_SECONDS      = tostring(var.visibility_timeout_seconds)
    BV_DRAIN_SECONDS           = tostring(var.drain_seconds)
    BV_SUBNET_GROUP            = local.restore_subnet_group_name == null ? "" : local.restore_subnet_group_name
    BV_SECURITY_GROUP_IDS      = join(",", local.restore_security_group_ids)
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

################################################################################
# Autoscaling on SQS backlog per task (metric math)
################################################################################

resource "aws_appautoscaling_target" "this" {
  count = local.create_autoscaling ? 1 : 0

  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this[0].name}/${aws_ecs_service.this[0].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.autoscaling_min_capacity
  max_capacity       = var.autoscaling_max_capacity

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.autoscaling_max_capacity >= var.autoscaling_min_capacity
      error_message = "autoscaling_max_capacity must be at least autoscaling_min_capacity."
    }
  }
}

resource "aws_appautoscaling_policy" "backlog_per_task" {
  count = local.create_autoscaling ? 1 : 0

  name               = "${var.name}-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.target_backlog_per_task
    scale_in_cooldown  = var.scale_in_cooldown_seconds
    scale_out_cooldown = var.scale_out_cooldown_seconds

    customized_metric_specification {
      metrics {
        id          = "visible"
        label       = "Messages waiting in the work queue"
        return_data = false

        metric_stat {
          stat = "Sum"

          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"

            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.this.name
            }
          }
        }
      }

      metrics {
        id          = "running"
        label       = "Running worker tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this[0].name
            }

            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.this[0].name
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "Backlog per task"
        expression  = "visible / running"
        return_data = true
      }
    }
  }
}
