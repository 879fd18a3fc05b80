output "restore_testing_plan_arns" {
  description = "The restore testing plans by name."
  value       = module.validator.restore_testing_plan_arns
}

output "restore_testing_role_arn" {
  description = "Role AWS Backup restores with for the plan's selections."
  value       = module.validator.restore_testing_role_arn
}

output "events_queue_url" {
  description = "Queue of restore events: the worker's own restores and the restore testing jobs' COMPLETED events."
  value       = module.validator.events_queue_url
}

output "alarm_names" {
  description = "The alarms, among them coverage_missing and coverage_missing_<selection>."
  value       = module.validator.alarm_names
}
