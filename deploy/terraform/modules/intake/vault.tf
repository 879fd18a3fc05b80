################################################################################
# Central backup vault: the source accounts copy their recovery points into it
################################################################################

locals {
  backup_vault_name = coalesce(var.backup_vault_name, "${var.name}-central")
  has_sources       = length(var.source_account_ids) > 0 || var.source_organization_id != null
}

resource "aws_backup_vault" "this" {
  count = var.create_backup_vault ? 1 : 0

  name          = local.backup_vault_name
  kms_key_arn   = coalesce(var.backup_vault_kms_key_arn, var.kms_key_arn)
  force_destroy = var.backup_vault_force_destroy

  tags = var.tags
}

data "aws_iam_policy_document" "vault" {
  count = var.create_backup_vault && local.has_sources ? 1 : 0

  dynamic "statement" {
    for_each = length(var.source_account_ids) > 0 ? [1] : []

    content {
      sid       = "CopyIntoFromSourceAccounts"
      actions   = ["backup:CopyIntoBackupVault"]
      resources = [aws_backup_vault.this[0].arn]

      principals {
        type        = "AWS"
        identifiers = [for id in var.source_account_ids : "arn:${local.partition}:iam::${id}:root"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.source_organization_id != null ? [1] : []

    content {
      sid       = "CopyIntoFromOrganization"
      actions   = ["backup:CopyIntoBackupVault"]
      resources = [aws_backup_vault.this[0].arn]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [var.source_organization_id]
      }
    }
  }
}

resource "aws_backup_vault_policy" "this" {
  count = var.create_backup_vault && local.has_sources ? 1 : 0

  backup_vault_name = aws_backup_vault.this[0].name
  policy            = data.aws_iam_policy_document.vault[0].json
}

resource "aws_backup_vault_lock_configuration" "this" {
  count = var.create_backup_vault && var.backup_vault_lock != null ? 1 : 0

  backup_vault_name   = aws_backup_vault.this[0].name
  min_retention_days  = var.backup_vault_lock.min_retention_days
  max_retention_days  = var.backup_vault_lock.max_retention_days
  changeable_for_days = var.backup_vault_lock.changeable_for_days
}
