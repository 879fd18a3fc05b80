################################################################################
# Restore testing role: AWS Backup restores with it for the restore testing selections (docs/modes.md). Not the
# worker's restore role: the restore job rule admits that role's events only, so the two routes stay apart.
################################################################################

resource "aws_iam_role" "restore_testing" {
  count = var.enable_restore_testing ? 1 : 0

  name                 = "${var.name}-restore-testing"
  description          = "AWS Backup restores recovery points for its restore testing plans with this role"
  assume_role_policy   = data.aws_iam_policy_document.restore_assume.json
  permissions_boundary = var.iam_role_permissions_boundary

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "restore_testing" {
  for_each = toset(var.enable_restore_testing ? (var.restore_role_policy_arns != null ? var.restore_role_policy_arns : [
    "arn:${local.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
  ]) : [])

  role       = aws_iam_role.restore_testing[0].name
  policy_arn = each.value
}

resource "aws_iam_role_policy" "restore_testing_kms" {
  count = var.enable_restore_testing && length(var.restore_kms_key_arns) > 0 ? 1 : 0

  name   = "recovery-point-keys"
  role   = aws_iam_role.restore_testing[0].id
  policy = data.aws_iam_policy_document.restore_kms[0].json
}

################################################################################
# The worker's grants for restore testing jobs (merged into its task policy, iam.tf). The ownership rule
# (docs/modes.md): the worker may modify what AWS Backup restored (reset the master password; for Aurora, add an
# instance) and delete only what it added itself, never AWS's resource.
################################################################################

locals {
  # What AWS Backup's restore testing jobs restore: awsbackup-restore-test-<id> (docs/modes.md). AWS Backup tags
  # it `awsbackup-restore-test` and deletes it itself once the verdict is in or the validation window is over.
  restore_test_db_arn      = "arn:${local.partition}:rds:${local.region}:${local.account_id}:db:awsbackup-restore-test-*"
  restore_test_cluster_arn = "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster:awsbackup-restore-test-*"
  restore_test_tag         = "awsbackup-restore-test"
}

data "aws_iam_policy_document" "restore_testing_task" {
  count = var.enable_restore_testing ? 1 : 0

  statement {
    # AWS's resource carries no tag of ours (the worker never tags it): modify on the name alone, never delete.
    sid       = "ModifyRestoreTestDatabases"
    actions   = ["rds:ModifyDBInstance", "rds:ModifyDBCluster"]
    resources = [local.restore_test_db_arn, local.restore_test_cluster_arn]
  }

  statement {
    # Aurora: the instance the worker adds to a restored cluster, created with our tag. Its subnet group is the
    # cluster's, from the plan's restore metadata, so any.
    sid     = "CreateInstanceInRestoreTestCluster"
    actions = ["rds:CreateDBInstance"]
    resources = [
      local.restore_test_db_arn,
      local.restore_test_cluster_arn,
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:subgrp:*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:pg:default.aurora*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:og:*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.owner_tag}"
      values   = ["true"]
    }
  }

  statement {
    # Creating an instance with tags needs AddTagsToResource; only our two keys, only with our tag's value.
    sid       = "TagOwnInstanceInRestoreTestCluster"
    actions   = ["rds:AddTagsToResource"]
    resources = [local.restore_test_db_arn]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = [local.owner_tag, local.recovery_point_tag]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.owner_tag}"
      values   = ["true"]
    }
  }

  statement {
    # Only the instance the worker added: our tag, and not AWS Backup's restore test tag. So even an instance of
    # AWS's that somehow got our tag is never deleted (AWS Backup deletes what it restored).
    sid       = "DeleteOwnInstanceInRestoreTestCluster"
    actions   = ["rds:DeleteDBInstance"]
    resources = [local.restore_test_db_arn]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.owner_tag}"
      values   = ["true"]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/${local.restore_test_tag}"
      values   = ["true"]
    }
  }

  statement {
    # The sweep for restore testing jobs whose events were lost; ListRestoreTestingPlans has no resource type.
    sid       = "ListRestoreTestingPlans"
    actions   = ["backup:ListRestoreTestingPlans"]
    resources = ["*"]
  }
}
