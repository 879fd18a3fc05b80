data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  queue_name                = var.name
  restore_events_queue_name = "${var.name}-restore-events"
  dlq_name                  = "${var.name}-dlq"
  # Built rather than read from the resources, so that the queue policies (inline in the queues) and the rules
  # do not depend on each other. Postconditions check them against the real ARNs.
  queue_arn                = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.queue_name}"
  restore_events_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.restore_events_queue_name}"
  dlq_arn                  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
  # Only the restore job and restore testing rules fill the restore events queue: without them, nothing would.
  create_restore_events_queue = var.enable_restore_job_events || var.enable_restore_testing
  # The queues that may dead-letter into the DLQ (its redrive allow policy): built ARNs, as both queues refer to it.
  dlq_source_queue_arns = concat([local.queue_arn], local.create_restore_events_queue ? [local.restore_events_queue_arn] : [])
}

################################################################################
# Work queue, restore events queue and dead-letter queue
#
# The policies are inline (not aws_sqs_queue_policy) so that each queue is one resource: a queue is created
# before EventBridge may deliver to it, and a separate policy resource only adds a second propagation wait.
################################################################################

locals {
  # Each queue admits EventBridge only from the rules that deliver to it; the DLQ takes every rule's dead letters.
  queue_policies = merge(
    {
      work = { arn = local.queue_arn, sid = "OnlyOurEventBridgeRules", rules = local.queue_event_rule_arns["work"] }
      dlq  = { arn = local.dlq_arn, sid = "OnlyOurEventBridgeRulesDeadLetters", rules = values(local.event_rule_arns) }
    },
    local.create_restore_events_queue ? {
      restore_events = {
        arn   = local.restore_events_queue_arn
        sid   = "OnlyOurRestoreRules"
        rules = local.queue_event_rule_arns["restore_events"]
      }
    } : {},
  )
}

data "aws_iam_policy_document" "queue" {
  for_each = local.queue_policies

  statement {
    sid       = each.value.sid
    actions   = ["sqs:SendMessage"]
    resources = [each.value.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = each.value.rules
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue" "dlq" {
  name = local.dlq_name

  message_retention_seconds = var.dlq_message_retention_seconds
  sqs_managed_sse_enabled   = var.queue_kms_encryption ? null : true
  kms_master_key_id         = var.queue_kms_encryption ? var.kms_key_arn : null
  policy                    = data.aws_iam_policy_document.queue["dlq"].json

  redrive_allow_policy = var.dlq_redrive_allow_only_work_queue ? jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = local.dlq_source_queue_arns
  }) : null

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.dlq_message_retention_seconds > var.message_retention_seconds
      error_message = "dlq_message_retention_seconds must be longer than message_retention_seconds: a dead-lettered message keeps its original enqueue time."
    }

    postcondition {
      condition     = self.arn == local.dlq_arn
      error_message = "The DLQ ARN differs from the one its policy was built with."
    }
  }
}

resource "aws_sqs_queue" "this" {
  name = local.queue_name

  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = var.receive_wait_time_seconds
  sqs_managed_sse_enabled    = var.queue_kms_encryption ? null : true
  kms_master_key_id          = var.queue_kms_encryption ? var.kms_key_arn : null
  policy                     = data.aws_iam_policy_document.queue["work"].json

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags

  lifecycle {
    postcondition {
      condition     = self.arn == local.queue_arn
      error_message = "The queue ARN differs from the one its policy was built with."
    }
  }
}

resource "aws_sqs_queue" "restore_events" {
  count = local.create_restore_events_queue ? 1 : 0

  name = local.restore_events_queue_name

  # The worker sets its own visibility (BV_VISIBILITY_SECONDS) on every receive; this default only covers other
  # readers. An event takes milliseconds to handle, so one a reader dropped should come back soon.
  visibility_timeout_seconds = 60
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = var.receive_wait_time_seconds
  sqs_managed_sse_enabled    = var.queue_kms_encryption ? null : true
  kms_master_key_id          = var.queue_kms_encryption ? var.kms_key_arn : null
  policy                     = data.aws_iam_policy_document.queue["restore_events"].json

  # The shared DLQ: one place to look for whatever could not be delivered or processed.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags

  lifecycle {
    postcondition {
      condition     = self.arn == local.restore_events_queue_arn
      error_message = "The restore events queue ARN differs from the one its policy was built with."
    }
  }
}
