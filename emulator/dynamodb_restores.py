"""DynamoDB tables, which live in moto: a backup copies a table's settings and items into the recovery point; a
restore creates a new table in moto at its start (CREATING, as the emulator's DynamoDB endpoint shows it) and
writes them back.

AWS sources: AWS Backup's "Restore a DynamoDB table" (restore metadata `targetTableName`, `encryptionType`
Default|KMS, `kmsMasterKeyArn`), DynamoDB's RestoreTableFromBackup (a restore into an existing name fails with
TableAlreadyExistsException; the table is CREATING until the data is written).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from emulator import restores
from emulator.core import Emulator
from emulator.state import Physical, RecoveryPoint, RestoreJob, Snapshot, now
from emulator.wire import ApiError

log = logging.getLogger("emulator.dynamodb")

RESOURCE_TYPE = "DynamoDB"
_BATCH = 25  # BatchWriteItem's maximum
_ACTIVE_WAIT_SECONDS = 3600.0


def is_table_arn(arn: str) -> bool:
    return arn.startswith("arn:aws:dynamodb:") and ":table/" in arn and "/backup/" not in arn


@contextlib.asynccontextmanager
async def _dynamodb(emu: Emulator) -> AsyncIterator[Any]:
    url = emu.config.dynamodb_url
    if not url:
        raise RuntimeError("no DynamoDB endpoint configured (--dynamodb-url)")
    from aiobotocore.session import get_session

    # Fixed throwaway credentials: the endpoint is a local stand-in (moto), never the caller's AWS.
    async with get_session().create_client(
        "dynamodb",
        endpoint_url=url,
        region_name=emu.region,
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",  # noqa: S106
    ) as client:
        yield client


# ---------------------------------------------------------------------------------------------- backup


async def snapshot_table(emu: Emulator, table_arn: str) -> Snapshot:
    """The table's settings and every item as of now (AWS Backup's DynamoDB backup is a full copy)."""
    name = table_arn.split(":table/", 1)[1]
    async with _dynamodb(emu) as ddb:
        described = (await ddb.describe_table(TableName=name))["Table"]
        if described.get("TableStatus") != "ACTIVE":
            raise ApiError("InvalidRequestException", f"Table {name} is not ACTIVE ({described.get('TableStatus')}).")
        items: list[dict[str, Any]] = []
        async for page in ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            items.extend(page.get("Items", []))
        tags = (await ddb.list_tags_of_resource(ResourceArn=table_arn)).get("Tags", [])
    size = sum(len(str(item)) for item in items)
    physical = Physical("dynamodb", name)
    snapshot = Snapshot(physical, "", size, now(), restore_metadata(described), {t["Key"]: t["Value"] for t in tags})
    snapshot.table = {"description": described, "items": items}
    return snapshot


def restore_metadata(described: dict[str, Any]) -> dict[str, str]:
    """What GetRecoveryPointRestoreMetadata returns for a DynamoDB recovery point: the source table's name and
    its encryption (the restore's `targetTableName` is the caller's to give)."""
    sse = described.get("SSEDescription") or {}
    metadata = {"originalTableName": described["TableName"], "encryptionType": "Default"}
    if sse.get("SSEType") == "KMS" and sse.get("KMSMasterKeyArn"):
        metadata.update(encryptionType="KMS", kmsMasterKeyArn=sse["KMSMasterKeyArn"])
    return metadata


# ---------------------------------------------------------------------------------------------- restore


def check_metadata(metadata: dict[str, str]) -> None:
    """AWS's validation of a DynamoDB restore request (before any job exists)."""
    lowered = {key.lower(): value for key, value in metadata.items()}
    if not lowered.get("targettablename"):
        raise ApiError("InvalidParameterValueException", "targetTableName is required in the restore metadata.")
    encryption = lowered.get("encryptiontype", "Default")
    if encryption not in ("Default", "KMS"):
        raise ApiError("InvalidParameterValueException", f"encryptionType must be Default or KMS, not {encryption}.")
    if encryption == "KMS" and not lowered.get("kmsmasterkeyarn"):
        raise ApiError("InvalidParameterValueException", "kmsMasterKeyArn is required when encryptionType is KMS.")


async def run_restore(emu: Emulator, job: RestoreJob, duration: float) -> None:
    """PENDING -> RUNNING -> COMPLETED | FAILED. As in AWS, the target table exists from the start of the job,
    CREATING (moto holds it; the emulator's DynamoDB endpoint, emulator/dynamodb_proxy.py, says CREATING and
    refuses its items), is filled while the job runs, and turns ACTIVE at the end: just before the job says
    COMPLETED, or `table_active_lag_seconds` after it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration
    await asyncio.sleep(min(duration * 0.1, 1.0))
    emu.store.set_restore_state(job, "RUNNING")
    restores.announce(emu, job)
    rp = job.recovery_point
    assert rp is not None and rp.snapshot is not None and rp.snapshot.table is not None
    name = restores.meta(job, "targetTableName") or ""
    arn = None
    try:
        if emu.faults.chance(emu.knobs.restore_fail_rate):
            raise restores.RestoreFailure("An internal error occurred while restoring the table (emulated failure).")
        arn = await _create(emu, job, rp, name)
        await _fill(emu, rp, name)
        await _sleep_until(deadline)
    except restores.RestoreFailure as failure:
        if arn is not None:
            await _drop(emu, name)
        await _sleep_until(deadline)
        restores.finish(emu, job, "FAILED", str(failure))
        return
    except BaseException:
        if arn is not None:  # never another restore's table of the same name
            _active(emu, name)
        raise
    job.created_resource_arn = arn
    rp.last_restore = now()
    lag = emu.knobs.table_active_lag_seconds
    if lag <= 0:
        _active(emu, name)  # ACTIVE first: whoever sees the job COMPLETED sees the table ACTIVE
    restores.finish(emu, job, "COMPLETED", None)
    if lag > 0:
        try:
            await asyncio.sleep(lag)
        finally:
            _active(emu, name)


async def delete_table(emu: Emulator, table_arn: str) -> str | None:
    """AWS Backup's deletion of a table a restore test created: None when deleted, else why not. A table still
    CREATING cannot be deleted (ResourceInUseException): the deletion waits for it to turn ACTIVE."""
    name = table_arn.split(":table/", 1)[-1]
    creating = emu.creating_tables.get(name)
    if creating is not None:
        await asyncio.wait_for(creating.wait(), _ACTIVE_WAIT_SECONDS)
    async with _dynamodb(emu) as ddb:
        try:
            await ddb.delete_table(TableName=name)
        except ddb.exceptions.ResourceNotFoundException:
            return f"Resource {table_arn} was not found for deletion."
    return None


async def _create(emu: Emulator, job: RestoreJob, rp: RecoveryPoint, name: str) -> str:
    """The target table, CREATING from now on; a name in use fails the restore (no table of ours)."""
    assert rp.snapshot is not None and rp.snapshot.table is not None
    async with _dynamodb(emu) as ddb:
        try:
            created = await ddb.create_table(**_create_request(rp.snapshot.table["description"], name, job))
        except ddb.exceptions.ResourceInUseException as exc:
            raise restores.RestoreFailure(f"TableAlreadyExistsException: Table already exists: {name}") from exc
    emu.creating_tables[name] = asyncio.Event()
    return str(created["TableDescription"]["TableArn"])


async def _fill(emu: Emulator, rp: RecoveryPoint, name: str) -> None:
    """The snapshot's items (a stale copy's without its newest ones), written straight to moto."""
    assert rp.snapshot is not None and rp.snapshot.table is not None
    items = _trimmed(rp.snapshot.table["items"], emu.store.stale.get(rp.resource_arn))
    async with _dynamodb(emu) as ddb:
        for start in range(0, len(items), _BATCH):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + _BATCH]]
            pending: dict[str, Any] = {name: requests}
            while pending:
                try:
                    answer = await ddb.batch_write_item(RequestItems=pending)
                except ddb.exceptions.ResourceNotFoundException as exc:
                    raise restores.RestoreFailure(f"Table {name} was deleted during the restore.") from exc
                pending = answer.get("UnprocessedItems") or {}


async def _drop(emu: Emulator, name: str) -> None:
    """A failed restore's table goes away with it (the emulator's choice: AWS does not document what a failed
    restore of a table leaves behind)."""
    _active(emu, name)
    async with _dynamodb(emu) as ddb:
        with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
            await ddb.delete_table(TableName=name)


def _create_request(described: dict[str, Any], name: str, job: RestoreJob) -> dict[str, Any]:
    """The source's key schema, indexes, billing mode and stream; encryption as the restore asks."""
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": described["KeySchema"],
        "AttributeDefinitions": described["AttributeDefinitions"],
    }
    billing = (described.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    request["BillingMode"] = billing
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(described)
    for key, kind in (("GlobalSecondaryIndexes", "global"), ("LocalSecondaryIndexes", "local")):
        indexes = [_index(index, kind == "global" and billing == "PROVISIONED") for index in described.get(key, [])]
        if indexes:
            request[key] = indexes
    stream = described.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        request["StreamSpecification"] = stream
    if job.extra_tags:  # restore testing's `awsbackup-restore-test` tag
        request["Tags"] = [{"Key": key, "Value": value} for key, value in job.extra_tags.items()]
    if (restores.meta(job, "encryptionType") or "Default") == "KMS":
        key_arn = restores.meta(job, "kmsMasterKeyArn")
        request["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn}
    return request


def _throughput(described: dict[str, Any]) -> dict[str, int]:
    throughput = described.get("ProvisionedThroughput") or {}
    return {
        "ReadCapacityUnits": int(throughput.get("ReadCapacityUnits") or 1),
        "WriteCapacityUnits": int(throughput.get("WriteCapacityUnits") or 1),
    }


def _index(index: dict[str, Any], provisioned: bool) -> dict[str, Any]:
    made = {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
    if provisioned:
        made["ProvisionedThroughput"] = _throughput(index)
    return made


def _trimmed(items: list[dict[str, Any]], stale: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A stale copy (the emulator's switch): without the items of its newest `minutes`, by `column`."""
    if not stale:
        return items
    attribute, window = stale["column"], float(stale["minutes"]) * 60.0
    stamps = [(item, _epoch(item.get(attribute))) for item in items]
    newest = max((stamp for _, stamp in stamps if stamp is not None), default=None)
    if newest is None:
        return items
    return [item for item, stamp in stamps if stamp is None or stamp <= newest - window]


def _epoch(value: dict[str, Any] | None) -> float | None:
    """An attribute value (wire form) as epoch seconds: a number, or an ISO-8601 string."""
    if not value:
        return None
    if "N" in value:
        return float(value["N"])
    if "S" in value:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value["S"]).timestamp()
    return None


def _active(emu: Emulator, name: str) -> None:
    """The table is no longer being created (ACTIVE, or gone with its failed restore)."""
    creating = emu.creating_tables.pop(name, None)
    if creating is not None:
        creating.set()


async def _sleep_until(deadline: float) -> None:
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)
