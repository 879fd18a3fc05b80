"""Two regions end to end, one deployment per region (docs/fleet.md): each region has its own emulator (an AWS
endpoint serves one region and keeps that region's state), queues, ledger, bucket and network in moto's region,
and its own worker, whose clients all use its region. A recovery point of the other region that reaches a worker
is left to that region's deployment: nothing is restored, nothing recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from harness.env import REGION as HOME_REGION
from harness.worker_stack import WorkerStack, make_stack, metric_value, run_inline

from emulator.server import EmulatorHandle

pytestmark = pytest.mark.slow

OTHER_REGION = "eu-west-1"


def _use_region(monkeypatch: pytest.MonkeyPatch, region: str, emulator_url: str) -> None:
    """What a deployment in `region` is given: its region, and that region's endpoints."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, region)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BACKUP", emulator_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", emulator_url)


async def _validate_one(stack: WorkerStack) -> tuple[dict[str, Any], str]:
    """A source in the stack's region, backed up and copied there, validated by a worker of that region."""
    source = await stack.add_source("postgres")
    async with run_inline(stack):
        arn = await stack.backup_and_copy(source)
        [record] = await stack.wait_for_records(1, timeout=120)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    return record, arn


def _copy_event(record: dict[str, Any], vault_arn: str) -> dict[str, Any]:
    """The Copy Job event of a copy of the other region, as it would look if routed to this region's queue."""
    return {
        "version": "0",
        "id": "b6d0a4f6-0f0b-4b8a-9a0e-000000000001",
        "detail-type": "Copy Job State Change",
        "source": "aws.backup",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": OTHER_REGION,
        "resources": [],
        "detail": {
            "copyJobId": "B6D0A4F6-0F0B-4B8A-9A0E-000000000001",
            "state": "COMPLETED",
            "resourceType": "RDS",
            "resourceArn": record["source_resource_arn"],
            "destinationBackupVaultArn": vault_arn,
            "destinationRecoveryPointArn": record["recovery_point_arn"],
        },
    }


async def test_two_regions_each_validated_by_its_own_deployment(
    emulator: EmulatorHandle,
    emulator_factory: Callable[..., EmulatorHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home_region = HOME_REGION  # the session emulator's, and the harness's default
    other = emulator_factory(region=OTHER_REGION)

    # The other region's deployment: its resources in moto's eu-west-1, its emulator, its worker.
    _use_region(monkeypatch, OTHER_REGION, other.url)
    away = await make_stack()
    try:
        away_record, away_arn = await _validate_one(away)
        away_vault_arn = away.traffic.central_vault_arn
        assert away.restored_instances() == []
    finally:
        await away.close()
    assert away_arn.split(":")[3] == OTHER_REGION
    assert away_vault_arn.split(":")[3] == OTHER_REGION
    assert (away_record["status"], away_record["region"]) == ("PASSED", OTHER_REGION), away_record
    assert away_record["recovery_point_arn"] == away_arn
    assert away_record["source_resource_arn"].split(":")[3] == OTHER_REGION

    # Home: the session's emulator, the default region.
    _use_region(monkeypatch, home_region, emulator.url)
    home = await make_stack()
    try:
        # Per-region state: the home endpoint knows nothing of the other region's vaults and recovery points.
        backup = boto3.client("backup")
        vault_name = away_vault_arn.rsplit(":", 1)[1]
        with pytest.raises(ClientError) as unknown:
            backup.describe_recovery_point(BackupVaultName=vault_name, RecoveryPointArn=away_arn)
        assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
        # A client of the wrong region is refused, as by AWS, rather than served from this region's state.
        wrong = boto3.client("backup", region_name=OTHER_REGION)
        with pytest.raises(ClientError) as refused:
            wrong.list_backup_vaults()
        assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"

        source = await home.add_source("postgres")
        async with run_inline(home) as registry:
            # The other region's copy reaches this region's queue (a misrouted event): left alone.
            home.send(_copy_event(away_record, away_vault_arn))
            home_arn = await home.backup_and_copy(source)
            [home_record] = await home.wait_for_records(1, timeout=120)
            await home.wait_until(lambda: home.queue_depth() == 0, what="messages acked")
            assert metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "other_region"}) == 1
        assert (home_record["status"], home_record["region"]) == ("PASSED", home_region), home_record
        assert home_record["recovery_point_arn"] == home_arn
        # Nothing of the other region was restored here.
        restores = emulator.stats()["restore_jobs_per_recovery_point"]
        assert away_arn not in restores and restores.get(home_arn) == 1
        assert home.queue_depth(home.resources.dlq_url) == 0
        assert [r["recovery_point_arn"] for r in home.records()] == [home_arn]
    finally:
        await home.close()
