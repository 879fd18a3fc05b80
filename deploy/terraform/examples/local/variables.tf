variable "endpoint" {
  description = "URL of the AWS emulator (moto server) every service is pointed at, e.g. http://127.0.0.1:5000 or http://moto:5000."
  type        = string
  default     = "http://127.0.0.1:5000"

  validation {
    condition     = can(regex("^https?://[^/]+/?$", var.endpoint))
    error_message = "endpoint must be a http(s)://host:port URL."
  }
}

variable "region" {
  description = "Region of the emulated deployment."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix of the local deployment."
  type        = string
  default     = "backup-validator"
}

variable "copy_destination_vault_arns" {
  description = "Vaults whose incoming copies are validated; empty sends every COMPLETED copy job to the queue (what a local emulator emits)."
  type        = list(string)
  default     = []
}
