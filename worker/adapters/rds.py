"""RDS: the restored instance's state, password, tags and deletion. Also the preflight look-ups."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.errors import InstanceNotReady
from worker.ports import DbInstance


def _instance(raw: dict[str, Any]) -> DbInstance:
    endpoint = raw.get("Endpoint") or {}
    return DbInstance(
        identifier=raw["DBInstanceIdentifier"],
        arn=raw.get("DBInstanceArn", ""),
        status=raw.get("DBInstanceStatus", ""),
        engine=raw.get("Engine", ""),
        host=endpoint.get("Address"),
        port=endpoint.get("Port"),
        db_name=raw.get("DBName"),
        master_username=raw.get("MasterUsername", ""),
        password_pending="MasterUserPassword" in (raw.get("PendingModifiedValues") or {}),
        created_at=raw.get("InstanceCreateTime"),
        tags={tag["Key"]: tag["Value"] for tag in raw.get("TagList", [])},
    )


@translate_errors
class Rds:
    def __init__(self, client: Any, ec2_client: Any) -> None:
        self._client = client
        self._ec2 = ec2_client

    async def describe(self, identifier: str) -> DbInstance | None:
        try:
            response = await self._client.describe_db_instances(DBInstanceIdentifier=identifier)
        except ClientError as exc:
            if error_code(exc) == "DBInstanceNotFound":
                return None
            raise
        instances = response.get("DBInstances", [])
        return _instance(instances[0]) if instances else None

    async def list_instances(self) -> list[DbInstance]:
        paginator = self._client.get_paginator("describe_db_instances")
        found: list[DbInstance] = []
        async for page in paginator.paginate():
            found.extend(_instance(raw) for raw in page.get("DBInstances", []))
        return found

    async def set_master_password(self, identifier: str, password: str) -> None:
        """InstanceNotReady while the instance's state refuses modifications."""
        try:
            await self._client.modify_db_instance(
                DBInstanceIdentifier=identifier, MasterUserPassword=password, ApplyImmediately=True
            )
        except ClientError as exc:
            if error_code(exc) == "InvalidDBInstanceState":
                raise InstanceNotReady(f"instance {identifier} cannot be modified in its current state") from None
            raise

    async def tag(self, arn: str, tags: dict[str, str]) -> None:
        await self._client.add_tags_to_resource(
            ResourceName=arn, Tags=[{"Key": key, "Value": value} for key, value in tags.items()]
        )

    async def tags(self, arn: str) -> dict[str, str]:
        response = await self._client.list_tags_for_resource(ResourceName=arn)
        return {tag["Key"]: tag["Value"] for tag in response.get("TagList", [])}

    async def delete(self, identifier: str) -> bool:
        """Delete without a final snapshot; False when it was already gone."""
        try:
            await self._client.delete_db_instance(
                DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
            )
        except ClientError as exc:
            code = error_code(exc)
            if code == "DBInstanceNotFound":
                return False
            if code == "InvalidDBInstanceState":
                # Already deleting: the outcome we want.
                return True
            raise
        return True

    async def subnet_group_exists(self, name: str) -> bool:
        try:
            await self._client.describe_db_subnet_groups(DBSubnetGroupName=name)
        except ClientError as exc:
            if error_code(exc) == "DBSubnetGroupNotFoundFault":
                return False
            raise
        return True

    async def missing_security_groups(self, group_ids: tuple[str, ...]) -> list[str]:
        if not group_ids:
            return []
        try:
            response = await self._ec2.describe_security_groups(GroupIds=list(group_ids))
        except ClientError as exc:
            if error_code(exc) == "InvalidGroup.NotFound":
                return list(group_ids)
            raise
        found = {group["GroupId"] for group in response.get("SecurityGroups", [])}
        return [group for group in group_ids if group not in found]

    async def account_quotas(self) -> dict[str, int]:
        """DescribeAccountAttributes: quota name (DBInstances, DBClusters, ...) -> its maximum in this region."""
        response = await self._client.describe_account_attributes()
        return {q["AccountQuotaName"]: int(q["Max"]) for q in response.get("AccountQuotas", []) if "Max" in q}
