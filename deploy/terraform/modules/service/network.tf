################################################################################
# Worker security group
################################################################################

resource "aws_security_group" "worker" {
  #checkov:skip=CKV2_AWS_5:Attached to the ECS service (network_configuration); the check does not follow count-indexed references.
  count = local.create_ecs ? 1 : 0

  name        = "${var.name}-worker"
  description = "Backup Validator worker tasks"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-worker" })

  lifecycle {
    precondition {
      condition     = var.vpc_id != null
      error_message = "vpc_id is required when create_ecs is true."
    }
  }
}

resource "aws_vpc_security_group_egress_rule" "worker_https" {
  count = local.create_ecs ? 1 : 0

  security_group_id = aws_security_group.worker[0].id
  description       = "AWS APIs over HTTPS (through NAT or VPC endpoints)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "worker_to_restored_db" {
  for_each = local.create_ecs && local.create_restore_network ? toset([for port in var.database_ports : tostring(port)]) : toset([])

  security_group_id            = aws_security_group.worker[0].id
  description                  = "Restored databases under test"
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
  referenced_security_group_id = aws_security_group.restored_db[0].id

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "metrics_from_cidr" {
  for_each = local.create_ecs ? toset(var.metrics_ingress_cidr_blocks) : toset([])

  security_group_id = aws_security_group.worker[0].id
  description       = "Prometheus scrapes /metrics"
  ip_protocol       = "tcp"
  from_port         = var.metrics_port
  to_port           = var.metrics_port
  cidr_ipv4         = each.value

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "metrics_from_security_group" {
  # Keyed by position: the group IDs may be unknown until apply.
  for_each = local.create_ecs ? { for index, id in var.metrics_ingress_security_group_ids : tostring(index) => id } : {}

  security_group_id            = aws_security_group.worker[0].id
  description                  = "Prometheus scrapes /metrics"
  ip_protocol                  = "tcp"
  from_port                    = var.metrics_port
  to_port                      = var.metrics_port
  referenced_security_group_id = each.value

  tags = var.tags
}

################################################################################
# Restores: security group and DB subnet group the worker gives every restored database
################################################################################

resource "aws_security_group" "restored_db" {
  #checkov:skip=CKV2_AWS_5:The worker attaches this group to the databases it restores; Terraform never creates them.
  count = local.create_restore_network ? 1 : 0

  name        = "${var.name}-restored-db"
  description = "Databases restored by Backup Validator: reachable only from the worker, no egress"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-restored-db" })

  lifecycle {
    precondition {
      condition     = var.vpc_id != null
      error_message = "vpc_id is required when create_restore_network is true."
    }
  }
}

locals {
  restored_db_client_security_groups = concat(
    local.create_ecs ? [aws_security_group.worker[0].id] : [],
    var.restore_db_allowed_security_group_ids,
  )

  restored_db_ingress = local.create_restore_network ? {
    for pair in setproduct(range(length(local.restored_db_client_security_groups)), var.database_ports) :
    "${pair[0]}-${pair[1]}" => { security_group_id = local.restored_db_client_security_groups[pair[0]], port = pair[1] }
  } : {}
}

resource "aws_vpc_security_group_ingress_rule" "restored_db" {
  for_each = local.restored_db_ingress

  security_group_id            = aws_security_group.restored_db[0].id
  description                  = "Backup Validator worker"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.security_group_id

  tags = var.tags
}

resource "aws_db_subnet_group" "this" {
  count = local.create_restore_network ? 1 : 0

  name        = "${var.name}-restore"
  description = "Subnets of databases restored by Backup Validator"
  subnet_ids  = length(var.restore_subnet_ids) > 0 ? var.restore_subnet_ids : var.private_subnet_ids

  tags = var.tags
}
