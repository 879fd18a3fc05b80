"""Building the fleet parts of a worker from settings: shared restore slots, the periodic-work runner and the
ECS task protection keeper (`wiring` and `app` call these; kept apart so the wiring module stays small)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from worker.adapters.ecs_agent import TaskProtection
from worker.adapters.fleet import FleetCounters, RunnerLease
from worker.adapters.rds import Rds
from worker.background import periodic
from worker.fleet import FleetSlots, Runner
from worker.fleet_limits import FleetLimits, with_quota_defaults
from worker.protection import CHECK_SECONDS, ProtectionKeeper
from worker.settings import Settings
from worker.slots import Holdings

QUOTA_LOOKUP_TIMEOUT = 30


async def fleet_slots(settings: Settings, dynamodb: Any, rds: Rds, identity: str, log: Any) -> FleetSlots:
    counters = FleetCounters(dynamodb, settings.ledger_table, settings.lease_seconds)
    limits = await _fleet_limits(settings, rds, log)
    return FleetSlots(counters, limits, identity, settings.fleet_slot_wait_seconds, log)


def periodic_runner(settings: Settings, dynamodb: Any, identity: str, log: Any) -> Runner:
    lease = RunnerLease(dynamodb, settings.ledger_table, "periodic", identity, settings.runner_lease_seconds)
    return Runner(lease, log)


def protection_jobs(settings: Settings, holdings: Holdings, log: Any) -> list[Coroutine[Any, Any, None]]:
    """ECS task scale-in protection while validations are held, where an ECS agent is there to ask."""
    if not settings.ecs_agent_uri:
        return []
    keeper = ProtectionKeeper(
        TaskProtection(settings.ecs_agent_uri), lambda: bool(holdings.held), settings.task_protection_minutes, log
    )
    return [periodic(CHECK_SECONDS, keeper.sync, log, "task_protection.failed")]


async def _fleet_limits(settings: Settings, rds: Rds, log: Any) -> FleetLimits:
    limits = settings.fleet_limits
    if settings.fleet_quota_headroom is None:
        return limits
    try:
        quotas = await asyncio.wait_for(rds.account_quotas(), QUOTA_LOOKUP_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - the limits set by hand still hold; the worker must start
        log.warning("fleet.quotas_unavailable", error=type(exc).__name__, detail=str(exc)[:200])
        return limits
    derived = with_quota_defaults(limits, quotas, settings.fleet_quota_headroom)
    log.info("fleet.limits", total=derived.total, per_account=derived.per_account, per_kind=derived.per_kind)
    return derived
