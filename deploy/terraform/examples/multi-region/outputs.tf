output "central_vault_arns" {
  description = "Central backup vault of each region (region -> ARN)."
  value = {
    (var.primary.region)   = module.validator_primary.backup_vault_arn
    (var.secondary.region) = module.validator_secondary.backup_vault_arn
  }
}

output "queue_urls" {
  description = "Work queue of each region's worker (region -> URL)."
  value = {
    (var.primary.region)   = module.validator_primary.queue_url
    (var.secondary.region) = module.validator_secondary.queue_url
  }
}

output "results_buckets" {
  description = "Bucket of each region's validation records (region -> name): records stay in their region."
  value = {
    (var.primary.region)   = module.validator_primary.results_bucket
    (var.secondary.region) = module.validator_secondary.results_bucket
  }
}

output "source_vault_arns" {
  description = "Backup vault of the production account in each region (region -> ARN)."
  value = {
    (var.primary.region)   = module.source_primary.vault_arn
    (var.secondary.region) = module.source_secondary.vault_arn
  }
}
