"""A truthful `validate`: bad ARNs are refused, an unreachable queue is a bounded error, `--wait` prints the
recovery point's record with its verdict as the exit status, `--force` validates again, and `AWS_REGION` alone
is enough. The real `backup-validator` process against moto, the emulator and the real databases."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time

import pytest
from harness.worker_stack import make_stack, run_cli, run_inline


@pytest.fixture
async def stack(emulator):
    made = await make_stack()
    yield made
    await made.close()


def cli(stack, *args: str, env_changes: dict[str, str | None] | None = None, timeout: float = 180):
    env = stack.env()
    for name, value in (env_changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args], env=env, capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:backup", "", "arn:" + "x" * 3000])
async def test_a_bad_arn_exits_2_with_a_message_and_sends_nothing(stack, arn):
    result = await asyncio.to_thread(run_cli, stack, "validate", arn)
    assert result.returncode == 2, result
    assert "not a recovery point ARN" in result.stderr
    assert stack.queue_depth() == 0


async def test_a_recovery_point_of_another_region_exits_2_and_sends_nothing(stack):
    arn = "arn:aws:rds:eu-west-1:123456789012:snapshot:awsbackup:copyjob-0"
    result = await asyncio.to_thread(run_cli, stack, "validate", arn)
    assert result.returncode == 2, result
    assert "is in eu-west-1; this deployment serves us-east-1" in result.stderr
    assert stack.queue_depth() == 0


async def test_a_queue_that_never_answers_is_a_bounded_clear_error(stack):
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = await asyncio.to_thread(
            cli, stack, "validate", "arn:aws:backup:us-east-1:123456789012:recovery-point:x", "--timeout", "3",
            env_changes={"AWS_ENDPOINT_URL_SQS": url},
        )  # fmt: skip
        took = time.monotonic() - started
    assert result.returncode == 3, result
    assert "cannot reach the ledger or queue within 3s" in result.stderr
    assert took < 3 + 15  # the bound, plus a Python start-up on a loaded machine


async def test_aws_region_alone_is_enough(stack):
    arn = "arn:aws:backup:us-east-1:123456789012:recovery-point:region-only"
    result = await asyncio.to_thread(
        cli, stack, "validate", arn, env_changes={"AWS_DEFAULT_REGION": None, "AWS_REGION": "us-east-1"}
    )
    assert result.returncode == 0, result.stderr
    assert f"sent an on-demand request for {arn}" in result.stdout
    assert "queued" not in result.stdout


async def test_wait_prints_the_record_then_says_a_done_point_is_not_validated_again_and_force_does(stack, emulator):
    source = await stack.add_source("postgres")
    async with run_inline(stack):
        arn = await stack.backup_and_copy(source)
        await stack.wait_for_records(1)
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="copy event acked")
        first = stack.records()[0]

        again = await asyncio.to_thread(cli, stack, "validate", arn, "--wait", "60")
        assert again.returncode == 0, again.stderr
        assert "already validated (status PASSED)" in again.stdout and "--force" in again.stdout
        printed = json.loads(again.stdout[again.stdout.index("{") :])
        assert printed["validation_id"] == first["validation_id"]
        assert printed["finished_at"] == first["finished_at"]  # the same record: nothing ran again
        await stack.wait_until(lambda: stack.queue_depth() == 0, what="duplicate acked")
        assert int(emulator.stats()["restore_jobs_per_recovery_point"][arn]) == 1

        forced = await asyncio.to_thread(cli, stack, "validate", arn, "--force", "--wait", "150")
        assert forced.returncode == 0, forced.stderr
        assert "with --force" in forced.stdout
        record = json.loads(forced.stdout[forced.stdout.index("{") :])
        assert record["status"] == "PASSED" and record["finished_at"] > first["finished_at"]
        assert record["cleanup_status"] == "DELETED"
        # A name of its own: the previous copy may still be deleting (RDS keeps it for minutes), and a restore
        # into its name would fail with DBInstanceAlreadyExists.
        assert record["restored_instance_id"] != first["restored_instance_id"]
    assert int(emulator.stats()["restore_jobs_per_recovery_point"][arn]) == 2
    assert stack.restored_instances() == []


async def test_wait_exits_1_on_a_failed_verdict(stack):
    source = await stack.add_source("mariadb", stale_minutes=600)
    async with run_inline(stack):
        arn = await stack.backup_and_copy(source)
        result = await asyncio.to_thread(cli, stack, "validate", arn, "--wait", "150")
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout[result.stdout.index("{") :])["status"] == "FAILED"


@pytest.mark.parametrize(
    ("defaults", "env", "expected"),
    [
        ('restore_timeout = "6h"', {"BV_RESOURCE_TTL_SECONDS": "3600"}, "BV_RESOURCE_TTL_SECONDS (1h)"),
        ('statement_timeout = "30d"', {}, "2147483647 ms"),
        ('restore_timeout = "99999999999999d"', {}, "too long"),
    ],
)
async def test_check_config_refuses_bounds_that_contradict_with_the_line(stack, defaults, env, expected):
    stack.policy_file.write_text(f'[defaults]\n{defaults}\n\n[[selection]]\nname = "all"\n')
    result = await asyncio.to_thread(cli, stack, "check-config", env_changes=env)
    assert result.returncode == 2, result
    assert f"{stack.policy_file}:2: defaults: " in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_forcing_message_reopens_a_done_point_once_and_its_redelivery_does_not(stack):
    from worker.policy import Policy
    from worker.wiring import open_services

    arn = "arn:aws:backup:us-east-1:123456789012:recovery-point:force-once"
    async with open_services(stack.settings(), Policy("<none>", ())) as services:
        ledger = services.ledger
        assert (await ledger.claim(arn, "m1", "vid")).outcome == "claimed"
        await ledger.mark_restoring(arn, "job-1", "bv-force-once", "postgres")
        await ledger.finish(arn, "PASSED")
        assert (await ledger.claim(arn, "m2", "vid")).outcome == "done"
        forced = await ledger.claim(arn, "m3", "vid", force=True)
        assert forced.outcome == "claimed", forced
        assert forced.item.generation == 1 and forced.item.restore_job_id is None
        assert (await ledger.claim(arn, "m4", "vid", force=True)).outcome == "held"  # live: not reopened
        resumed = await ledger.claim(arn, "m3", "vid", force=True)  # the forcing message, redelivered mid-run
        assert resumed.outcome == "claimed" and resumed.item.generation == 1
        await ledger.mark_restoring(arn, "job-2", "bv-force-once", "postgres")
        await ledger.finish(arn, "PASSED")
        assert (await ledger.claim(arn, "m3", "vid", force=True)).outcome == "done"  # redelivered after: no 3rd
