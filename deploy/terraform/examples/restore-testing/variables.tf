variable "region" {
  description = "Region of the central account."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "backup-validator"
}

variable "vpc_id" {
  description = "VPC of the worker and of the restored databases (the worker's and the restore tests')."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two Availability Zones), with a NAT gateway or VPC endpoints."
  type        = list(string)
}

variable "container_image" {
  description = "Worker image, e.g. <account>.dkr.ecr.<region>.amazonaws.com/backup-validator:<version>."
  type        = string
}

variable "plan_name" {
  description = "Name of the restore testing plan: what the policy's `restore_testing_plan` names."
  type        = string
  default     = "nightly_orders"
}

variable "coverage_alarm_selections" {
  description = "Policy selections that get a coverage alarm of their own."
  type        = list(string)
  default     = ["orders"]
}

variable "alarm_email_addresses" {
  description = "Who gets the alarms."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = { Component = "backup-validator" }
}
