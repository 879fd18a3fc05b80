"""The SQL checks over one connection with our password, shared by the kinds whose data is a SQL database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from worker.checks import CheckContext, CheckResult, errored, run_checks
from worker.errors import DatabaseUnavailable
from worker.kinds import Target
from worker.ports import Connection, OpenDatabase


async def run_sql_checks(
    open_database: OpenDatabase,
    connection: Connection,
    target: Target,
    ctx: CheckContext,
    *,
    connect_attempts: int,
    log: Any,
) -> Sequence[CheckResult]:
    """Connect (retrying while the new password settles), then run every check."""
    plan = target.selection
    loop = asyncio.get_running_loop()
    delay = 1.0
    for attempt in range(1, connect_attempts + 1):
        try:
            async with open_database(connection, plan.statement_timeout.total_seconds()) as db:
                return await run_checks(
                    db,
                    plan.checks,
                    ctx,
                    check_timeout=plan.check_timeout.total_seconds(),
                    budget=plan.check_budget.total_seconds(),
                )
        except DatabaseUnavailable as exc:
            if attempt == connect_attempts or loop.time() + delay > target.deadline:
                return [errored(spec, f"database unreachable: {exc}") for spec in plan.checks]
            log.info("checks.connect_retry", attempt=attempt, error=str(exc))
            await asyncio.sleep(delay)
            delay *= 2
    return [errored(spec, "database unreachable") for spec in plan.checks]
