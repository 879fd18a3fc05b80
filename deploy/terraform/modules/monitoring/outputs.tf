output "log_group_name" {
  description = "Log group of the validation records (BV_LOG_GROUP)."
  value       = aws_cloudwatch_log_group.records.name
}

output "log_group_arn" {
  description = "ARN of the records log group."
  value       = aws_cloudwatch_log_group.records.arn
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = local.alarm_topic_arn
}

output "alarm_names" {
  description = "CloudWatch alarm names by key (per resource type alarms: `<alarm>_<resource type>_<engine>`, lowercase)."
  value = merge(
    { for key, alarm in aws_cloudwatch_metric_alarm.validator : key => alarm.alarm_name },
    { for key, alarm in aws_cloudwatch_metric_alarm.queue : key => alarm.alarm_name },
    { dlq_not_empty = aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name },
    { for alarm in aws_cloudwatch_metric_alarm.running_tasks : "running_tasks" => alarm.alarm_name },
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}
