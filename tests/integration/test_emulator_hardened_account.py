"""The worker against a hardened central account (no default VPC): its own restores succeed because it supplies
the restoring account's network (BV_SUBNET_GROUP, BV_SECURITY_GROUP_IDS); without it they fail as in AWS."""

from __future__ import annotations

import pytest
from harness.worker_stack import WorkerStack, make_stack, run_inline


@pytest.fixture
async def stack(emulator):
    made = await make_stack()
    yield made
    await made.close()


async def validate_one(stack: WorkerStack, emulator, **settings) -> dict:
    source = await stack.add_source("postgres")  # the source account has its default VPC
    emulator.configure(default_vpc=False)  # the restoring account has none
    async with run_inline(stack, **settings):
        await stack.backup_and_copy(source)
        records = await stack.wait_for_records(1)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="message acked")
    assert len(records) == 1
    return records[0]


async def test_the_worker_restores_into_its_own_network_in_a_hardened_account(stack, emulator):
    record = await validate_one(stack, emulator)
    assert record["status"] == "PASSED", record
    assert record["cleanup_status"] == "DELETED"
    assert stack.restored_instances() == []


async def test_without_a_network_setting_the_restore_fails_as_aws_reports_it(stack, emulator):
    record = await validate_one(stack, emulator, subnet_group=None, security_group_ids="")
    assert record["status"] == "RESTORE_FAILED", record
    assert "InvalidVPCNetworkStateFault" in (record["reason"] or ""), record
    assert record["checks"] == []
    assert stack.restored_instances() == []
