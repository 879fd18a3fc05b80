################################################################################
# Restore role: AWS Backup assumes it to run the worker's restore jobs
################################################################################

data "aws_iam_policy_document" "restore_assume" {
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

resource "aws_iam_role" "restore" {
  name                 = "${var.name}-restore"
  description          = "AWS Backup restores recovery points for Backup Validator with this role"
  assume_role_policy   = data.aws_iam_policy_document.restore_assume.json
  permissions_boundary = var.iam_role_permissions_boundary

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "restore" {
  for_each = toset(var.restore_role_policy_arns != null ? var.restore_role_policy_arns : [
    "arn:${local.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
  ])

  role       = aws_iam_role.restore.name
  policy_arn = each.value
}

data "aws_iam_policy_document" "restore_kms" {
  count = length(var.restore_kms_key_arns) > 0 ? 1 : 0

  statement {
    sid = "UseRecoveryPointKeys"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:CreateGrant",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
    ]
    resources = var.restore_kms_key_arns
  }
}

resource "aws_iam_role_policy" "restore_kms" {
  count = length(var.restore_kms_key_arns) > 0 ? 1 : 0

  name   = "recovery-point-keys"
  role   = aws_iam_role.restore.id
  policy = data.aws_iam_policy_document.restore_kms[0].json
}

################################################################################
# Task execution role: ECS pulls the image and writes the container logs with it
################################################################################

locals {
  # account, region, repository of an ECR image; public registries need no IAM permission.
  ecr_image = var.container_image == null ? null : try(
    regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^:@]+)", var.container_image), null
  )
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "task_execution" {
  count = local.create_ecs ? 1 : 0

  name                 = "${var.name}-task-execution"
  description          = "ECS pulls the Backup Validator image and ships its logs with this role"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.iam_role_permissions_boundary

  tags = var.tags
}

data "aws_iam_policy_document" "task_execution" {
  count = local.create_ecs ? 1 : 0

  statement {
    sid       = "ContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.worker[0].arn}:*"]
  }

  dynamic "statement" {
    for_each = local.ecr_image != null ? [1] : []

    content {
      sid       = "EcrLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.ecr_image != null ? [local.ecr_image] : []

    content {
      sid       = "PullWorkerImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
      resources = ["arn:${local.partition}:ecr:${statement.value[1]}:${statement.value[0]}:repository/${statement.value[2]}"]
    }
  }
}

resource "aws_iam_role_policy" "task_execution" {
  count = local.create_ecs ? 1 : 0

  name   = "task-execution"
  role   = aws_iam_role.task_execution[0].id
  policy = data.aws_iam_policy_document.task_execution[0].json
}

################################################################################
# Task role: what the worker itself may do
################################################################################

locals {
  # Recovery points the worker may restore: AWS Backup recovery points and the RDS snapshots AWS Backup makes
  # (and copies) in this account. Copies are named awsbackup:copyjob-..., backups awsbackup:job-....
  recovery_point_arns = [
    "arn:${local.partition}:backup:${local.region}:${local.account_id}:recovery-point:*",
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:snapshot:awsbackup:*",
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster-snapshot:awsbackup:*",
  ]

  # The tags the worker puts on what its restore jobs created (worker/model.py).
  owner_tag          = "backup-validator:managed"
  recovery_point_tag = "backup-validator:recovery-point"

  # Only databases the worker names itself: bv-<short hash>.
  restored_rds_arns = [
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:db:bv-*",
    "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster:bv-*",
  ]

  # Only tables the worker restores itself: bv-<short hash>, and their indexes (Query on an index names the index).
  restored_table_arns = [
    "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/bv-*",
    "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/bv-*/index/*",
  ]
}

resource "aws_iam_role" "task" {
  count = local.create_task_role ? 1 : 0

  name                 = "${var.name}-task"
  description          = "The Backup Validator worker runs with this role"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.iam_role_permissions_boundary

  tags = var.tags
}

data "aws_iam_policy_document" "task" {
  # Restore testing's grants (restore_testing.tf), when it is on.
  source_policy_documents = data.aws_iam_policy_document.restore_testing_task[*].json

  statement {
    # Both queues the worker receives from: the work queue and, with the restore job rule, the restore events queue.
    # SendMessage: hand-overs, refreshes and rescued dead letters go back as fresh copies (docs/fleet.md).
    sid = "ConsumeQueues"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = concat([var.queue_arn], var.events_queue_arn == null ? [] : [var.events_queue_arn])
  }

  statement {
    # Receive/Delete/ChangeMessageVisibility: the rescue pass (dead letters that lost receives to nobody).
    sid = "DeadLetterQueue"
    actions = [
      "sqs:SendMessage",
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = [var.dlq_arn]
  }

  statement {
    sid = "Ledger"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem", # the coverage reconciler's reads, 100 keys a call
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DescribeTable",
    ]
    resources = [var.ledger_table_arn]
  }

  statement {
    sid       = "WriteAndReadRecords"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${var.results_bucket_arn}/${var.results_prefix}*"]
  }

  statement {
    sid       = "WriteAndReadManifests"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${var.results_bucket_arn}/${var.manifest_prefix}*"]
  }

  statement {
    # Not narrowed by s3:prefix: S3 answers GetObject of a missing key with 404 only to a caller that may list the
    # bucket, and the sealer reads a day's manifest to know whether it exists (AccessDenied otherwise). Keys only.
    sid       = "ListRecordsAndManifests"
    actions   = ["s3:ListBucket"]
    resources = [var.results_bucket_arn]
  }

  statement {
    sid       = "RecordsLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [var.records_log_group_arn, "${var.records_log_group_arn}:*"]
  }

  statement {
    sid       = "MetricsInOurNamespace"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }

  statement {
    sid       = "EncryptedRecordsAndLedger"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = var.evidence_kms_key_arn == null ? [] : [var.evidence_kms_key_arn]

    content {
      sid       = "SignManifests"
      actions   = ["kms:Sign"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:SigningAlgorithm"
        values   = [var.evidence_signing_algorithm]
      }
    }
  }

  statement {
    sid = "ReadBackupJobs"
    actions = [
      "backup:DescribeRestoreJob",
      "backup:ListRestoreJobs",
      "backup:ListBackupVaults",
      "backup:ListProtectedResources",
      "backup:DescribeProtectedResource",
      "backup:ListRecoveryPointsByResource",
      "backup:GetRestoreJobMetadata",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ReadRecoveryPoints"
    actions = [
      "backup:DescribeBackupVault",
      "backup:ListRecoveryPointsByBackupVault",
      "backup:DescribeRecoveryPoint",
      "backup:GetRecoveryPointRestoreMetadata",
      "backup:ListTags",
    ]
    resources = concat(
      ["arn:${local.partition}:backup:${local.region}:${local.account_id}:backup-vault:*"],
      local.recovery_point_arns,
    )
  }

  statement {
    sid       = "StartRestores"
    actions   = ["backup:StartRestoreJob"]
    resources = local.recovery_point_arns
  }

  statement {
    sid       = "ReportRestoreValidation"
    actions   = ["backup:PutRestoreValidationResult"]
    resources = ["*"]
  }

  statement {
    sid       = "PassOnlyTheRestoreRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.restore.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["backup.amazonaws.com"]
    }
  }

  statement {
    sid = "DescribeDatabases"
    actions = [
      "rds:DescribeDBInstances",
      "rds:DescribeDBClusters",
      "rds:DescribeDBSubnetGroups",
      "rds:ListTagsForResource",
    ]
    resources = [
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:db:*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:cluster:*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:subgrp:*",
    ]
  }

  statement {
    # The worker tags what its restore job created before it changes it: a bv- name alone is not enough.
    sid = "ManageOnlyOurTaggedDatabases"
    actions = [
      "rds:ModifyDBInstance",
      "rds:DeleteDBInstance",
      "rds:ModifyDBCluster",
      "rds:DeleteDBCluster",
    ]
    resources = local.restored_rds_arns

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.owner_tag}"
      values   = ["true"]
    }
  }

  statement {
    # The first tag has no resource tag to check against; only our two tag keys may be written.
    sid       = "TagRestoredDatabases"
    actions   = ["rds:AddTagsToResource"]
    resources = local.restored_rds_arns

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = [local.owner_tag, local.recovery_point_tag]
    }
  }

  statement {
    # Aurora: the instance in the restored cluster is created with our tag.
    sid     = "CreateInstanceInRestoredCluster"
    actions = ["rds:CreateDBInstance"]
    resources = concat(local.restored_rds_arns, [
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:subgrp:${local.restore_subnet_group_name == null ? "none" : local.restore_subnet_group_name}",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:pg:default.aurora*",
      "arn:${local.partition}:rds:${local.region}:${local.account_id}:og:*",
    ])

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.owner_tag}"
      values   = ["true"]
    }
  }

  statement {
    # Checks read restored tables; no item writes: a check never changes the copy it judges.
    sid = "ReadRestoredTables"
    actions = [
      "dynamodb:DescribeTable",
      "dynamodb:Scan",
      "dynamodb:Query",
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:PartiQLSelect",
    ]
    resources = local.restored_table_arns
  }

  statement {
    sid       = "DeleteOnlyRestoredTables"
    actions   = ["dynamodb:DeleteTable"]
    resources = [local.restored_table_arns[0]]
  }

  statement {
    # The sweeper lists tables to find late bv- restores; ListTables supports no resource-level permissions.
    sid       = "ListTablesForTheSweeper"
    actions   = ["dynamodb:ListTables"]
    resources = ["*"]
  }

  statement {
    sid       = "PreflightNetwork"
    actions   = ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = local.enable_adot ? [1] : []

    content {
      sid     = "RemoteWriteMetrics"
      actions = ["aps:RemoteWrite"]
      resources = [
        local.create_amp_workspace
        ? aws_prometheus_workspace.this[0].arn
        : "arn:${local.partition}:aps:${local.region}:${local.account_id}:workspace/${var.amp_workspace_id}"
      ]
    }
  }

  dynamic "statement" {
    # Fleets: a task protects itself from scale-in while it holds restores (docs/fleet.md).
    for_each = local.create_ecs ? [1] : []

    content {
      sid       = "ProtectOwnTask"
      actions   = ["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"]
      resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${var.name}/*"]
    }
  }

  statement {
    # Fleets: the RDS quota headroom; DescribeAccountAttributes supports no resource-level permissions.
    sid       = "ReadRdsQuotas"
    actions   = ["rds:DescribeAccountAttributes"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = local.create_ecs && var.enable_execute_command ? [1] : []

    content {
      sid = "EcsExec"
      actions = [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  count = local.create_task_role ? 1 : 0

  name   = "backup-validator-worker"
  role   = aws_iam_role.task[0].id
  policy = data.aws_iam_policy_document.task.json
}
