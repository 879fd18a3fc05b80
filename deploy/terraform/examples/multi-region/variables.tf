variable "primary" {
  description = "The first region's deployment: its region, a name of its own (IAM names are global), the central VPC and private subnets there, the worker image (from that region's registry) and the source databases' KMS keys there."
  type = object({
    region                       = string
    name                         = string
    vpc_id                       = string
    private_subnet_ids           = list(string)
    container_image              = string
    source_database_kms_key_arns = optional(list(string), [])
  })
}

variable "secondary" {
  description = "The second region's deployment (same fields as `primary`)."
  type = object({
    region                       = string
    name                         = string
    vpc_id                       = string
    private_subnet_ids           = list(string)
    container_image              = string
    source_database_kms_key_arns = optional(list(string), [])
  })

  validation {
    condition     = var.secondary.region != var.primary.region && var.secondary.name != var.primary.name
    error_message = "The secondary deployment needs a region and a name of its own."
  }
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

variable "alarm_email_addresses" {
  description = "Who gets the alarms of both regions."
  type        = list(string)
  default     = []
}

variable "selection_tags" {
  description = "Tags selecting the source account's resources to back up, copy and validate (in both regions)."
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
