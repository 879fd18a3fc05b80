data "aws_region" "current" {}

locals {
  region         = data.aws_region.current.name
  log_group_name = coalesce(var.log_group_name, "/${var.name}/validations")

  restore_events_queue_names = var.events_queue_name == null ? [] : [var.events_queue_name]
}

################################################################################
# Records log group: one JSON line per validation, with its Embedded Metric Format metrics
################################################################################

resource "aws_cloudwatch_log_group" "records" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

################################################################################
# Alarm topic
################################################################################

resource "aws_sns_topic" "this" {
  count = var.alarm_topic_arn == null ? 1 : 0

  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = var.alarm_topic_arn == null ? toset(var.alarm_email_addresses) : toset([])

  topic_arn = aws_sns_topic.this[0].arn
  protocol  = "email"
  endpoint  = each.value
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

