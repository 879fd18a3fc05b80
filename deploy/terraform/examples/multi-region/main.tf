# One validator deployment per region, from one root: a provider alias per account and region. Each region's
# recovery points are restored, checked and recorded in that region (restores are regional, and the data stays
# where it lives); each region's production account copies into that region's central vault. docs/fleet.md says why.

# ---------------------------------------------------------------------------- central (validation) account

provider "aws" {
  alias  = "central_primary"
  region = var.primary.region

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
  alias  = "central_secondary"
  region = var.secondary.region

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

# ---------------------------------------------------------------------------- production (source) account

provider "aws" {
  alias  = "source_primary"
  region = var.primary.region

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

provider "aws" {
  alias  = "source_secondary"
  region = var.secondary.region

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
  provider = aws.source_primary
}

# ---------------------------------------------------------------------------- one deployment per region

module "validator_primary" {
  source = "../../modules/validator"

  providers = {
    aws = aws.central_primary
  }

  # IAM names are global: each region's deployment needs a name of its own.
  name = var.primary.name

  source_account_ids = [data.aws_caller_identity.source.account_id]

  vpc_id             = var.primary.vpc_id
  private_subnet_ids = var.primary.private_subnet_ids
  container_image    = var.primary.container_image

  alarm_email_addresses = var.alarm_email_addresses
  restore_kms_key_arns  = var.primary.source_database_kms_key_arns

  tags = var.tags
}

module "validator_secondary" {
  source = "../../modules/validator"

  providers = {
    aws = aws.central_secondary
  }

  name = var.secondary.name

  source_account_ids = [data.aws_caller_identity.source.account_id]

  vpc_id             = var.secondary.vpc_id
  private_subnet_ids = var.secondary.private_subnet_ids
  container_image    = var.secondary.container_image

  alarm_email_addresses = var.alarm_email_addresses
  restore_kms_key_arns  = var.secondary.source_database_kms_key_arns

  tags = var.tags
}

module "source_primary" {
  source = "../../modules/source"

  providers = {
    aws = aws.source_primary
  }

  name = var.primary.name

  # The central vault of the same region: a copy never leaves its region.
  destination_vault_arn = module.validator_primary.backup_vault_arn
  selection_tags        = var.selection_tags

  tags = var.tags
}

module "source_secondary" {
  source = "../../modules/source"

  providers = {
    aws = aws.source_secondary
  }

  name = var.secondary.name

  destination_vault_arn = module.validator_secondary.backup_vault_arn
  selection_tags        = var.selection_tags

  tags = var.tags
}
