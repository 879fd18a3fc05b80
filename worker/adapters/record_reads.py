"""Reading the summary records back for the report: S3 objects under the Hive-partitioned prefix, or an Athena
query over the Glue table. Both give the same thing: (record, dt partition) pairs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from worker.adapters.aws import parse_timestamp

Progress = Callable[[int, int], None]
PARTITION = re.compile(r"dt=(\d{4}-\d{2}-\d{2})/[^/]+\.json$")
READ_CONCURRENCY = 16
GET_TIMEOUT = 30.0


@dataclass(frozen=True)
class ReportClients:
    s3: Any
    athena: Any
    backup: Any


@dataclass
class RecordBatch:
    """What a read found: the records with their partition day, and the objects that were not records."""

    records: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def report_clients() -> AsyncIterator[ReportClients]:
    session = get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    config = AioConfig(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=30)
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(session.create_client(name, config=config))
            for name in ("s3", "athena", "backup")
        }
        yield ReportClients(**clients)


async def read_s3_records(
    s3: Any, bucket: str, prefix: str, first_day: date, last_day: date, progress: Progress
) -> RecordBatch:
    """Every record in the partitions first_day..last_day. Keys sort by day, so the listing starts at the first."""
    keys: list[tuple[str, str]] = []
    paginator = s3.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=bucket, Prefix=prefix, StartAfter=f"{prefix}dt={first_day}"):
        for item in page.get("Contents", []):
            match = PARTITION.search(item["Key"][len(prefix) :])
            if match and first_day.isoformat() <= match.group(1) <= last_day.isoformat():
                keys.append((item["Key"], match.group(1)))
    batch = RecordBatch()
    progress(0, len(keys))
    slots = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(key: str, day: str) -> None:
        async with slots:
            response = await asyncio.wait_for(s3.get_object(Bucket=bucket, Key=key), GET_TIMEOUT)
            async with response["Body"] as body:
                raw = await asyncio.wait_for(body.read(), GET_TIMEOUT)
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
        if isinstance(document, dict):
            batch.records.append((document, day))
        else:
            batch.unreadable.append(key)
        progress(len(batch.records) + len(batch.unreadable), len(keys))

    await asyncio.gather(*(read(key, day) for key, day in keys))
    return batch


@dataclass(frozen=True)
class AthenaTable:
    workgroup: str
    database: str
    table: str
    timeout: float


async def read_athena_records(
    athena: Any, where: AthenaTable, columns: dict[str, str], first_day: date, last_day: date, progress: Progress
) -> RecordBatch:
    """The same records through Athena: the partitions are pruned by `dt`, the checks come back as JSON text."""
    selected = ", ".join(
        "json_format(CAST(checks AS JSON)) AS checks" if name == "checks" else f'"{name}"' for name in columns
    )
    query = (
        f'SELECT {selected} FROM "{where.database}"."{where.table}" '
        f"WHERE dt BETWEEN '{first_day.isoformat()}' AND '{last_day.isoformat()}'"
    )
    started = await athena.start_query_execution(
        QueryString=query, WorkGroup=where.workgroup, QueryExecutionContext={"Database": where.database}
    )
    execution_id = started["QueryExecutionId"]
    try:
        await asyncio.wait_for(_until_succeeded(athena, execution_id), where.timeout)
    except TimeoutError:
        with contextlib.suppress(Exception):
            await athena.stop_query_execution(QueryExecutionId=execution_id)
        raise TimeoutError(f"Athena query {execution_id} did not finish in {where.timeout:.0f} s") from None
    return await _result_rows(athena, execution_id, columns, progress)


async def _until_succeeded(athena: Any, execution_id: str) -> None:
    delay = 0.2
    while True:
        response = await athena.get_query_execution(QueryExecutionId=execution_id)
        status = response["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            return
        if status["State"] in ("FAILED", "CANCELLED"):
            raise RuntimeError(f"Athena query {execution_id} {status['State']}: {status.get('StateChangeReason', '')}")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


async def _result_rows(athena: Any, execution_id: str, columns: dict[str, str], progress: Progress) -> RecordBatch:
    batch = RecordBatch()
    names: list[str] | None = None
    paginator = athena.get_paginator("get_query_results")
    async for page in paginator.paginate(QueryExecutionId=execution_id):
        rows = page["ResultSet"].get("Rows", [])
        if names is None:  # a SELECT's first row repeats the column names
            names = [info["Name"] for info in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
            rows = rows[1:]
        for row in rows:
            values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
            record = {
                name: _typed(columns.get(name, "VARCHAR"), value) for name, value in zip(names, values, strict=False)
            }
            batch.records.append((record, str(record.pop("dt", "") or "")))
        progress(len(batch.records), len(batch.records))
    return batch


def _typed(column_type: str, value: str | None) -> Any:
    """Athena returns every value as text; back to the record's JSON types."""
    if value is None:
        return None
    if column_type == "DOUBLE":
        return float(value)
    if column_type == "BOOLEAN":
        return value.lower() == "true"
    if column_type.endswith("[]"):
        return [_struct(column_type, item) for item in json.loads(value)]
    return value


def _struct(column_type: str, item: Any) -> Any:
    """Trino casts a row to a JSON object, older Presto engines to an array in field order: both become objects."""
    if not isinstance(item, list):
        return item
    fields = re.findall(r"(\w+) \w+", column_type[column_type.index("(") + 1 : column_type.rindex(")")])
    return dict(zip(fields, item, strict=False))
