"""AWS Backup: recovery points, restore jobs and validation results."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.coverage_state import Listing, SourceBackup
from worker.errors import NotFound
from worker.model import ProtectedSource, RecoveryPoint, RestoreJob


def _restore_job(raw: Mapping[str, Any]) -> RestoreJob:
    plan_arn = (raw.get("CreatedBy") or {}).get("RestoreTestingPlanArn") or None
    return RestoreJob(
        job_id=raw["RestoreJobId"],
        status=raw.get("Status", "PENDING"),
        message=raw.get("StatusMessage", ""),
        created_resource_arn=raw.get("CreatedResourceArn") or None,
        created_at=raw.get("CreationDate"),
        completed_at=raw.get("CompletionDate"),
        from_restore_testing=bool(plan_arn),
        restore_testing_plan_arn=plan_arn,
        recovery_point_arn=raw.get("RecoveryPointArn"),
        backup_vault_arn=raw.get("BackupVaultArn"),
        validation_status=raw.get("ValidationStatus"),
    )


@translate_errors
class Backup:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def describe_recovery_point(self, vault_name: str, arn: str) -> RecoveryPoint:
        try:
            raw = await self._client.describe_recovery_point(BackupVaultName=vault_name, RecoveryPointArn=arn)
        except ClientError as exc:
            if error_code(exc) in {"ResourceNotFoundException", "AccessDeniedException"}:
                raise NotFound(f"recovery point not found in vault {vault_name}") from None
            raise
        return RecoveryPoint(
            arn=arn,
            vault_name=raw.get("BackupVaultName", vault_name),
            source_resource_arn=raw.get("ResourceArn", ""),
            resource_type=raw.get("ResourceType", ""),
            created_at=raw.get("CreationDate"),
            status=raw.get("Status", ""),
        )

    async def find_vault(self, arn: str) -> str:
        """The vault holding a recovery point, for on-demand requests that name only the ARN."""
        paginator = self._client.get_paginator("list_backup_vaults")
        async for page in paginator.paginate():
            for vault in page.get("BackupVaultList", []):
                name = vault["BackupVaultName"]
                points = self._client.get_paginator("list_recovery_points_by_backup_vault")
                async for points_page in points.paginate(BackupVaultName=name):
                    if any(p["RecoveryPointArn"] == arn for p in points_page.get("RecoveryPoints", [])):
                        return str(name)
        raise NotFound("recovery point is in no backup vault of this account")

    async def protected_sources(self) -> list[ProtectedSource]:
        """Every source resource with a recovery point in any vault of this account and region."""
        found: dict[str, ProtectedSource] = {}
        vaults = self._client.get_paginator("list_backup_vaults")
        async for page in vaults.paginate():
            for vault in page.get("BackupVaultList", []):
                points = self._client.get_paginator("list_recovery_points_by_backup_vault")
                async for points_page in points.paginate(BackupVaultName=vault["BackupVaultName"]):
                    for point in points_page.get("RecoveryPoints", []):
                        arn = point.get("ResourceArn")
                        if arn and arn not in found:
                            found[arn] = ProtectedSource(arn, point.get("ResourceType", ""))
        return list(found.values())

    async def recovery_point_tags(self, arn: str) -> dict[str, str]:
        """The recovery point's tags (ListTags), for selections by tag."""
        tags: dict[str, str] = {}
        token: dict[str, str] = {}
        while True:
            try:
                page = await self._client.list_tags(ResourceArn=arn, **token)
            except ClientError as exc:
                # AccessDenied is not "not found" here: a missing backup:ListTags grant must show, not hide points
                if error_code(exc) == "ResourceNotFoundException":
                    raise NotFound("recovery point not found (ListTags)") from None
                raise
            tags.update(page.get("Tags") or {})
            if not page.get("NextToken"):
                return tags
            token = {"NextToken": page["NextToken"]}

    async def sources_backed_up_since(self, after: datetime | None, known_vaults: frozenset[str]) -> Listing:
        """Per source, its newest recovery point created after `after` in the vaults of `known_vaults`, and any
        in every other vault (all of them when `after` is None): a vault not listed before may hold points
        older than the watermark."""
        newest: dict[str, SourceBackup] = {}
        listed: set[str] = set()
        vaults = self._client.get_paginator("list_backup_vaults")
        async for page in vaults.paginate():
            for vault in page.get("BackupVaultList", []):
                name = str(vault["BackupVaultName"])
                since = {"ByCreatedAfter": after} if after is not None and name in known_vaults else {}
                points = self._client.get_paginator("list_recovery_points_by_backup_vault")
                async for points_page in points.paginate(BackupVaultName=name, **since):
                    for point in points_page.get("RecoveryPoints", []):
                        arn, created = point.get("ResourceArn"), point.get("CreationDate")
                        if (
                            arn
                            and isinstance(created, datetime)
                            and (arn not in newest or created > newest[arn].newest)
                        ):
                            newest[arn] = SourceBackup(arn, point.get("ResourceType", ""), created)
                listed.add(name)
        return Listing(list(newest.values()), frozenset(listed))

    async def restore_metadata(self, vault_name: str, arn: str) -> dict[str, str]:
        raw = await self._client.get_recovery_point_restore_metadata(BackupVaultName=vault_name, RecoveryPointArn=arn)
        return dict(raw.get("RestoreMetadata", {}))

    async def start_restore(
        self, arn: str, metadata: Mapping[str, str], token: str, role_arn: str | None, resource_type: str
    ) -> str:
        params: dict[str, Any] = {
            "RecoveryPointArn": arn,
            "Metadata": dict(metadata),
            "IdempotencyToken": token,
            "ResourceType": resource_type,
        }
        if role_arn:
            params["IamRoleArn"] = role_arn
        response = await self._client.start_restore_job(**params)
        return str(response["RestoreJobId"])

    async def describe_restore_job(self, job_id: str) -> RestoreJob:
        try:
            raw = await self._client.describe_restore_job(RestoreJobId=job_id)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise NotFound(f"restore job {job_id} not found") from None
            raise
        return _restore_job(raw)

    async def list_restore_jobs(
        self,
        created_after: datetime | None = None,
        *,
        completed_after: datetime | None = None,
        plan_arn: str | None = None,
    ) -> list[RestoreJob]:
        """Every restore job created (or completed) since a moment: one sweep covers all jobs in flight,
        1,000 a page."""
        paginator = self._client.get_paginator("list_restore_jobs")
        jobs: list[RestoreJob] = []
        since: dict[str, Any] = {}
        if created_after is not None:
            since["ByCreatedAfter"] = created_after
        if completed_after is not None:
            since["ByCompleteAfter"] = completed_after
        if plan_arn is not None:
            since["ByRestoreTestingPlanArn"] = plan_arn
        async for page in paginator.paginate(**since, PaginationConfig={"PageSize": 1000}):
            jobs.extend(_restore_job(raw) for raw in page.get("RestoreJobs", []))
        return jobs

    async def restore_testing_plan_arns(self) -> list[str]:
        """Every restore testing plan of this account and region."""
        paginator = self._client.get_paginator("list_restore_testing_plans")
        return [
            str(plan["RestoreTestingPlanArn"])
            async for page in paginator.paginate()
            for plan in page.get("RestoreTestingPlans", [])
        ]

    async def validation_window_hours(self, plan_arn: str, resource_type: str) -> int | None:
        """The shortest ValidationWindowHours of the plan's selections of `resource_type`; None if it has none."""
        paginator = self._client.get_paginator("list_restore_testing_selections")
        hours = [
            int(selection["ValidationWindowHours"])
            async for page in paginator.paginate(RestoreTestingPlanName=plan_arn.rsplit(":", 1)[-1])
            for selection in page.get("RestoreTestingSelections", [])
            if selection.get("ProtectedResourceType") == resource_type
            and selection.get("ValidationWindowHours") is not None
        ]
        return min(hours, default=None)

    async def put_validation_result(self, job_id: str, status: str, message: str) -> None:
        await self._client.put_restore_validation_result(
            RestoreJobId=job_id, ValidationStatus=status, ValidationStatusMessage=message[:1000]
        )
