data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  vault_name = coalesce(var.vault_name, var.name)

  # The copy pattern of the central account's rule (modules/intake/event_patterns: one file for both).
  copy_job_pattern = jsondecode(file("${path.module}/../intake/event_patterns/copy_job.json"))

  # arn:aws:backup:<region>:<account>:backup-vault:<name>
  central_account_id = split(":", var.destination_vault_arn)[4]
  central_region     = split(":", var.destination_vault_arn)[3]
  central_event_bus  = "arn:${local.partition}:events:${local.central_region}:${local.central_account_id}:event-bus/default"

  kms_key_arn     = var.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  backup_role_arn = var.backup_role_arn != null ? var.backup_role_arn : aws_iam_role.backup[0].arn
}

################################################################################
# KMS key of the vault, shared with the central account
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
    sid = "CentralAccountCopies"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:CreateGrant",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.central_account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = var.create_kms_key ? 1 : 0

  description             = "${var.name}: backup vault, shared with the central validation account"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/${var.name}-backup"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# Vault, plan (schedule, lifecycle, copy to the central vault), selection by tag
################################################################################

resource "aws_backup_vault" "this" {
  name          = local.vault_name
  kms_key_arn   = local.kms_key_arn
  force_destroy = var.vault_force_destroy

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.create_kms_key || var.kms_key_arn != null
      error_message = "Set kms_key_arn when create_kms_key is false."
    }
  }
}

resource "aws_backup_plan" "this" {
  name = var.name

  rule {
    rule_name                    = "${var.name}-scheduled"
    target_vault_name            = aws_backup_vault.this.name
    schedule                     = var.schedule
    schedule_expression_timezone = var.schedule_timezone
    start_window                 = var.start_window_minutes
    completion_window            = var.completion_window_minutes

    lifecycle {
      delete_after       = var.delete_after_days
      cold_storage_after = var.cold_storage_after_days
    }

    copy_action {
      destination_vault_arn = var.destination_vault_arn

      lifecycle {
        delete_after = var.copy_delete_after_days
      }
    }

    recovery_point_tags = merge(var.tags, { "backup-validator:plan" = var.name })
  }

  tags = var.tags
}

resource "aws_backup_selection" "this" {
  count = length(var.selection_tags) > 0 ? 1 : 0

  name         = var.name
  plan_id      = aws_backup_plan.this.id
  iam_role_arn = local.backup_role_arn

  dynamic "selection_tag" {
    for_each = var.selection_tags

    content {
      type  = "STRINGEQUALS"
      key   = selection_tag.value.key
      value = selection_tag.value.value
    }
  }
}

################################################################################
# Role AWS Backup runs the plan with
################################################################################

data "aws_iam_policy_document" "backup_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "backup" {
  count = var.backup_role_arn == null ? 1 : 0

  name               = "${var.name}-backup"
  description        = "AWS Backup runs the ${var.name} plan with this role"
  assume_role_policy = data.aws_iam_policy_document.backup_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "backup" {
  for_each = var.backup_role_arn == null ? toset([
    "AWSBackupServiceRolePolicyForBackup",
    "AWSBackupServiceRolePolicyForRestores",
  ]) : toset([])

  role       = aws_iam_role.backup[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/${each.value}"
}

################################################################################
# Forward copy job events to the central account's default bus
################################################################################

resource "aws_cloudwatch_event_rule" "forward_copy_events" {
  count = var.forward_copy_events ? 1 : 0

  name        = "${var.name}-forward-copy-events"
  description = "Copies into the central vault: forward to the central account, where the validator picks them up"
  # The central account's copy pattern, narrowed to the central vault.
  event_pattern = jsonencode(merge(local.copy_job_pattern, {
    detail = merge(local.copy_job_pattern.detail, { destinationBackupVaultArn = [var.destination_vault_arn] })
  }))

  tags = var.tags
}

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]

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

resource "aws_iam_role" "forward_copy_events" {
  count = var.forward_copy_events ? 1 : 0

  name               = "${var.name}-forward-copy-events"
  description        = "EventBridge puts copy job events on the central account's bus with this role"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "forward_copy_events" {
  statement {
    actions   = ["events:PutEvents"]
    resources = [local.central_event_bus]
  }
}

resource "aws_iam_role_policy" "forward_copy_events" {
  count = var.forward_copy_events ? 1 : 0

  name   = "put-events-on-central-bus"
  role   = aws_iam_role.forward_copy_events[0].id
  policy = data.aws_iam_policy_document.forward_copy_events.json
}

resource "aws_cloudwatch_event_target" "forward_copy_events" {
  count = var.forward_copy_events ? 1 : 0

  rule      = aws_cloudwatch_event_rule.forward_copy_events[0].name
  target_id = "central-event-bus"
  arn       = local.central_event_bus
  role_arn  = aws_iam_role.forward_copy_events[0].arn
}
