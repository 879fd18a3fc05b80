data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
  region     = data.aws_region.current.name

  # The metric namespace of the worker's Embedded Metric Format records (worker/emf.py: NAMESPACE).
  metric_namespace = "BackupValidator"

  kms_key_arn = var.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  queue_name                = var.name
  restore_events_queue_name = "${var.name}-restore-events"
  dlq_name                  = "${var.name}-dlq"
  # Built rather than read from the resources, so that the queue policies (inline in the queues) and the rules
  # do not depend on each other. Postconditions check them against the real ARNs.
  queue_arn                = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.queue_name}"
  restore_events_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.restore_events_queue_name}"
  dlq_arn                  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
  # Only the restore job rule fills the restore events queue: without it, there is nothing to put there.
  create_restore_events_queue = var.enable_restore_job_events
  # The queues that may dead-letter into the DLQ (its redrive allow policy): built ARNs, as both queues refer to it.
  dlq_source_queue_arns = concat([local.queue_arn], local.create_restore_events_queue ? [local.restore_events_queue_arn] : [])

  ledger_table_name   = coalesce(var.ledger_table_name, "${var.name}-ledger")
  results_bucket_name = coalesce(var.results_bucket_name, "${var.name}-results-${local.account_id}-${local.region}")
  athena_results_path = "athena-results/"

  log_group_name        = coalesce(var.log_group_name, "/${var.name}/validations")
  worker_log_group_name = "/ecs/${var.name}"

  backup_vault_name = coalesce(var.backup_vault_name, "${var.name}-central")

  create_ecs             = var.create_ecs
  create_task_role       = var.create_ecs || var.create_task_role
  create_autoscaling     = var.create_ecs && var.create_autoscaling
  create_restore_network = var.create_restore_network
  enable_adot            = var.create_ecs && var.enable_adot_collector
  create_amp_workspace   = local.enable_adot && var.amp_workspace_id == null

  has_sources = length(var.source_account_ids) > 0 || var.source_organization_id != null
}

################################################################################
# KMS key
################################################################################

data "aws_iam_policy_document" "kms" {
  count = var.create_kms_key ? 1 : 0

  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; account root administration is the AWS default key policy.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; account root administration is the AWS default key policy.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogs"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.${local.dns_suffix}"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.worker_log_group_name}",
      ]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = var.queue_kms_encryption ? [1] : []

    content {
      sid       = "EventBridgeToEncryptedQueue"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  count = var.create_kms_key ? 1 : 0

  description             = "${var.name}: backup validation ledger, records, logs, alarms and central vault"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}
