################################################################################
# Ledger
################################################################################

output "ledger_table" {
  description = "Name of the DynamoDB ledger table (BV_LEDGER_TABLE)."
  value       = aws_dynamodb_table.this.name
}

output "ledger_table_arn" {
  description = "ARN of the DynamoDB ledger table."
  value       = aws_dynamodb_table.this.arn
}

################################################################################
# Records
################################################################################

output "results_bucket" {
  description = "Name of the S3 results bucket (BV_RESULTS_BUCKET)."
  value       = aws_s3_bucket.this.bucket
}

output "results_bucket_arn" {
  description = "ARN of the S3 results bucket."
  value       = aws_s3_bucket.this.arn
}

output "results_prefix" {
  description = "Key prefix of the records (BV_RESULTS_PREFIX)."
  value       = var.results_prefix
}

output "results_object_lock" {
  description = "Default Object Lock retention of the records (`mode`, `days`); null when the bucket has no Object Lock."
  value       = var.results_object_lock
}

################################################################################
# Analytics
################################################################################

output "glue_database_name" {
  description = "Glue database of the records table."
  value       = try(aws_glue_catalog_database.this[0].name, null)
}

output "glue_table_name" {
  description = "Glue table over the records."
  value       = try(aws_glue_catalog_table.this[0].name, null)
}

output "athena_workgroup_name" {
  description = "Athena workgroup to query the records in."
  value       = try(aws_athena_workgroup.this[0].name, null)
}

output "athena_named_query_ids" {
  description = "IDs of the Athena named queries by key (the file name of their SQL under `queries/`)."
  value       = { for key, query in aws_athena_named_query.this : key => query.id }
}

output "named_query_sql" {
  description = "The SQL of every named query by key, as rendered from `queries/<key>.sql` for this deployment (also when the Athena resources are off)."
  value       = { for key, query in local.named_queries : key => query.query }
}
