################################################################################
# Alarms on the worker's metrics, the queues and the ECS service
################################################################################

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
    # The reconciler's pass (worker/coverage.py): selected sources without a PASSED validation within their SLO.
    # Missing data breaches: no line for a whole period means no reconciler ran (no task, no runner, a failing
    # pass), and silence must not look like coverage.
    coverage_missing = {
      description        = "Selected sources have no PASSED validation within their coverage SLO, or the coverage reconciler reported nothing for ${var.coverage_alarm_period_seconds / 60} minutes. Logs: coverage.missing names the sources."
      metric_name        = "UncoveredSources"
      statistic          = "Maximum"
      comparison         = "GreaterThanThreshold"
      threshold          = 0
      period             = var.coverage_alarm_period_seconds
      evaluation_periods = 1
      treat_missing_data = "breaching"
    }
  }

  # The coverage alarm once more per listed selection, on its Selection series.
  selection_alarms = {
    for name in var.coverage_alarm_selections : "coverage_missing_${name}" => merge(local.metric_alarms.coverage_missing, {
      description = "Sources of selection ${name} have no PASSED validation within their coverage SLO, or the reconciler reported nothing for ${var.coverage_alarm_period_seconds / 60} minutes."
      dimensions  = { Selection = name }
    })
  }

  queue_alarms = merge(
    {
      oldest_message_age = {
        description = "The oldest message of the work queue is older than ${var.oldest_message_age_threshold_seconds} s: the workers fall behind or are stuck."
        queue_name  = var.queue_name
        metric_name = "ApproximateAgeOfOldestMessage"
        threshold   = var.oldest_message_age_threshold_seconds
      }
    },
    # A for expression rather than a conditional, whose two results would have to be the same object type.
    {
      for queue_name in local.restore_events_queue_names : "restore_events_oldest_message_age" => {
        description = "The oldest message of the restore events queue is older than ${var.restore_events_oldest_message_age_threshold_seconds} s: no worker receives the ends of its restores."
        queue_name  = queue_name
        metric_name = "ApproximateAgeOfOldestMessage"
        threshold   = var.restore_events_oldest_message_age_threshold_seconds
      }
    },
  )

  # The event alarms once more per resource type and engine, the worker's second EMF dimension set, for the pairs
  # in alarm_dimensions. Not the no-PASSED alarm: a kind validated less often than its window would always breach.
  dimension_alarms = merge({}, [
    for pair in var.alarm_dimensions : {
      for key, alarm in local.metric_alarms :
      "${key}_${lower(pair.resource_type)}_${lower(pair.engine)}" => merge(alarm, {
        description = "${alarm.description} (ResourceType ${pair.resource_type}, Engine ${pair.engine})"
        dimensions  = { ResourceType = pair.resource_type, Engine = pair.engine }
      })
      if alarm.treat_missing_data == "notBreaching"
    }
  ]...)

  # The fleet-wide alarms (no dimensions) and their per-pair copies in one map: the copies' keys carry a suffix.
  worker_metric_alarms = merge(
    { for key, alarm in local.metric_alarms : key => merge(alarm, { dimensions = null }) },
    local.dimension_alarms,
    local.selection_alarms,
  )

  alarm_arns = concat(
    [for alarm in aws_cloudwatch_metric_alarm.validator : alarm.arn],
    [for alarm in aws_cloudwatch_metric_alarm.queue : alarm.arn],
    [aws_cloudwatch_metric_alarm.dlq_not_empty.arn],
    [for alarm in aws_cloudwatch_metric_alarm.running_tasks : alarm.arn],
  )
}

resource "aws_cloudwatch_metric_alarm" "validator" {
  for_each = local.worker_metric_alarms

  alarm_name          = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = var.metric_namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
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

  lifecycle {
    precondition {
      condition     = each.value.metric_name != "UncoveredSources" || each.value.period >= 2 * var.reconcile_interval_seconds
      error_message = "coverage_alarm_period_seconds must be at least twice reconcile_interval_seconds: the alarm treats a period without a reconciler pass as breaching."
    }
  }
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

# Deployed before as one of the queue alarms: moved, so that an upgrade updates it in place rather than deleting
# and creating an alarm of the same name.
moved {
  from = aws_cloudwatch_metric_alarm.queue["dlq_not_empty"]
  to   = aws_cloudwatch_metric_alarm.dlq_not_empty
}

# The DLQ on visible + in flight: the worker's rescue pass (worker/rescue.py) receives dead letters to judge them,
# which hides them for moments; a count of the visible ones alone would dip to zero then and clear the alarm.
resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${var.name}-dlq-not-empty"
  alarm_description   = "Messages are in the dead-letter queue: events that could not be delivered or processed."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "dead_letters"
    expression  = "visible + in_flight"
    label       = "Messages in the dead-letter queue"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = { visible = "ApproximateNumberOfMessagesVisible", in_flight = "ApproximateNumberOfMessagesNotVisible" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/SQS"
        metric_name = metric_query.value
        dimensions  = { QueueName = var.dlq_name }
        stat        = "Maximum"
        period      = var.alarm_period_seconds
      }
    }
  }

  alarm_actions = [local.alarm_topic_arn]
  ok_actions    = [local.alarm_topic_arn]

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "running_tasks" {
  count = var.ecs_service != null ? 1 : 0

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
        ClusterName = var.ecs_service.cluster_name
        ServiceName = var.ecs_service.service_name
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
        ClusterName = var.ecs_service.cluster_name
        ServiceName = var.ecs_service.service_name
      }
    }
  }

  alarm_actions = [local.alarm_topic_arn]
  ok_actions    = [local.alarm_topic_arn]

  tags = var.tags
}
