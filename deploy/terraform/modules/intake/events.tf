################################################################################
# EventBridge rules: AWS Backup events -> work queue, the worker's restore events and restore testing jobs'
# COMPLETED events -> restore events queue
################################################################################

locals {
  central_vault_arns = concat(
    var.create_backup_vault ? [aws_backup_vault.this[0].arn] : [],
    var.copy_destination_vault_arns,
  )

  # The fixed part of each rule's pattern (source, detail-type, final states) is a JSON file of event_patterns/,
  # which the tests, the demo and the benchmark load too: one source of truth. The deployment's own values (the
  # central vaults, this account, the restore role) are merged in here.
  event_patterns = {
    for key in ["copy_job", "backup_job", "restore_job", "restore_testing_job"] :
    key => jsondecode(file("${path.module}/event_patterns/${key}.json"))
  }

  # Each pattern is JSON-encoded here so that the rules can live in one map despite their different shapes.
  # `queue` is the queue a rule's target delivers to (a key of local.event_queue_arns).
  event_rule_definitions = {
    copy_job = {
      enabled     = true
      queue       = "work"
      name        = "${var.name}-copy-job-completed"
      description = "Copies COMPLETED into the central vault(s): validate the copied recovery point."
      pattern = jsonencode(merge(local.event_patterns.copy_job, {
        detail = merge(local.event_patterns.copy_job.detail, {
          for key, values in { destinationBackupVaultArn = local.central_vault_arns } : key => values if length(values) > 0
        })
      }))
    }
    backup_job = {
      enabled     = var.enable_backup_job_events
      queue       = "work"
      name        = "${var.name}-backup-job-completed"
      description = "Backups COMPLETED in the central account itself: validate the new recovery point."
      pattern     = jsonencode(merge(local.event_patterns.backup_job, { account = [local.account_id] }))
    }
    # Their own queue: the worker always receives from it, while it stops receiving from the work queue when it is
    # at capacity, so the end of a restore it waits for never queues behind a backlog of validation requests.
    restore_job = {
      enabled     = var.enable_restore_job_events
      queue       = "restore_events"
      name        = "${var.name}-restore-job-finished"
      description = "Restore jobs started by the worker (its restore role) that reached a final status."
      pattern = jsonencode(merge(local.event_patterns.restore_job, {
        detail = merge(local.event_patterns.restore_job.detail, { iamRoleArn = [var.restore_role_arn] })
      }))
    }
    # Restore testing jobs' restores, started by AWS Backup with a selection's role (so never matched above):
    # COMPLETED is when the worker takes over, checks and posts the verdict (docs/modes.md). Any plan of this
    # account: the worker acknowledges the jobs of plans no policy selection names.
    restore_testing_job = {
      enabled     = var.enable_restore_testing
      queue       = "restore_events"
      name        = "${var.name}-restore-testing-completed"
      description = "Restore testing jobs COMPLETED: the worker validates the restored resource and posts the verdict."
      pattern     = jsonencode(merge(local.event_patterns.restore_testing_job, { account = [local.account_id] }))
    }
  }

  event_rules = { for key, rule in local.event_rule_definitions : key => rule if rule.enabled }

  event_rule_arns = {
    for key, rule in local.event_rules :
    key => "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${rule.name}"
  }

  # The rules each queue's policy admits: only those that target it.
  queue_event_rule_arns = {
    for queue in ["work", "restore_events"] :
    queue => [for key, rule in local.event_rules : local.event_rule_arns[key] if rule.queue == queue]
  }

  # A lookup rather than a conditional: the restore events queue does not exist without its rule.
  event_queue_arns = {
    work           = aws_sqs_queue.this.arn
    restore_events = one(aws_sqs_queue.restore_events[*].arn)
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
  target_id = "${replace(each.value.queue, "_", "-")}-queue"
  arn       = local.event_queue_arns[each.value.queue]

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
