################################################################################
# Glue table over the records (JSON, partition projection on dt) and the Athena workgroup
################################################################################

locals {
  results_bucket_name   = coalesce(var.results_bucket_name, "${var.name}-results-${local.account_id}-${local.region}")
  athena_results_path   = "athena-results/"
  glue_database_name    = coalesce(var.glue_database_name, replace(var.name, "-", "_"))
  athena_workgroup_name = var.name
  records_location      = "s3://${local.results_bucket_name}/${var.results_prefix}"
  athena_table          = "\"${local.glue_database_name}\".\"${var.glue_table_name}\""

  # The summary record (docs/record.md). Timestamps are ISO-8601 UTC strings: use from_iso8601_timestamp().
  record_columns = [
    { name = "validation_id", type = "string", comment = "Unique id of this validation" },
    { name = "status", type = "string", comment = "PASSED | FAILED | RESTORE_FAILED | ERROR | SKIPPED" },
    { name = "reason", type = "string", comment = "Why the status is not PASSED when no single check says it" },
    { name = "recovery_point_arn", type = "string", comment = "Recovery point that was restored" },
    { name = "restored_instance_id", type = "string", comment = "Resource the restore created" },
    { name = "restore_job_id", type = "string", comment = "AWS Backup restore job id" },
    { name = "restore_start_time", type = "string", comment = "ISO-8601 UTC" },
    { name = "restore_end_time", type = "string", comment = "ISO-8601 UTC" },
    { name = "restore_duration", type = "double", comment = "Minutes from restore job start to completion" },
    { name = "age_latest_db_tx", type = "double", comment = "Minutes between the newest row and the check" },
    { name = "data_gap_minutes", type = "double", comment = "Recovery point creation minus newest row: the real RPO" },
    { name = "rto_minutes", type = "double", comment = "Measured recovery time" },
    { name = "rpo_target_met", type = "boolean", comment = "Data gap within the selection's RPO target" },
    { name = "rto_target_met", type = "boolean", comment = "Recovery time within the selection's RTO target" },
    { name = "rpo_target_minutes", type = "double", comment = "The selection's RPO target" },
    { name = "rto_target_minutes", type = "double", comment = "The selection's RTO target" },
    {
      name    = "checks"
      type    = "array<struct<name:string,kind:string,status:string,passed:boolean,observed:string,expectation:string,message:string,duration_seconds:double,read_units:double>>"
      comment = "Data checks run on the restored database"
    },
    { name = "source_resource_arn", type = "string", comment = "Protected resource the backup was taken of" },
    { name = "resource_type", type = "string", comment = "AWS Backup resource type (RDS, Aurora...)" },
    { name = "engine", type = "string", comment = "Database engine" },
    { name = "account_id", type = "string", comment = "Source account" },
    { name = "region", type = "string", comment = "Region of the recovery point" },
    { name = "backup_vault_name", type = "string", comment = "Vault holding the recovery point" },
    { name = "recovery_point_created_at", type = "string", comment = "ISO-8601 UTC" },
    { name = "cleanup_status", type = "string", comment = "Outcome of deleting the restored resource" },
    { name = "worker_version", type = "string", comment = "Worker version that produced the record" },
    { name = "selection", type = "string", comment = "Policy selection that chose this recovery point" },
    { name = "finished_at", type = "string", comment = "ISO-8601 UTC end of the validation" },
    { name = "chain_seq", type = "int", comment = "Position in the source's hash chain (1, 2, ...)" },
    { name = "previous_digest", type = "string", comment = "record_digest of the source's previous record" },
    { name = "record_digest", type = "string", comment = "sha256:<hex> of this record (tamper evidence)" },
    { name = "origin", type = "string", comment = "Who started the restore: the worker, or an AWS Backup restore testing plan" },
    { name = "restore_testing_plan_arn", type = "string", comment = "Restore testing plan that started the restore, if one did" },
  ]

  # The SQL lives in queries/<key>.sql, so that other engines (the report command, the tests) run the same text.
  # Placeholders: ${table} (the quoted database.table), ${lookback_days}, ${stale_after_days}.
  query_variables = {
    table            = local.athena_table
    lookback_days    = var.athena_lookback_days
    stale_after_days = var.stale_after_days
  }

  named_query_definitions = {
    latest_result_per_resource = {
      name        = "${var.name}: latest result per source resource"
      description = "The most recent validation (not SKIPPED) of every source resource seen in the lookback window."
    }
    failures_last_7_days = {
      name        = "${var.name}: failures in the last 7 days"
      description = "Validations that FAILED, could not restore or ended in ERROR in the last 7 days, with their failed checks."
    }
    rto_rpo_percentiles = {
      name        = "${var.name}: RTO and RPO percentiles per resource"
      description = "Restore duration (RTO) and data gap (RPO) percentiles in minutes per source resource over the lookback window."
    }
    stale_resources = {
      name        = "${var.name}: resources without a PASSED validation in ${var.stale_after_days} days"
      description = "Source resources seen in the lookback window whose last PASSED validation is older than ${var.stale_after_days} days (or that never passed). Resources never validated at all are the reconciler's coverage metric."
    }
  }

  named_queries = {
    for key, query in local.named_query_definitions :
    key => merge(query, { query = templatefile("${path.module}/queries/${key}.sql", local.query_variables) })
  }
}

resource "aws_glue_catalog_database" "this" {
  count = var.create_analytics ? 1 : 0

  name        = local.glue_database_name
  description = "Backup Validator: validation records"

  tags = var.tags
}

resource "aws_glue_catalog_table" "this" {
  count = var.create_analytics ? 1 : 0

  name          = var.glue_table_name
  database_name = aws_glue_catalog_database.this[0].name
  description   = "One row per validation (JSON records written by the worker to ${local.records_location})"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    "EXTERNAL"                    = "TRUE"
    "classification"              = "json"
    "projection.enabled"          = "true"
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.athena_projection_start_date},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = "${local.records_location}dt=$${dt}/"
  }

  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "UTC date of the validation (YYYY-MM-DD)"
  }

  storage_descriptor {
    location      = local.records_location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      name                  = "json"
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"

      parameters = {
        "ignore.malformed.json" = "true"
        "case.insensitive"      = "true"
      }
    }

    dynamic "columns" {
      for_each = local.record_columns

      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}

resource "aws_athena_workgroup" "this" {
  count = var.create_analytics ? 1 : 0

  name          = local.athena_workgroup_name
  description   = "Backup Validator: queries over the validation records"
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff_per_query

    result_configuration {
      output_location = "s3://${aws_s3_bucket.this.bucket}/${local.athena_results_path}"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = var.tags
}

resource "aws_athena_named_query" "this" {
  for_each = var.create_analytics && var.create_athena_named_queries ? local.named_queries : {}

  name        = each.value.name
  description = each.value.description
  database    = aws_glue_catalog_database.this[0].name
  workgroup   = aws_athena_workgroup.this[0].id
  query       = each.value.query
}
