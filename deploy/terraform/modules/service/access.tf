################################################################################
# People's policies (outputs only, to attach to the roles of auditors and operators)
################################################################################

data "aws_iam_policy_document" "auditor" {
  # `backup-validator verify-evidence` and `report --evidence`: read records, manifests and the chains' heads.
  statement {
    sid       = "ReadRecordsAndManifests"
    actions   = ["s3:GetObject"]
    resources = ["${var.results_bucket_arn}/${var.results_prefix}*", "${var.results_bucket_arn}/${var.manifest_prefix}*"]
  }

  statement {
    sid       = "ListRecordsAndManifests"
    actions   = ["s3:ListBucket"]
    resources = [var.results_bucket_arn]
  }

  statement {
    sid       = "ReadChainHeads"
    actions   = ["dynamodb:GetItem"]
    resources = [var.ledger_table_arn]
  }

  statement {
    sid       = "DecryptRecordsAndLedger"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = var.evidence_kms_key_arn == null ? [] : [var.evidence_kms_key_arn]

    content {
      sid       = "VerifyManifests"
      actions   = ["kms:Verify"]
      resources = [statement.value]
    }
  }
}

data "aws_iam_policy_document" "operator" {
  # `backup-validator dlq [--redrive]`: peek at the dead letters, read their failure notes, move them back.
  statement {
    sid = "ReadAndRedriveDeadLetters"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:StartMessageMoveTask",
      "sqs:ListMessageMoveTasks",
    ]
    resources = [var.dlq_arn]
  }

  statement {
    sid       = "SendBackToTheWorkQueues"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
    resources = concat([var.queue_arn], var.events_queue_arn == null ? [] : [var.events_queue_arn])
  }

  statement {
    sid       = "ReadFailureNotes"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem"]
    resources = [var.ledger_table_arn]
  }

  statement {
    # Encrypted queues and ledger (with queue_kms_encryption the queues use this key too).
    sid       = "EncryptedQueuesAndLedger"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}
