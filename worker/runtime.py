"""Everything a job needs, built once per worker process and shared by all jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

import worker.adapters.database as database
import worker.stages.checks as check_stage
from worker.adapters.aws import THROTTLING_CODES, error_code
from worker.adapters.backup import Backup
from worker.adapters.ledger import Ledger
from worker.adapters.rds import Rds
from worker.adapters.results import LogSink, ResultStore
from worker.adapters.sqs import Queue
from worker.errors import Retryable
from worker.metrics import Metrics
from worker.policy import Policy, Selection
from worker.reporting import Reporter
from worker.settings import Settings
from worker.stages.prepare import Connection
from worker.stages.wait import RestoreWatcher


@dataclass
class Runtime:
    settings: Settings
    policy: Policy
    metrics: Metrics
    log: Any
    queue: Queue
    ledger: Ledger
    backup: Backup
    rds: Rds
    store: ResultStore
    sink: LogSink | None
    watcher: RestoreWatcher
    reporter: Reporter
    restore_slots: asyncio.Semaphore
    account_slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)  # recovery points whose ledger lease this worker renews
    # Recovery points a message of this process is handling, claim included: the ledger's conditional write
    # settles races between processes, this settles them inside one before the write is even sent.
    busy: set[str] = field(default_factory=set)

    def account_slot(self, account_region: str) -> asyncio.Semaphore:
        limit = self.settings.max_restores_per_account or self.settings.max_concurrent_restores
        if account_region not in self.account_slots:
            self.account_slots[account_region] = asyncio.Semaphore(limit)
        return self.account_slots[account_region]

    @staticmethod
    def is_retryable(exc: BaseException) -> bool:
        """Errors that may pass later: throttling, server faults, the network. Not bad requests."""
        if isinstance(exc, Retryable):
            return True
        if isinstance(exc, ClientError):
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            return error_code(exc) in THROTTLING_CODES or status >= 500
        return isinstance(exc, BotoCoreError | OSError | asyncio.TimeoutError)

    async def run_checks(
        self, connection: Connection, plan: Selection, ctx: check_stage.CheckContext, deadline: float
    ) -> Sequence[check_stage.CheckResult]:
        """Connect (retrying while the new password settles), then run every check."""
        loop = asyncio.get_running_loop()
        delay = 1.0
        attempts = self.settings.db_connect_attempts
        for attempt in range(1, attempts + 1):
            try:
                async with database.open_database(
                    connection.engine,
                    connection.host,
                    connection.port,
                    connection.user,
                    connection.password,
                    connection.database,
                    tls=self.settings.tls_required,
                    statement_timeout=plan.statement_timeout.total_seconds(),
                    tls_ca_file=str(self.settings.db_ca_file) if self.settings.db_ca_file else None,
                ) as db:
                    return await check_stage.run_checks(
                        db, plan.checks, ctx, check_timeout=plan.check_timeout.total_seconds(),
                        budget=plan.check_budget.total_seconds(),
                    )  # fmt: skip
            except database.DatabaseUnavailable as exc:
                if attempt == attempts or loop.time() + delay > deadline:
                    return _all_errored(plan, f"database unreachable: {exc}")
                self.log.info("checks.connect_retry", attempt=attempt, error=str(exc))
                await asyncio.sleep(delay)
                delay *= 2
        return _all_errored(plan, "database unreachable")


def _all_errored(plan: Selection, message: str) -> list[check_stage.CheckResult]:
    return [check_stage.errored(spec, message) for spec in plan.checks]
