################################################################################
# EventBridge rules: AWS Backup events -> work queue
################################################################################

locals {
  central_vault_arns = concat(
    var.create_backup_vault ? [aws_backup_vault.this[0].arn] : [],
    var.copy_destination_vault_arns,
  )

  # Each pattern is JSON-encoded here so that the rules can live in one map despite their different shapes.
  event_rule_definitions = {
    copy_job = {
      enabled     = true
      name        = "${var.name}-copy-job-completed"
      description = "Copies COMPLETED into the central vault(s): validate the copied recovery point."
      pattern = jsonencode({
        source        = ["aws.backup"]
        "detail-type" = ["Copy Job State Change"]
        detail = {
          for key, values in { state = ["COMPLETED"], destinationBackupVaultArn = local.central_vault_arns } :
          key => values if length(values) > 0
        }
      })
    }
    backup_job = {
      enabled     = var.enable_backup_job_events
      name        = "${var.name}-backup-job-completed"
      description = "Backups COMPLETED in the central account itself: validate the new recovery point."
      pattern = jsonencode({
        source        = ["aws.backup"]
        "detail-type" = ["Backup Job State Change"]
        account       = [local.account_id]
        detail = {
          state = ["COMPLETED"]
        }
      })
    }
    restore_job = {
      enabled     = var.enable_restore_job_events
      name        = "${var.name}-restore-job-finished"
      description = "Restore jobs started by the worker (its restore role) that reached a final status."
      pattern = jsonencode({
        source        = ["aws.backup"]
        "detail-type" = ["Restore Job State Change"]
        detail = {
          status     = ["COMPLETED", "FAILED", "ABORTED"]
          iamRoleArn = [aws_iam_role.restore.arn]
        }
      })
    }
  }

  event_rules = { for key, rule in local.event_rule_definitions : key => rule if rule.enabled }

  event_rule_arns = {
    for key, rule in local.event_rules :
    key => "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${rule.name}"
  }
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.event_rules

  name          = each.value.name
  description   = each.value.description
  event_pattern = each.value.pattern
  state         = "ENABLED"

  tags = var.tags

  lifecycle {
    postcondition {
      condition     = self.arn == local.event_rule_arns[each.key]
      error_message = "The rule ARN differs from the one the queue policies were built with."
    }
  }
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.event_rules

  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "work-queue"
  arn       = aws_sqs_queue.this.arn

  retry_policy {
    maximum_event_age_in_seconds = var.event_maximum_event_age_seconds
    maximum_retry_attempts       = var.event_maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

################################################################################
# Let the source accounts forward their backup events to this account's default bus
################################################################################

resource "aws_cloudwatch_event_permission" "source_accounts" {
  # Keyed by position: the account IDs may come from data sources.
  for_each = var.allow_event_forwarding ? { for index, id in var.source_account_ids : tostring(index) => id } : {}

  principal    = each.value
  statement_id = "${var.name}-source-${each.key}"
}

resource "aws_cloudwatch_event_permission" "organization" {
  count = var.allow_event_forwarding && var.source_organization_id != null ? 1 : 0

  principal    = "*"
  statement_id = "${var.name}-organization"

  condition {
    key   = "aws:PrincipalOrgID"
    type  = "StringEquals"
    value = var.source_organization_id
  }
}
