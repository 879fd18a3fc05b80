################################################################################
# Dashboard
################################################################################

locals {
  # One series per ResourceType and Engine the worker has reported (its second EMF dimension set), found by
  # search rather than listed, so a new engine shows up without a change here. format(): metric name, statistic.
  by_resource_type_search = "SEARCH('{${var.metric_namespace},ResourceType,Engine} MetricName=\"%s\"', '%s', 3600)"

  dashboard_widgets = concat(
    [
      {
        type = "text", x = 0, y = 0, width = 24, height = 2
        properties = {
          markdown = "# Backup validation: ${var.name}\nEvery copied or completed recovery point is restored, checked and deleted. Records: `s3://${var.results_bucket}/${var.results_prefix}`, log group `${local.log_group_name}`."
        }
      },
      {
        type = "metric", x = 0, y = 2, width = 8, height = 6
        properties = {
          title   = "Validations per hour"
          region  = local.region
          view    = "timeSeries"
          stacked = true
          period  = 3600
          stat    = "Sum"
          metrics = [
            [var.metric_namespace, "ValidationPassed", { label = "PASSED", color = "#2ca02c" }],
            [var.metric_namespace, "ValidationFailed", { label = "FAILED", color = "#d62728" }],
            [var.metric_namespace, "RestoreFailed", { label = "RESTORE_FAILED", color = "#ff7f0e" }],
            [var.metric_namespace, "ValidationError", { label = "ERROR", color = "#9467bd" }],
          ]
        }
      },
      {
        type = "metric", x = 8, y = 2, width = 8, height = 6
        properties = {
          title  = "Restore duration (minutes, RTO)"
          region = local.region
          view   = "timeSeries"
          period = 3600
          metrics = [
            [var.metric_namespace, "RestoreDurationMinutes", { stat = "p50", label = "p50" }],
            [var.metric_namespace, "RestoreDurationMinutes", { stat = "p90", label = "p90" }],
            [var.metric_namespace, "RestoreDurationMinutes", { stat = "Maximum", label = "max" }],
          ]
          annotations = { horizontal = [{ label = "threshold", value = var.restore_duration_threshold_minutes }] }
        }
      },
      {
        type = "metric", x = 16, y = 2, width = 8, height = 6
        properties = {
          title  = "Data gap (minutes, RPO) and age of newest row"
          region = local.region
          view   = "timeSeries"
          period = 3600
          metrics = [
            [var.metric_namespace, "DataGapMinutes", { stat = "p90", label = "data gap p90" }],
            [var.metric_namespace, "DataGapMinutes", { stat = "Maximum", label = "data gap max" }],
            [var.metric_namespace, "AgeLatestDbTxMinutes", { stat = "Maximum", label = "age of newest row max" }],
          ]
          annotations = { horizontal = [{ label = "RPO target", value = var.rpo_target_minutes }] }
        }
      },
      {
        type = "metric", x = 0, y = 8, width = 8, height = 6
        properties = {
          title  = "Queues"
          region = local.region
          view   = "timeSeries"
          period = 300
          stat   = "Maximum"
          metrics = concat(
            [
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.queue_name, { label = "waiting" }],
              ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", var.queue_name, { label = "in progress" }],
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.dlq_name, { label = "dead letters", color = "#d62728" }],
            ],
            [
              for queue_name in local.restore_events_queue_names :
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue_name, { label = "restore events waiting" }]
            ],
          )
        }
      },
      {
        type = "metric", x = 8, y = 8, width = 8, height = 6
        properties = {
          title  = "Target misses and cleanup failures"
          region = local.region
          view   = "timeSeries"
          period = 3600
          stat   = "Sum"
          metrics = [
            [var.metric_namespace, "RpoTargetMissed", { label = "RPO target missed" }],
            [var.metric_namespace, "RtoTargetMissed", { label = "RTO target missed" }],
            [var.metric_namespace, "CleanupFailed", { label = "cleanup failed", color = "#d62728" }],
          ]
        }
      },
      {
        type = "alarm", x = 16, y = 8, width = 8, height = 6
        properties = {
          title  = "Alarms"
          alarms = local.alarm_arns
        }
      },
      {
        type = "log", x = 0, y = 14, width = 24, height = 8
        properties = {
          title  = "Latest result per source resource"
          region = local.region
          view   = "table"
          query  = "SOURCE '${local.log_group_name}' | ${replace(trimspace(local.insights_queries.latest_result_per_resource.query), "\n", " ")}"
        }
      },
      {
        type = "log", x = 0, y = 22, width = 24, height = 6
        properties = {
          title  = "Recent failures"
          region = local.region
          view   = "table"
          query  = "SOURCE '${local.log_group_name}' | ${replace(trimspace(local.insights_queries.failures.query), "\n", " ")}"
        }
      },
    ],
    [
      {
        type = "metric", x = 0, y = 28, width = 12, height = 6
        properties = {
          title  = "Outcomes by resource type and engine"
          region = local.region
          view   = "timeSeries"
          period = 3600
          metrics = [
            for metric in ["ValidationPassed", "ValidationFailed", "RestoreFailed", "ValidationError"] :
            [{ expression = format(local.by_resource_type_search, metric, "Sum"), id = lower(metric), label = metric }]
          ]
        }
      },
      {
        type = "metric", x = 12, y = 28, width = 12, height = 6
        properties = {
          title  = "Slowest restore (minutes) and largest data gap by resource type and engine"
          region = local.region
          view   = "timeSeries"
          period = 3600
          metrics = [
            for metric in ["RestoreDurationMinutes", "DataGapMinutes"] :
            [{ expression = format(local.by_resource_type_search, metric, "Maximum"), id = lower(metric), label = metric }]
          ]
        }
      },
    ],
    [
      {
        type = "metric", x = 0, y = 34, width = 12, height = 6
        properties = {
          title  = "Coverage (the reconciler's last pass)"
          region = local.region
          view   = "timeSeries"
          period = 3600
          stat   = "Maximum"
          metrics = [
            [var.metric_namespace, "UncoveredSources", { label = "uncovered", color = "#d62728" }],
            [var.metric_namespace, "SelectedSources", { label = "selected" }],
            [var.metric_namespace, "BackupsStoppedSources", { label = "backups stopped", color = "#ff7f0e" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 34, width = 12, height = 6
        properties = {
          title  = "Uncovered sources by selection"
          region = local.region
          view   = "timeSeries"
          period = 3600
          metrics = [
            [{ expression = "SEARCH('{${var.metric_namespace},Selection} MetricName=\"UncoveredSources\"', 'Maximum', 3600)", id = "uncovered", label = "" }],
          ]
        }
      },
    ],
    var.ecs_service != null ? [
      {
        type = "metric", x = 0, y = 40, width = 24, height = 6
        properties = {
          title  = "Worker tasks"
          region = local.region
          view   = "timeSeries"
          period = 300
          stat   = "Average"
          metrics = [
            ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.ecs_service.cluster_name, "ServiceName", var.ecs_service.service_name, { label = "running" }],
            ["ECS/ContainerInsights", "DesiredTaskCount", "ClusterName", var.ecs_service.cluster_name, "ServiceName", var.ecs_service.service_name, { label = "desired" }],
          ]
        }
      },
    ] : [],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
