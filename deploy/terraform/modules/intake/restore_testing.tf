################################################################################
# AWS Backup restore testing (docs/modes.md): the plans and their selections, and the rule that hands the
# restore testing jobs' COMPLETED events to the worker, which validates them and posts the verdict.
################################################################################

locals {
  # One entry per (plan, selection); the key is "<plan>/<selection>".
  restore_testing_selections = merge({}, [
    for plan_name, plan in var.restore_testing_plans : {
      for selection_name, selection in plan.selections :
      "${plan_name}/${selection_name}" => {
        plan              = plan_name
        name              = selection_name
        selection         = selection
        string_equals     = selection.protected_resource_conditions.string_equals
        string_not_equals = selection.protected_resource_conditions.string_not_equals
      }
    }
  ]...)
}

resource "aws_backup_restore_testing_plan" "this" {
  for_each = var.restore_testing_plans

  name                         = each.key
  schedule_expression          = each.value.schedule_expression
  schedule_expression_timezone = each.value.schedule_expression_timezone
  start_window_hours           = each.value.start_window_hours

  recovery_point_selection {
    algorithm             = each.value.recovery_point_selection.algorithm
    include_vaults        = each.value.recovery_point_selection.include_vaults
    exclude_vaults        = length(each.value.recovery_point_selection.exclude_vaults) > 0 ? each.value.recovery_point_selection.exclude_vaults : null
    recovery_point_types  = each.value.recovery_point_selection.recovery_point_types
    selection_window_days = each.value.recovery_point_selection.selection_window_days
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.enable_restore_testing
      error_message = "restore_testing_plans need enable_restore_testing = true: without the rule and the worker's permissions nobody would validate their restores, and every job would end TIMED_OUT."
    }
  }
}

resource "aws_backup_restore_testing_selection" "this" {
  for_each = local.restore_testing_selections

  name                      = each.value.name
  restore_testing_plan_name = aws_backup_restore_testing_plan.this[each.value.plan].name
  protected_resource_type   = each.value.selection.protected_resource_type
  iam_role_arn              = coalesce(each.value.selection.iam_role_arn, var.restore_testing_role_arn, "-")
  # The provider takes either the ARNs or the conditions (these mean ARNs ["*"], which the variable requires).
  protected_resource_arns    = length(each.value.string_equals) + length(each.value.string_not_equals) > 0 ? null : each.value.selection.protected_resource_arns
  restore_metadata_overrides = each.value.selection.restore_metadata_overrides
  validation_window_hours    = each.value.selection.validation_window_hours

  dynamic "protected_resource_conditions" {
    for_each = length(each.value.string_equals) + length(each.value.string_not_equals) > 0 ? [1] : []

    content {
      dynamic "string_equals" {
        for_each = each.value.string_equals

        content {
          key   = string_equals.value.key
          value = string_equals.value.value
        }
      }

      dynamic "string_not_equals" {
        for_each = each.value.string_not_equals

        content {
          key   = string_not_equals.value.key
          value = string_not_equals.value.value
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = each.value.selection.iam_role_arn != null || var.restore_testing_role_arn != null
      error_message = "A restore testing selection needs an IAM role: restore_testing_role_arn (the service module's restore_testing_role_arn output) or the selection's own iam_role_arn."
    }
  }
}
