"""Secrets stay secret, restored copies are read-only to the checks, TLS is the default."""

from __future__ import annotations

import logging

import boto3
from harness.worker_stack import make_stack, run_inline
from prometheus_client import generate_latest

import worker.kinds.rds_prepare as prepare
from worker.log import configure_logging
from worker.settings import DbTls, Settings

WRITING_CHECK = """
[[selection.check]]
name = "tries-to-write"
kind = "sql"
query = "INSERT INTO events (created_at, amount) VALUES (now(), -5) RETURNING 1"
expect = 1
"""


async def test_generated_passwords_never_reach_logs_records_or_metrics(emulator, monkeypatch, capfd):
    generated: list[str] = []
    original = prepare.new_password

    def recording_new_password(length: int = 32) -> str:
        password = original(length)
        generated.append(password)
        return password

    monkeypatch.setattr(prepare, "new_password", recording_new_password)
    configure_logging("DEBUG", "json")
    stack = await make_stack()
    try:
        sources = [await stack.add_source(engine) for engine in ("postgres", "mariadb")]
        async with run_inline(stack) as registry:
            for source in sources:
                await stack.backup_and_copy(source)
            records = await stack.wait_for_records(2)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="queue drained")
            exposition = generate_latest(registry).decode()
        assert {r["status"] for r in records} == {"PASSED"}
        assert len(generated) == 2
        secrets = generated + [source.password for source in sources]
        produced = "\n".join(
            [
                capfd.readouterr().err,
                repr(records),
                repr(stack.log_lines()),
                exposition,
                repr(boto3.client("logs").filter_log_events(logGroupName=stack.resources.log_group)),
            ]
        )
        assert "stage.password_reset" in produced, "the debug log was captured"
        for secret in secrets:
            assert secret not in produced
    finally:
        logging.getLogger().handlers.clear()
        await stack.close()


async def test_a_check_that_writes_is_refused_and_the_row_is_not_written(emulator):
    stack = await make_stack(extra_checks=WRITING_CHECK)
    try:
        source = await stack.add_source("postgres")
        async with run_inline(stack):
            await stack.backup_and_copy(source)
            records = await stack.wait_for_records(1)
        writer = next(c for c in records[0]["checks"] if c["name"] == "tries-to-write")
        assert writer["status"] == "ERROR"
        assert "read-only" in writer["message"].lower()
        assert records[0]["status"] == "ERROR"
        negative = next(c for c in records[0]["checks"] if c["kind"] == "sql" and c["name"] != "tries-to-write")
        assert negative["status"] == "PASSED"  # ran after the refused write: nothing was written
    finally:
        await stack.close()


def test_tls_is_required_unless_disabled(monkeypatch, tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text("")
    monkeypatch.delenv("BV_DB_TLS", raising=False)
    settings = Settings(
        queue_url="https://sqs.us-east-1.amazonaws.com/1/q", results_bucket="b", ledger_table="t", policy_file=policy
    )
    assert settings.db_tls is DbTls.REQUIRE and settings.tls_required


async def test_default_tls_refuses_a_server_without_tls(emulator):
    stack = await make_stack()
    try:
        source = await stack.add_source("postgres")
        async with run_inline(stack, db_tls="require"):
            await stack.backup_and_copy(source)
            records = await stack.wait_for_records(1, timeout=90)
        record = records[0]
        assert record["status"] == "ERROR"
        assert all(c["status"] == "ERROR" for c in record["checks"])
        assert any("ssl" in c["message"].lower() or "tls" in c["message"].lower() for c in record["checks"])
        assert record["cleanup_status"] == "DELETED"
    finally:
        await stack.close()
