"""`report` through Athena (BV_ATHENA_WORKGROUP) on moto. moto does not execute SQL: it answers a query with rows
queued through its API. What this shows: the query the report sends (workgroup, database, table, partition
pruning, checks as JSON), that it waits for the execution and pages the results, and that Athena's all-text values
(checks as JSON objects, or arrays in field order as older engines cast them) give the same report as S3."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import boto3
import pytest
import requests

from worker.report.schema import CHECK_FIELDS, RECORD_COLUMNS

pytestmark = pytest.mark.slow
DATABASE = "bv_records"


def athena_cell(name: str, value, as_arrays: bool) -> dict:
    if value is None:
        return {}
    if name == "checks":
        checks = [[c.get(f) for f in CHECK_FIELDS] if as_arrays else c for c in value]
        return {"VarCharValue": json.dumps(checks)}
    if isinstance(value, bool):
        return {"VarCharValue": "true" if value else "false"}
    return {"VarCharValue": str(value)}


def athena_rows(fleet) -> list[dict]:
    names = list(RECORD_COLUMNS)
    rows = [{"Data": [{"VarCharValue": name} for name in names]}]  # a SELECT's first row: the column names
    for index, record in enumerate(fleet.records):
        values = {**record, "dt": record["finished_at"][:10]}
        rows.append({"Data": [athena_cell(name, values.get(name), index % 2 == 1) for name in names]})
    return rows


def column_info() -> list[dict]:
    types = {"VARCHAR": "varchar", "DOUBLE": "double", "BOOLEAN": "boolean"}
    return [
        {"Name": name, "Label": name, "Type": types.get(kind, "json"), "Nullable": "UNKNOWN"}
        for name, kind in RECORD_COLUMNS.items()
    ]


def test_report_through_athena_matches_the_report_from_s3(fleet, moto_server):
    athena = boto3.client("athena")
    workgroup = f"{fleet.stack.prefix}-wg"
    athena.create_work_group(
        Name=workgroup,
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{fleet.stack.resources.bucket}/athena/"}},
    )
    queued = requests.post(
        f"{moto_server.url}/moto-api/static/athena/query-results",
        json={"results": [{"rows": athena_rows(fleet), "column_info": column_info()}]},
        timeout=10,
    )
    assert queued.status_code == 201
    env = {"BV_ATHENA_WORKGROUP": workgroup, "BV_ATHENA_DATABASE": DATABASE}
    until = datetime.now(UTC).isoformat()  # one moment for both reports: hours since a pass depend on it
    done = fleet.report("--format", "json", "--until", until, env=env)
    assert done.returncode == 0, done.stderr
    through_athena = json.loads(done.stdout)
    from_s3 = fleet.report_json("--until", until)
    assert through_athena["source"] == f"athena:{workgroup}/{DATABASE}.validations"
    assert through_athena["resources"] == from_s3["resources"]
    assert through_athena["failures"] == from_s3["failures"]

    (execution_id,) = athena.list_query_executions(WorkGroup=workgroup)["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    query = execution["Query"]
    assert execution["WorkGroup"] == workgroup
    assert execution["QueryExecutionContext"]["Database"] == DATABASE
    assert f'FROM "{DATABASE}"."validations"' in query
    assert re.search(r"WHERE dt BETWEEN '\d{4}-\d{2}-\d{2}' AND '\d{4}-\d{2}-\d{2}'", query)
    assert "json_format(CAST(checks AS JSON)) AS checks" in query


def test_athena_needs_its_database(fleet):
    done = fleet.report(env={"BV_ATHENA_WORKGROUP": "primary"})
    assert done.returncode == 2 and "BV_ATHENA_DATABASE" in done.stderr
