"""Bounded execution of checks, for SQL databases and DynamoDB tables alike: each check within its timeout,
all of them within the phase's budget, and a check that will not stop when cancelled abandoned, so the
validation still ends."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from worker.checks.results import CheckResult, Status
from worker.checks.values import CheckError
from worker.checks.verdict import Verdict
from worker.errors import QueryError
from worker.policy import CheckSpec
from worker.redact import safe_message

# How long a check that ignores cancellation gets to stop before it is abandoned (and reported as timed out).
CANCEL_GRACE_SECONDS = 2.0


RunOne = Callable[[CheckSpec, float | None], Awaitable[CheckResult]]


async def run_in_budget(
    checks: Sequence[CheckSpec],
    run: RunOne,
    not_run: Callable[[CheckSpec, str], CheckResult],
    check_timeout: float | None,
    budget: float | None,
) -> list[CheckResult]:
    """`check_timeout` bounds each check as a whole (plugins may run several queries or wait on anything else);
    `budget` bounds the phase: a check gets at most what is left of it, and once it is spent the remaining
    checks are ERRORs that say so (`not_run`). Either way this returns within `budget` (+ CANCEL_GRACE_SECONDS)."""
    loop = asyncio.get_running_loop()
    ends = None if budget is None else loop.time() + budget
    results = []
    for check in checks:
        left = None if ends is None else ends - loop.time()
        if left is not None and left <= 0:
            results.append(not_run(check, f"not run: the check budget ({budget:g}s) was used up"))
            continue
        by_budget = left is not None and (check_timeout is None or left < check_timeout)
        limit = left if by_budget else check_timeout
        result = await run(check, limit)
        if by_budget and result.message.startswith("check timed out"):
            result = dataclasses.replace(result, message=result.message + f" (what was left of the {budget:g}s budget)")
        results.append(result)
    return results


async def bounded(evaluation: Coroutine[Any, Any, Verdict], limit: float | None) -> tuple[Status, Verdict]:
    """A check's status and verdict within `limit` seconds (+ CANCEL_GRACE_SECONDS for one that ignores its
    cancellation, then abandoned); whatever breaks it is an ERROR saying why."""
    task = asyncio.ensure_future(evaluation)
    try:
        done, _ = await asyncio.wait({task}, timeout=limit)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        return "ERROR", Verdict(False, None, await _stop(task, limit))
    if task.cancelled():  # the check cancelled itself: its outcome, not the validation's
        return "ERROR", Verdict(False, None, "the check was cancelled")
    try:
        verdict = task.result()
    except TimeoutError as exc:  # one a plugin or driver let escape
        return "ERROR", Verdict(False, None, safe_message(exc))
    except (QueryError, CheckError) as exc:
        return "ERROR", Verdict(False, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - a broken check (or plugin) is reported, the others still run
        return "ERROR", Verdict(False, None, safe_message(exc))
    return ("PASSED" if verdict.passed else "FAILED"), verdict


async def _stop(task: asyncio.Future[Verdict], limit: float | None) -> str:
    """Cancel a check past its time; one that will not stop (it swallows the cancellation) is abandoned, so
    the validation still ends. The message says which happened."""
    task.cancel()
    await asyncio.wait({task}, timeout=CANCEL_GRACE_SECONDS)
    message = f"check timed out after {limit:g}s"
    if not task.done():
        _ABANDONED.add(task)  # held, so it is not garbage-collected mid-run; it may end later, unheard
        task.add_done_callback(_consume)
        return message + " and did not stop when cancelled (abandoned)"
    _consume(task)
    return message


_ABANDONED: set[asyncio.Future[Verdict]] = set()


def _consume(task: asyncio.Future[Verdict]) -> None:
    _ABANDONED.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "exception was never retrieved"
