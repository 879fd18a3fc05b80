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
  restore_test_table_arns = [
    "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/awsbackup-restore-test-*",
    "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/awsbackup-restore-test-*/index/*",
  ]
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
    # Aurora: the instance the worker adds to a restored cluster is one of ours (bv-<hash>, our tag: tagging and
    # deleting it are the bv- grants in iam.tf); creating it names AWS's cluster. Its subnet group is the
    # cluster's, from the plan's restore metadata, so any.
    sid     = "CreateInstanceInRestoreTestCluster"
    actions = ["rds:CreateDBInstance"]
    resources = [
      local.restored_rds_arns[0],
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
    # The sweep for restore testing jobs whose events were lost; ListRestoreTestingPlans has no resource type.
    sid       = "ListRestoreTestingPlans"
    actions   = ["backup:ListRestoreTestingPlans"]
    resources = ["*"]
  }

  statement {
    # Each selection's validation window: the deadline of the verdict.
    sid       = "ListRestoreTestingSelections"
    actions   = ["backup:ListRestoreTestingSelections"]
    resources = ["arn:${local.partition}:backup:${local.region}:${local.account_id}:restore-testing-plan:*"]
  }

  statement {
    # DynamoDB: the checks read the table a restore test restored, with the worker's own role; nothing else.
    sid = "ReadRestoreTestTables"
    actions = [
      "dynamodb:DescribeTable",
      "dynamodb:Scan",
      "dynamodb:Query",
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:PartiQLSelect",
    ]
    resources = local.restore_test_table_arns
  }
}
