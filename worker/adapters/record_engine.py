"""DuckDB over the records: an in-memory table shaped like the Glue table, so that the report's SQL and the
Athena named queries run on it. Athena (Trino) functions that DuckDB spells differently are macros here."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

# Athena/Trino name -> the same function in DuckDB. Only the engine is adapted: the SQL text stays Athena's.
ATHENA_FUNCTIONS = (
    "CREATE MACRO from_iso8601_timestamp(text) AS CAST(text AS TIMESTAMPTZ)",
    "CREATE MACRO date_format(moment, pattern) AS strftime(moment, pattern)",
    "CREATE MACRO approx_percentile(value, fraction) AS quantile_cont(value, fraction)",
    "CREATE MACRO transform(items, fn) AS list_transform(items, fn)",
)


class RecordEngine:
    """One in-memory database per report; `load` once, then `query` as often as needed."""

    def __init__(self, table: str = "validations") -> None:
        self.table = table
        self._db = duckdb.connect(":memory:")
        self._db.execute("SET TimeZone = 'UTC'")
        self._db.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")  # Athena's `c -> ...` lambdas
        for statement in ATHENA_FUNCTIONS:
            self._db.execute(statement)

    def load(self, rows: Iterable[dict[str, Any]], columns: dict[str, str]) -> int:
        """Create the table with exactly these columns and types, from rows (dicts) of JSON-able values."""
        with tempfile.TemporaryDirectory(prefix="bv-report-") as scratch:
            path = Path(scratch) / "records.ndjson"
            with path.open("w", encoding="utf-8") as out:
                for row in rows:
                    out.write(json.dumps(row, default=str) + "\n")
            self._db.execute(
                f"CREATE OR REPLACE TABLE {self.table} AS SELECT * FROM read_json(?, format = 'newline_delimited', "
                "columns = ?, ignore_errors = false)",
                [str(path), columns],
            )
        count = self._db.execute(f"SELECT count(*) FROM {self.table}").fetchone()
        return int(count[0]) if count else 0

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cursor = self._db.execute(sql, parameters or {})
        names = [column[0] for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self._db.close()
