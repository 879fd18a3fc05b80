"""Bounded sizes: a check whose observed value is huge (a multi-MB text from a SQL assertion) still ends in a
record, within the size bounds of docs/record.md, and the restored copy is deleted (no DynamoDB item limit
hit before cleanup, no message left for the DLQ)."""

from __future__ import annotations

import json

import pytest
from harness.worker_stack import make_stack, run_inline

from worker.record import MAX_RECORD_BYTES, MAX_TEXT_BYTES

HUGE_CHECK = """
[[selection.check]]
name = "huge"
kind = "sql"
query = "SELECT repeat('x', 5000000)"
expect = "y"
"""


@pytest.fixture
async def stack(emulator):
    made = await make_stack(extra_checks=HUGE_CHECK)
    yield made
    await made.close()


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
async def test_a_multi_megabyte_observed_value_gives_a_bounded_record_and_no_leak(stack, engine):
    source = await stack.add_source(engine)
    async with run_inline(stack):
        await stack.backup_and_copy(source)
        records = await stack.wait_for_records(1, timeout=120)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    assert len(records) == 1
    record = records[0]
    assert record["status"] == "FAILED", record["reason"]
    huge = next(check for check in record["checks"] if check["name"] == "huge")
    assert huge["status"] == "FAILED"
    assert huge["observed"].startswith("xxxx") and huge["observed"].endswith("[truncated]")
    for text in (huge["observed"], huge["message"], huge["expectation"]):
        assert len(json.dumps(text).encode()) <= MAX_TEXT_BYTES
    assert len(json.dumps(record).encode()) <= MAX_RECORD_BYTES
    assert [c["status"] for c in record["checks"] if c["name"] != "huge"] == ["PASSED"] * 3
    assert record["cleanup_status"] == "DELETED"
    assert stack.restored_instances() == []
    assert stack.queue_depth(stack.resources.dlq_url) == 0
    assert len(stack.log_lines()) == 1
