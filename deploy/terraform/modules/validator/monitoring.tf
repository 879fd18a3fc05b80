################################################################################
# Log groups
################################################################################

resource "aws_cloudwatch_log_group" "records" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "worker" {
  count = local.create_ecs ? 1 : 0

  name              = local.worker_log_group_name
  retention_in_days = var.worker_log_retention_days
  kms_key_id        = local.kms_key_arn

  tags = var.tags
}

################################################################################
# Alarm topic
################################################################################

resource "aws_sns_topic" "this" {
  count = var.alarm_topic_arn == null ? 1 : 0

  name              = "${var.name}-alarms"
  kms_master_key_id = local.kms_key_arn

  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = var.alarm_topic_arn == null ? toset(var.alarm_email_addresses) : toset([])

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  alarm_topic_arn = var.alarm_topic_arn != null ? var.alarm_topic_arn : aws_sns_topic.this[0].arn

  # Alarms on the worker's Embedded Metric Format metrics, dimensionless set (worker/emf.py).
  metric_alarms = {
    validation_failed = {
      description        = "A validation FAILED: a data check on a restored backup did not hold."
      metric_name        = "ValidationFailed"
      statistic          = "Sum"
      comparison         = "GreaterThanThreshold"
      threshold          = 0
      period             = var.alarm_period_seconds
      evaluation_periods = 1
      treat_missing_data = "notBreaching"
    }
    restore_failed = {
      description        = "A restore job of a recovery point failed (RESTORE_FAILED)."
      metric_name        = "RestoreFailed"
      statistic          = "Sum"
      comparison         = "GreaterThanThreshold"
      threshold          = 0
      period             = var.alarm_period_seconds
      evaluation_periods = 1
      treat_missing_data = "notBreaching"
    }
    validation_error = {
      description        = "A validation ended in ERROR (the worker could not finish it)."
      metric_name        = "ValidationError"
      statistic          = "Sum"
      comparison         = "GreaterThanThreshold"
      threshold          = 0
      period             = var.alarm_period_seconds
      evaluation_periods = 1
      treat_missing_data = "notBreaching"
    }
    restore_duration = {
      description        = "A restore took longer than ${var.restore_duration_threshold_minutes} minutes (RTO)."
      metric_name        = "RestoreDurationMinutes"
      statistic          = "Maximum"
      comparison         = "GreaterThanThreshold"
      threshold          = var.restore_duration_threshold_minutes
      period             = var.alarm_period_seconds
      evaluation_periods = 1
      treat_missing_data = "notBreaching"
    }
    data_gap = {
      description        = "A validated backup's data gap exceeded the RPO target of ${var.rpo_target_minutes} minutes."
      metric_name        = "DataGapMinutes"
      statistic          = "Maximum"
      comparison         = "GreaterThanThreshold"
      threshold          = var.rpo_target_minutes
      period             = var.alarm_period_seconds
      evaluation_periods = 1
      treat_missing_data = "notBreaching"
    }
    rpo_target_missed = {
      description        = "A validation missed its selection's RPO target."
      metric_name        = "RpoTargetMissed"
      statistic          = "Sum"
      comparison         = "GreaterThanThreshold"
      threshold          = 0
      period             = var.alarm_period_seconds
      evaluation_periods = 1
      treat_missing_data = "notBreaching"
    }
    rto_target_missed = {
      description        = "A validation missed its selection's RTO target."
      metric_name        = "RtoTargetMissed"
      statistic          = "Sum"
      comparison         = "GreaterThanThreshold"
      threshold          = 0
      period             = var.alarm_period_seconds
      evaluation_periods = 1
      treat_missing_data = "notBreaching"
    }
    cleanup_failed = {
      description        = "A restored resource could not be deleted: it keeps costing money until the sweeper or a person removes it."
      metric_name        = "CleanupFailed"
      statistic          = "Sum"
      comparison         = "GreaterThanThreshold"
      threshold          = 0
      period             = var.alarm_period_seconds
      evaluation_periods = 1
      treat_missing_data = "notBreaching"
    }
    no_passed_validation = {
      description        = "No validation PASSED in ${var.no_passed_validation_hours} hours (or the worker reported nothing at all)."
      metric_name        = "ValidationPassed"
      statistic          = "Sum"
      comparison         = "LessThanThreshold"
      threshold          = 1
      period             = 3600
      evaluation_periods = var.no_passed_validation_hours
      treat_missing_data = "breaching"
    }
  }

  queue_alarms = merge(
    {
      dlq_not_empty = {
        description = "Messages are in the dead-letter queue: events that could not be delivered or processed."
        queue_name  = aws_sqs_queue.dlq.name
        metric_name = "ApproximateNumberOfMessagesVisible"
        threshold   = 0
      }
      oldest_message_age = {
        description = "The oldest message of the work queue is older than ${var.oldest_message_age_threshold_seconds} s: the workers fall behind or are stuck."
        queue_name  = aws_sqs_queue.this.name
        metric_name = "ApproximateAgeOfOldestMessage"
        threshold   = var.oldest_message_age_threshold_seconds
      }
    },
    # A for expression rather than a conditional, whose two results would have to be the same object type.
    {
      for queue_name in aws_sqs_queue.restore_events[*].name : "restore_events_oldest_message_age" => {
        description = "The oldest message of the restore events queue is older than ${var.restore_events_oldest_message_age_threshold_seconds} s: no worker receives the ends of its restores."
        queue_name  = queue_name
        metric_name = "ApproximateAgeOfOldestMessage"
        threshold   = var.restore_events_oldest_message_age_threshold_seconds
      }
    },
  )

  alarm_arns = concat(
    [for alarm in aws_cloudwatch_metric_alarm.validator : alarm.arn],
    [for alarm in aws_cloudwatch_metric_alarm.queue : alarm.arn],
    [for alarm in aws_cloudwatch_metric_alarm.running_tasks : alarm.arn],
  )
}

resource "aws_cloudwatch_metric_alarm" "validator" {
  for_each = local.metric_alarms

  alarm_name          = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = local.metric_namespace
  metric_name         = each.value.metric_name
  statistic           = each.value.statistic
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.evaluation_periods
  treat_missing_data  = each.value.treat_missing_data

  alarm_actions = [local.alarm_topic_arn]
  ok_actions    = [local.alarm_topic_arn]

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "queue" {
  for_each = local.queue_alarms

  alarm_name          = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = "AWS/SQS"
  metric_name         = each.value.metric_name
  dimensions          = { QueueName = each.value.queue_name }
  statistic           = "Maximum"
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  alarm_actions = [local.alarm_topic_arn]
  ok_actions    = [local.alarm_topic_arn]

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "running_tasks" {
  count = local.create_ecs ? 1 : 0

  alarm_name          = "${var.name}-running-tasks-below-desired"
  alarm_description   = "Fewer worker tasks run than the service wants (crash loop, image pull or capacity problem) for 15 minutes."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  treat_missing_data  = "breaching"

  metric_query {
    id          = "shortfall"
    expression  = "desired - running"
    label       = "Desired minus running tasks"
    return_data = true
  }

  metric_query {
    id = "desired"

    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "DesiredTaskCount"
      period      = 300
      stat        = "Average"
      dimensions = {
        ClusterName = aws_ecs_cluster.this[0].name
        ServiceName = aws_ecs_service.this[0].name
      }
    }
  }

  metric_query {
    id = "running"

    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      period      = 300
      stat        = "Average"
      dimensions = {
        ClusterName = aws_ecs_cluster.this[0].name
        ServiceName = aws_ecs_service.this[0].name
      }
    }
  }

  alarm_actions = [local.alarm_topic_arn]
  ok_actions    = [local.alarm_topic_arn]

  tags = var.tags
}

################################################################################
# Logs Insights saved queries
################################################################################

locals {
  insights_queries = {
    latest_result_per_resource = {
      name  = "${var.name}/latest-result-per-resource"
      query = <<-QUERY
        fields @timestamp, source_resource_arn, status
        | filter ispresent(validation_id) and status != "SKIPPED"
        | stats latest(status) as last_status, latest(finished_at) as last_finished_at,
                latest(restore_duration) as restore_minutes, latest(data_gap_minutes) as data_gap_minutes,
                latest(validation_id) as last_validation_id by source_resource_arn
        | sort last_finished_at desc
      QUERY
    }
    failures = {
      name  = "${var.name}/failures"
      query = <<-QUERY
        fields finished_at, source_resource_arn, status, reason, recovery_point_arn, restore_job_id, validation_id
        | filter status in ["FAILED", "RESTORE_FAILED", "ERROR"]
        | sort finished_at desc
        | limit 200
      QUERY
    }
    slowest_restores = {
      name  = "${var.name}/slowest-restores"
      query = <<-QUERY
        fields finished_at, source_resource_arn, engine, restore_duration, restore_job_id, status
        | filter ispresent(restore_duration)
        | sort restore_duration desc
        | limit 50
      QUERY
    }
  }
}

resource "aws_cloudwatch_query_definition" "this" {
  for_each = var.create_query_definitions ? local.insights_queries : {}

  name            = each.value.name
  log_group_names = [aws_cloudwatch_log_group.records.name]
  query_string    = each.value.query
}

################################################################################
# Dashboard
################################################################################

locals {
  dashboard_widgets = concat(
    [
      {
        type = "text", x = 0, y = 0, width = 24, height = 2
        properties = {
          markdown = "# Backup validation: ${var.name}\nEvery copied or completed recovery point is restored, checked and deleted. Records: `s3://${local.results_bucket_name}/${var.results_prefix}`, log group `${local.log_group_name}`."
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
            [local.metric_namespace, "ValidationPassed", { label = "PASSED", color = "#2ca02c" }],
            [local.metric_namespace, "ValidationFailed", { label = "FAILED", color = "#d62728" }],
            [local.metric_namespace, "RestoreFailed", { label = "RESTORE_FAILED", color = "#ff7f0e" }],
            [local.metric_namespace, "ValidationError", { label = "ERROR", color = "#9467bd" }],
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
            [local.metric_namespace, "RestoreDurationMinutes", { stat = "p50", label = "p50" }],
            [local.metric_namespace, "RestoreDurationMinutes", { stat = "p90", label = "p90" }],
            [local.metric_namespace, "RestoreDurationMinutes", { stat = "Maximum", label = "max" }],
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
            [local.metric_namespace, "DataGapMinutes", { stat = "p90", label = "data gap p90" }],
            [local.metric_namespace, "DataGapMinutes", { stat = "Maximum", label = "data gap max" }],
            [local.metric_namespace, "AgeLatestDbTxMinutes", { stat = "Maximum", label = "age of newest row max" }],
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
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.this.name, { label = "waiting" }],
              ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", aws_sqs_queue.this.name, { label = "in progress" }],
              ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.dlq.name, { label = "dead letters", color = "#d62728" }],
            ],
            [
              for queue_name in aws_sqs_queue.restore_events[*].name :
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
            [local.metric_namespace, "RpoTargetMissed", { label = "RPO target missed" }],
            [local.metric_namespace, "RtoTargetMissed", { label = "RTO target missed" }],
            [local.metric_namespace, "CleanupFailed", { label = "cleanup failed", color = "#d62728" }],
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
    local.create_ecs ? [
      {
        type = "metric", x = 0, y = 28, width = 24, height = 6
        properties = {
          title  = "Worker tasks"
          region = local.region
          view   = "timeSeries"
          period = 300
          stat   = "Average"
          metrics = [
            ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", aws_ecs_cluster.this[0].name, "ServiceName", aws_ecs_service.this[0].name, { label = "running" }],
            ["ECS/ContainerInsights", "DesiredTaskCount", "ClusterName", aws_ecs_cluster.this[0].name, "ServiceName", aws_ecs_service.this[0].name, { label = "desired" }],
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
