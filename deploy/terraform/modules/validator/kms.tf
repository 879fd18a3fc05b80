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

################################################################################
# Evidence signing key: signs the daily manifests (docs/evidence.md)
################################################################################

locals {
  create_evidence_signing_key = var.create_evidence_signing_key && var.evidence_kms_key_arn == null
  evidence_kms_key_arn        = local.create_evidence_signing_key ? aws_kms_key.evidence[0].arn : var.evidence_kms_key_arn
}

data "aws_iam_policy_document" "evidence" {
  count = local.create_evidence_signing_key ? 1 : 0

  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; account root administration is the AWS default key policy.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; account root administration is the AWS default key policy.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself.
  statement {
    # Signing and verifying are granted by IAM policies: the worker's kms:Sign, the auditor's kms:Verify.
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "evidence" {
  count = local.create_evidence_signing_key ? 1 : 0

  #checkov:skip=CKV_AWS_7:AWS KMS does not rotate asymmetric keys; a new key would not verify the manifests already signed.
  description              = "${var.name}: signs the daily evidence manifests of the validation records"
  customer_master_key_spec = "ECC_NIST_P256"
  key_usage                = "SIGN_VERIFY"
  enable_key_rotation      = false
  deletion_window_in_days  = var.kms_key_deletion_window_in_days
  policy                   = data.aws_iam_policy_document.evidence[0].json

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.evidence_signing_algorithm == "ECDSA_SHA_256"
      error_message = "The evidence key this module creates (ECC_NIST_P256) signs with ECDSA_SHA_256: set evidence_signing_algorithm to it."
    }
  }
}

resource "aws_kms_alias" "evidence" {
  count = local.create_evidence_signing_key ? 1 : 0

  name          = "alias/${var.name}-evidence"
  target_key_id = aws_kms_key.evidence[0].key_id
}
