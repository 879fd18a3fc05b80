"""Restored databases that don't work: the record says why, every check still ran, and the copy is deleted."""

from __future__ import annotations

import pytest
from harness.worker_stack import make_stack, metric_value, run_inline

SLOW_AND_BROKEN = """
[[selection.check]]
name = "too-slow"
kind = "sql"
query = "{sleep}"
expect = 1

[[selection.check]]
name = "bad-sql"
kind = "sql"
query = "SELECT count(*) FROM table_that_is_not_there"
expect = 0
"""
SLEEP = {"postgres": "SELECT 1 FROM pg_sleep(10)", "mariadb": "SELECT 1 FROM (SELECT SLEEP(10)) AS s"}


@pytest.mark.parametrize(
    "knob, engine",
    [
        ("unreachable_rate", "postgres"),
        ("unreachable_rate", "mariadb"),
        ("ignore_password_rate", "postgres"),
        ("ignore_password_rate", "mariadb"),
    ],
)
async def test_unreachable_or_wrong_password_gives_error_records_and_deletes_the_copy(emulator, knob, engine):
    stack = await make_stack()
    try:
        source = await stack.add_source(engine)
        emulator.configure(**{knob: 1.0})
        async with run_inline(stack) as registry:
            await stack.backup_and_copy(source)
            records = await stack.wait_for_records(1, timeout=90)
            await stack.wait_until(lambda: stack.queue_depth() == 0, what="queue drained")
        record = records[0]
        assert record["status"] == "ERROR"
        assert len(record["checks"]) == 3 and {c["status"] for c in record["checks"]} == {"ERROR"}
        assert all("unreachable" in c["message"] for c in record["checks"]), record["checks"]
        assert record["cleanup_status"] == "DELETED"
        assert metric_value(registry, "backup_validation_validations_total", {"status": "ERROR"}) == 1
        await stack.wait_until(lambda: stack.restored_instances() == [], what="copy deleted")
    finally:
        emulator.configure(**{knob: 0.0})
        await stack.close()


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
async def test_statement_timeout_and_sql_errors_fail_only_their_checks(emulator, engine):
    stack = await make_stack(extra_checks=SLOW_AND_BROKEN.format(sleep=SLEEP[engine]), defaults="")
    stack.policy_file.write_text(
        stack.policy_file.read_text().replace('statement_timeout = "5s"', 'statement_timeout = "1s"')
    )
    try:
        source = await stack.add_source(engine)
        async with run_inline(stack):
            await stack.backup_and_copy(source)
            records = await stack.wait_for_records(1, timeout=60)
        checks = {c["name"]: c for c in records[0]["checks"]}
        assert checks["too-slow"]["status"] == "ERROR"
        assert "timeout" in checks["too-slow"]["message"].lower()
        assert checks["too-slow"]["duration_seconds"] < 5
        assert checks["bad-sql"]["status"] == "ERROR"
        assert "table_that_is_not_there" in checks["bad-sql"]["message"]
        others = [c for name, c in checks.items() if name not in {"too-slow", "bad-sql"}]
        assert len(others) == 3 and {c["status"] for c in others} == {"PASSED"}
        assert records[0]["status"] == "ERROR"
        assert records[0]["cleanup_status"] == "DELETED"
        await stack.wait_until(lambda: stack.restored_instances() == [], what="copy deleted")
    finally:
        await stack.close()
