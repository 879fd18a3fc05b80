"""`backup-validator validate`: send one on-demand request, say exactly what was done, optionally wait for the
recovery point's record. Every network step is bounded, so an unreachable queue or ledger is an error, not a hang.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from worker.errors import MalformedMessage
from worker.events import parse_body
from worker.ledger_item import DONE, LedgerItem
from worker.model import PASSED, SKIPPED, region_of, validation_id
from worker.policy import Policy
from worker.record import record_key
from worker.settings import Settings

if TYPE_CHECKING:
    from worker.wiring import Services

EXIT_PASSED = 0
EXIT_NOT_PASSED = 1  # FAILED, RESTORE_FAILED, ERROR, or sampled out (no record)
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3  # the queue, ledger or bucket did not answer in time, or no record came in time
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Request:
    arn: str
    vault: str | None
    force: bool
    wait_seconds: float | None  # None: send and return
    timeout_seconds: float  # for reaching AWS at all


def request_body(arn: str, vault: str | None, force: bool) -> str:
    """The body the worker's parser accepts; MalformedMessage when `arn` cannot be a recovery point ARN."""
    body = json.dumps(
        {"recoveryPointArn": arn, **({"backupVaultName": vault} if vault else {}), **({"force": True} if force else {})}
    )
    parse_body(body)
    return body


async def validate(settings: Settings, request: Request, out: TextIO = sys.stdout) -> int:
    try:
        body = request_body(request.arn, request.vault, request.force)
    except MalformedMessage as exc:
        print(f"backup-validator: not a recovery point ARN: {exc}", file=sys.stderr)
        return EXIT_USAGE
    elsewhere = region_of(request.arn)
    if settings.aws_region and elsewhere and elsewhere != settings.aws_region:
        # The worker would only acknowledge it (other_region): one deployment per region (docs/fleet.md).
        print(f"backup-validator: {request.arn} is in {elsewhere}; this deployment serves {settings.aws_region}: "
              f"send it to the {elsewhere} deployment (its AWS_REGION and BV_QUEUE_URL)", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    from worker.wiring import open_services

    async with open_services(settings, Policy(source="<none>", selections=())) as services:
        try:
            async with asyncio.timeout(request.timeout_seconds):
                before = await services.ledger.item(request.arn)
                sent_at = time.time()
                message_id = await services.queue.send(body)
        except Exception as exc:  # noqa: BLE001 - any failure to reach AWS ends the command with its cause
            problem = "no answer" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}"
            print(f"backup-validator: cannot reach the ledger or queue within {request.timeout_seconds:g}s: "
                  f"{problem} ({settings.queue_url})", file=sys.stderr)  # fmt: skip
            return EXIT_UNREACHABLE
        print(_what_was_done(request, message_id, before), file=out)
        if request.wait_seconds is None:
            return EXIT_PASSED
        return await _wait_for_record(services, request, sent_at, out)


def _what_was_done(request: Request, message_id: str, before: LedgerItem | None) -> str:
    sent = f"sent an on-demand request for {request.arn} (message {message_id})"
    if request.force:
        return sent + " with --force: a running worker validates it again even if done or sampled out"
    if before is not None and before.status == SKIPPED:
        return (
            sent + "; sampling skipped it before, so the worker will acknowledge the request without "
            "validating (use --force to validate it)"
        )
    if before is not None and before.state == DONE:
        return (
            sent + f"; it is already validated (status {before.status}), so the worker will acknowledge "
            "the request without validating again (use --force to validate again)"
        )
    return sent + (
        "; a running worker validates it if the policy selects it and sampling admits it"
        + (" (a validation of it is in progress)" if before is not None else "")
    )


async def _wait_for_record(services: Services, request: Request, sent_at: float, out: TextIO) -> int:
    """Poll the ledger until the recovery point is DONE (after this request, with --force), then print its
    record from S3; the exit status is the verdict."""
    assert request.wait_seconds is not None
    deadline = time.monotonic() + request.wait_seconds
    while time.monotonic() < deadline:
        try:
            async with asyncio.timeout(request.timeout_seconds):
                item = await services.ledger.item(request.arn)
                if item is not None and item.state == DONE and (not request.force or item.updated_at >= int(sent_at)):
                    return await _print_record(services, item, out)
        except TimeoutError:
            pass  # one slow answer; keep waiting within --wait
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    print(f"backup-validator: no record for {request.arn} within {request.wait_seconds:g}s (the policy may not "
          "select it, or the worker is busy: see its logs)", file=sys.stderr)  # fmt: skip
    return EXIT_UNREACHABLE


async def _print_record(services: Services, item: LedgerItem, out: TextIO) -> int:
    if item.status == SKIPPED:
        print("sampled out by the selection's min_interval: no record (use --force to validate it)", file=out)
        return EXIT_NOT_PASSED
    claimed_at = datetime.fromtimestamp(item.claimed_at, UTC)
    key = record_key(
        services.settings.results_prefix,
        {"validation_id": validation_id(item.recovery_point_arn, item.generation)},
        claimed_at,
    )
    record = await services.store.get_json(key)
    print(json.dumps(record, indent=2, sort_keys=True), file=out)
    return EXIT_PASSED if record.get("status") == PASSED else EXIT_NOT_PASSED
