# The validator module against a single AWS emulator endpoint (moto server): everything the emulator supports,
# nothing it does not (ECS, autoscaling, VPC networking, Backup vault policies, Logs Insights query definitions).
provider "aws" {
  region     = var.region
  access_key = "test"
  secret_key = "test"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  # moto answers GetCallerIdentity, and the Athena workgroup and Glue table need the real account id.
  skip_requesting_account_id = false
  s3_use_path_style          = true

  # moto needs default tags for the Athena workgroup and Glue table to apply.
  default_tags {
    tags = {
      Project     = "backup-validator"
      Environment = "local"
    }
  }

  # Every service the module can use, so that nothing reaches real AWS even with a toggle flipped.
  endpoints {
    amp                    = var.endpoint
    applicationautoscaling = var.endpoint
    athena                 = var.endpoint
    backup                 = var.endpoint
    cloudwatch             = var.endpoint
    dynamodb               = var.endpoint
    ec2                    = var.endpoint
    ecs                    = var.endpoint
    events                 = var.endpoint
    glue                   = var.endpoint
    iam                    = var.endpoint
    kms                    = var.endpoint
    logs                   = var.endpoint
    rds                    = var.endpoint
    s3                     = var.endpoint
    servicediscovery       = var.endpoint
    sns                    = var.endpoint
    sqs                    = var.endpoint
    sts                    = var.endpoint
  }
}

module "validator" {
  source = "../../modules/validator"

  name = var.name

  copy_destination_vault_arns = var.copy_destination_vault_arns

  # Not emulated well enough: ECS (and with it autoscaling, service discovery, the ADOT sidecar), VPC
  # networking for restores, Backup vault access policies, Logs Insights query definitions.
  create_ecs               = false
  create_autoscaling       = false
  create_restore_network   = false
  create_backup_vault      = false
  create_query_definitions = false

  # The Athena named queries (their SQL: modules/results/queries/*.sql). moto 5 creates them but has no
  # DeleteNamedQuery: a destroy against a plain moto server fails on them (the tests' moto server adds it).
  create_athena_named_queries = true

  # The emulator speaks plain HTTP and evaluates bucket policies: the TLS-only policy would refuse every request.
  results_bucket_tls_only = false

  # Records under Object Lock, as an auditor wants them: no version can be deleted or overwritten for a day.
  # GOVERNANCE, so that the throwaway bucket can still be destroyed (force_destroy bypasses governance retention).
  results_object_lock = {
    mode = "GOVERNANCE"
    days = 1
  }

  # Alarms per resource type and engine as well, for the engines of the local stand-ins.
  alarm_dimensions = [
    { resource_type = "RDS", engine = "postgres" },
    { resource_type = "RDS", engine = "mariadb" },
  ]

  # moto keeps neither a DLQ's redrive allow policy (Terraform then waits for it for ever) nor, unless started
  # with MOTO_IAM_LOAD_MANAGED_POLICIES=true, the AWS managed policies.
  dlq_redrive_allow_only_work_queue = false
  restore_role_policy_arns          = []

  # The worker's permissions are still created, so that they can be inspected.
  create_task_role = true

  # Restore testing (the emulator runs restore testing plans): the rule routing their jobs' COMPLETED events to
  # the restore events queue, the role AWS Backup restores with and the worker's permissions. No plan: moto has
  # no restore testing API (plans are made on the emulator).
  enable_restore_testing = true

  # A coverage alarm of its own for the local policy's selection (standins/policies.py).
  coverage_alarm_selections = ["orders"]

  # moto signs and verifies with asymmetric KMS keys: the manifests are signed here too.
  create_evidence_signing_key = true

  # Throwaway: let destroy remove everything.
  ledger_deletion_protection      = false
  results_bucket_force_destroy    = true
  kms_key_deletion_window_in_days = 7

  tags = {
    Component = "backup-validator"
  }
}
