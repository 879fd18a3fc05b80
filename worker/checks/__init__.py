"""The checks a selection declares, run over the restored data. `sql` holds the SQL check kinds (PostgreSQL,
MySQL/MariaDB); a plugin check imports `CheckContext` and `CheckOutcome` from here."""

from worker.checks.results import CheckContext, CheckOutcome, CheckResult, freshness_figures, row_counts
from worker.checks.sql import compares_with_previous, errored, run_checks
from worker.checks.values import CheckError, as_utc_timestamp, to_jsonable
from worker.errors import QueryError, QueryTimeout
from worker.ports import Database
from worker.redact import safe_message, scrub_secrets

__all__ = [
    "CheckContext",
    "CheckError",
    "CheckOutcome",
    "CheckResult",
    "Database",
    "QueryError",
    "QueryTimeout",
    "as_utc_timestamp",
    "compares_with_previous",
    "errored",
    "freshness_figures",
    "row_counts",
    "run_checks",
    "safe_message",
    "scrub_secrets",
    "to_jsonable",
]
