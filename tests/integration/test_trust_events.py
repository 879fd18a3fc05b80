"""AWS's documented `Restore Job State Change` bodies through the real worker: `state` instead of `status`, and
non-terminal states, are acknowledged and counted as ignored; none reaches the DLQ."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness.worker_stack import make_stack, metric_value, run_inline

EVENTS = Path(__file__).parent.parent / "fixtures" / "events"


@pytest.fixture
async def stack(emulator):
    made = await make_stack()
    yield made
    await made.close()


async def test_documented_restore_events_with_state_are_acked_never_dead_lettered(stack):
    async with run_inline(stack) as registry:
        stack.send((EVENTS / "restore_job_created_state.json").read_text())
        stack.send((EVENTS / "restore_job_failed_state.json").read_text())
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="both events acked")
        ignored = metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "ignored"})
        restore_events = metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "restore_event"})
        malformed = metric_value(registry, "backup_validation_sqs_messages_total", {"outcome": "malformed"})
    assert (ignored, restore_events, malformed) == (1, 1, 0)
    assert stack.queue_depth(stack.resources.dlq_url) == 0
