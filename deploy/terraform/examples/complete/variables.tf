variable "region" {
  description = "Region of both accounts (RDS copies cannot change account and region in one step)."
  type        = string
  default     = "eu-west-1"
}

variable "central_account_role_arn" {
  description = "Role Terraform assumes in the central (validation) account; null uses the ambient credentials."
  type        = string
  default     = null
}

variable "source_account_role_arn" {
  description = "Role Terraform assumes in the production (source) account; null uses the ambient credentials."
  type        = string
  default     = null
}

variable "name" {
  description = "Name prefix in both accounts."
  type        = string
  default     = "backup-validator"
}

variable "vpc_id" {
  description = "VPC of the central account for the worker and the restored databases."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two Availability Zones) of the central VPC, with a NAT gateway or VPC endpoints."
  type        = list(string)
}

variable "container_image" {
  description = "Worker image, e.g. <account>.dkr.ecr.<region>.amazonaws.com/backup-validator:<version>."
  type        = string
}

variable "alarm_email_addresses" {
  description = "Who gets the alarms."
  type        = list(string)
  default     = []
}

variable "prometheus_security_group_ids" {
  description = "Security groups of Prometheus servers that scrape the workers (found through Cloud Map DNS)."
  type        = list(string)
  default     = []
}

variable "source_database_kms_key_arns" {
  description = "KMS keys of the source databases (customer managed, shared with the central account) that restores of their copies need."
  type        = list(string)
  default     = []
}

variable "selection_tags" {
  description = "Tags selecting the source account's resources to back up, copy and validate."
  type = list(object({
    key   = string
    value = string
  }))
  default = [{ key = "backup-validator", value = "enabled" }]
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default = {
    Project = "backup-validator"
  }
}
