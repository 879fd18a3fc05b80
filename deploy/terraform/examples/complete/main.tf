# A central validation account and one production (source) account, each through its own provider.
provider "aws" {
  alias  = "central"
  region = var.region

  dynamic "assume_role" {
    for_each = var.central_account_role_arn != null ? [var.central_account_role_arn] : []

    content {
      role_arn = assume_role.value
    }
  }

  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias  = "source"
  region = var.region

  dynamic "assume_role" {
    for_each = var.source_account_role_arn != null ? [var.source_account_role_arn] : []

    content {
      role_arn = assume_role.value
    }
  }

  default_tags {
    tags = var.tags
  }
}

data "aws_caller_identity" "source" {
  provider = aws.source
}

module "validator" {
  source = "../../modules/validator"

  providers = {
    aws = aws.central
  }

  name = var.name

  source_account_ids = [data.aws_caller_identity.source.account_id]

  vpc_id             = var.vpc_id
  private_subnet_ids = var.private_subnet_ids
  container_image    = var.container_image

  metrics_ingress_security_group_ids = var.prometheus_security_group_ids
  alarm_email_addresses              = var.alarm_email_addresses
  restore_kms_key_arns               = var.source_database_kms_key_arns

  results_object_lock = {
    mode = "GOVERNANCE"
    days = 400
  }

  # Signed daily manifests of the records (docs/evidence.md).
  create_evidence_signing_key = true

  tags = var.tags
}

module "source" {
  source = "../../modules/source"

  providers = {
    aws = aws.source
  }

  name = var.name

  destination_vault_arn = module.validator.backup_vault_arn
  selection_tags        = var.selection_tags

  tags = var.tags
}
