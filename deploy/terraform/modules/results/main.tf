data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  account_id        = data.aws_caller_identity.current.account_id
  region            = data.aws_region.current.name
  ledger_table_name = coalesce(var.ledger_table_name, "${var.name}-ledger")
}

################################################################################
# Ledger: one item per recovery point (claim, lease, restore job, created resource)
################################################################################

resource "aws_dynamodb_table" "this" {
  name         = local.ledger_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  deletion_protection_enabled = var.ledger_deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.kms_key_arn != null
      error_message = "kms_key_arn is required (in the validator module: set kms_key_arn when create_kms_key is false)."
    }

    precondition {
      # The worker may delete bv- tables (its DynamoDB restores); the ledger must never be one of them.
      condition     = !startswith(local.ledger_table_name, "bv-")
      error_message = "The ledger table name must not start with bv- (set ledger_table_name, or a name that does not start with bv-)."
    }
  }
}

################################################################################
# Results bucket: one JSON record per validation, <prefix>dt=YYYY-MM-DD/<validation_id>.json
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is the operator's choice; the records are also in CloudWatch Logs.
  #checkov:skip=CKV2_AWS_62:No consumer needs S3 event notifications for the records.
  #checkov:skip=CKV_AWS_18:Access logging is optional (results_access_log_bucket); it needs a bucket outside this module.
  bucket              = local.results_bucket_name
  force_destroy       = var.results_bucket_force_destroy
  object_lock_enabled = var.results_object_lock != null

  tags = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

data "aws_iam_policy_document" "results_bucket" {
  count = var.results_bucket_tls_only ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

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

  statement {
    sid       = "DenyOutdatedTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = var.results_bucket_tls_only ? 1 : 0

  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.results_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  #checkov:skip=CKV_AWS_300:Every rule aborts incomplete uploads; the check only counts rules without a prefix filter.
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "validation-records"
    status = "Enabled"

    filter {
      prefix = var.results_prefix
    }

    dynamic "expiration" {
      for_each = var.results_expiration_days != null ? [var.results_expiration_days] : []

      content {
        days = expiration.value
      }
    }

    noncurrent_version_expiration {
      noncurrent_days = var.results_noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "athena-results"
    status = "Enabled"

    filter {
      prefix = local.athena_results_path
    }

    expiration {
      days = var.athena_results_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.results_object_lock != null ? 1 : 0

  bucket = aws_s3_bucket.this.id

  rule {
    default_retention {
      mode = var.results_object_lock.mode
      days = var.results_object_lock.days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.results_access_log_bucket != null ? 1 : 0

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.results_access_log_bucket
  target_prefix = "${local.results_bucket_name}/"
}
