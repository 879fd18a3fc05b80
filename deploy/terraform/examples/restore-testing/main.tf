# The validator module in a central account, validating both every copy (event-driven) and the restores that
# an AWS Backup restore testing plan starts on the central vault (docs/modes.md), with fleet limits for several
# worker tasks and a coverage alarm per selection.
provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "validator" {
  source = "../../modules/validator"

  name = var.name

  vpc_id             = var.vpc_id
  private_subnet_ids = var.private_subnet_ids
  container_image    = var.container_image

  alarm_email_addresses = var.alarm_email_addresses

  # AWS Backup restores the plan's picks into the worker's restore network, so that the worker can connect to
  # them; it resets the password, runs the policy's checks and posts the verdict. AWS Backup deletes them.
  enable_restore_testing = true
  restore_testing_plans = {
    (var.plan_name) = {
      schedule_expression = "cron(0 5 ? * * *)"
      start_window_hours  = 2
      recovery_point_selection = {
        algorithm             = "LATEST_WITHIN_WINDOW"
        include_vaults        = [module.validator.backup_vault_arn]
        selection_window_days = 7
      }
      selections = {
        rds = {
          protected_resource_type = "RDS"
          protected_resource_conditions = {
            string_equals = [{ key = "aws:ResourceTag/backup-validator", value = "enabled" }]
          }
          restore_metadata_overrides = {
            DBInstanceClass     = "db.t4g.micro"
            DBSubnetGroupName   = module.validator.restore_db_subnet_group_name
            VpcSecurityGroupIds = jsonencode(module.validator.restore_security_group_ids)
            PubliclyAccessible  = "false"
            MultiAZ             = "false"
          }
          # The worker's checks take minutes; a short window is also what a lost verdict costs.
          validation_window_hours = 1
        }
      }
    }
  }

  # Several worker tasks share these limits through the ledger (docs/fleet.md).
  autoscaling_max_capacity       = 8
  fleet_max_restores             = 40
  fleet_max_restores_per_account = 10
  fleet_max_restores_per_kind    = { RDS = 30, Aurora = 10 }

  # The selections of policy.toml that get a coverage alarm of their own.
  coverage_alarm_selections = var.coverage_alarm_selections

  tags = var.tags
}
