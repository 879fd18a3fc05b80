"""A mixed fleet validated for real (worker, emulator, moto, the machine's databases), read back by `report`.

Sources: `pg` passes twice, `maria` passes, `stale` fails its freshness check, `broken` cannot be restored,
`untested` is backed up (AWS Backup holds a recovery point) but never validated. One object under the prefix
is not a record. Built once per session: the validations take a while.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from harness.outputs import REPORT_OUTPUT
from harness.worker_stack import WorkerStack, make_stack, run_inline

from emulator.traffic import Source

OUTPUT = REPORT_OUTPUT


@dataclass
class Fleet:
    stack: WorkerStack
    sources: dict[str, Source]
    records: list[dict[str, Any]]
    junk_key: str

    def arn(self, name: str) -> str:
        return self.sources[name].arn

    def records_of(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["source_resource_arn"] == self.arn(name)]

    def report(
        self, *args: str, env: dict[str, str] | None = None, **overrides: Any
    ) -> subprocess.CompletedProcess[str]:
        """`backup-validator report ARGS` with the stack's environment (settings overridden) plus `env`."""
        return subprocess.run(
            [sys.executable, "-m", "worker.cli", "report", *args],
            env={**self.stack.env(**overrides), **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def report_json(self, *args: str) -> dict[str, Any]:
        done = self.report("--format", "json", *args)
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))


async def _validate(stack: WorkerStack, source: Source, expected_records: int) -> None:
    await stack.backup_and_copy(source)
    records = await stack.wait_for_records(expected_records, timeout=90)
    assert len(records) == expected_records, records
    await stack.wait_until(lambda: stack.queue_depth() == 0, timeout=60, what="message acked")


@pytest.fixture(scope="session")
async def fleet(emulator_session) -> AsyncIterator[Fleet]:
    initial = emulator_session.knobs()
    stack = await make_stack()
    try:
        sources = {
            "pg": await stack.add_source("postgres"),
            "maria": await stack.add_source("mariadb"),
            "stale": await stack.add_source("postgres", stale_minutes=120),
            "broken": await stack.add_source("postgres"),
            "untested": await stack.add_source("mariadb"),
        }
        async with run_inline(stack):
            count = 0
            for name in ("pg", "maria", "stale", "pg"):
                count += 1
                await _validate(stack, sources[name], count)
            emulator_session.configure(restore_fail_rate=1.0)
            await _validate(stack, sources["broken"], count + 1)
            emulator_session.reset(initial)
        # Backed up and copied with no worker running: protected, never validated.
        await stack.backup_and_copy(sources["untested"])
        records = stack.records()
        junk_key = f"validations/dt={datetime.now(UTC):%Y-%m-%d}/not-a-record.json"
        boto3.client("s3").put_object(Bucket=stack.resources.bucket, Key=junk_key, Body=b"{truncated")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        yield Fleet(stack, sources, records, junk_key)
    finally:
        emulator_session.reset(initial)
        await stack.close()
