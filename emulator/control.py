"""The emulator's own control endpoints under ``/_emulator/`` (JSON in, JSON out)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from aiohttp import web

from emulator import network, restore_testing_run, restores, seeding
from emulator.core import Emulator
from emulator.wire import ApiError


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text='{"error": "body must be a JSON object"}') from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text='{"error": "body must be a JSON object"}')
    return data


def stats(emu: Emulator) -> dict[str, Any]:
    store = emu.store
    return {
        "operations": dict(store.calls),
        "throttled": dict(store.throttled),
        "errors": dict(store.errors),
        "restore_jobs_per_recovery_point": dict(store.restores_per_point),
        "restore_jobs_by_status": {k: len(v) for k, v in store.restores_by_status.items() if v},
        "events": emu.events.stats(),
        "live_instances": len(store.instances),
        "instances_by_status": dict(Counter(i.status for i in store.instances.values())),
        "live_clusters": len(store.clusters),
        "instances_added_per_cluster": dict(store.instances_added),
        "dynamodb_creating_answers": dict(store.creating_answers),
        "run_id": emu.databases.naming.run_id,
    }


async def health(emu: Emulator, request: web.Request) -> web.Response:
    engines = {
        kind: {"host": e.host, "port": e.port, "version": e.version} for kind, e in emu.databases.engines.items()
    }
    return _json({"status": "ok", "engines": engines, "run_id": emu.databases.naming.run_id})


async def get_stats(emu: Emulator, request: web.Request) -> web.Response:
    return _json(stats(emu))


async def config(emu: Emulator, request: web.Request) -> web.Response:
    if request.method == "POST":
        try:
            emu.knobs.update(await _body(request))
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
    return _json(emu.knobs.as_dict())


async def stale(emu: Emulator, request: web.Request) -> web.Response:
    if request.method == "POST":
        data = await _body(request)
        source = data.get("source_arn")
        if not isinstance(source, str) or not source:
            return _json({"error": "source_arn is required"}, 400)
        minutes = float(data.get("minutes") or 0)
        if minutes <= 0:
            emu.store.stale.pop(source, None)
        else:
            emu.store.stale[source] = {
                "table": str(data.get("table", "events")),
                "column": str(data.get("column", "created_at")),
                "minutes": minutes,
            }
    return _json(emu.store.stale)


async def events(emu: Emulator, request: web.Request) -> web.Response:
    return _json(list(emu.events.recent))


async def restore_testing(emu: Emulator, request: web.Request) -> web.Response:
    """Start a restore as an AWS Backup restore testing plan would (CreatedBy.RestoreTestingPlanArn set)."""
    data = await _body(request)
    rp = emu.store.recovery_points.get(str(data.get("recovery_point_arn")))
    if rp is None:
        return _json({"error": "unknown recovery_point_arn"}, 404)
    plan = str(
        data.get("restore_testing_plan_arn")
        or f"arn:aws:backup:{emu.region}:{rp.vault.account}:restore-testing-plan:emulator"
    )
    metadata = dict(data.get("metadata") or {})
    metadata.setdefault("DBInstanceIdentifier", f"awsbackup-restore-test-{emu.faults.token(12)}")
    role = f"arn:aws:iam::{rp.vault.account}:role/service-role/AWSBackupDefaultServiceRole"
    try:
        job = restores.start_restore(emu, rp, metadata, role, None, testing_plan_arn=plan)
    except ApiError as err:
        return _json({"error": err.message, "code": err.code}, 400)
    return _json({"RestoreJobId": job.job_id})


async def run_testing_plan(emu: Emulator, request: web.Request) -> web.Response:
    """Run a restore testing plan now, as its schedule would: {"plan": NAME} -> {"RestoreJobIds": [...]}."""
    data = await _body(request)
    try:
        job_ids = restore_testing_run.run_plan(emu, str(data.get("plan")))
    except ApiError as err:
        return _json({"error": err.message, "code": err.code}, 404 if err.code.endswith("NotFoundException") else 400)
    return _json({"RestoreJobIds": job_ids})


async def define_network(emu: Emulator, request: web.Request) -> web.Response:
    """GET ?account=: an account's network; POST {account?, subnet_groups, security_groups, ...}: add to it."""
    if request.method != "POST":
        return _json(network.describe(emu, request.query.get("account") or emu.account))
    data = await _body(request)
    try:
        return _json(network.define(emu, str(data.get("account") or emu.account), data))
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)


async def seed_points(emu: Emulator, request: web.Request) -> web.Response:
    """POST {template, vault, count, sources?, source_prefix?, created_from?, created_to?}: a retained history
    of recovery points at once (see emulator/seeding.py) -> {"RecoveryPointArns": [...]}."""
    if request.method != "POST":
        return _json({"error": "POST only"}, 405)
    data = await _body(request)
    try:
        arns = seeding.seed_recovery_points(emu, data)
    except ApiError as err:
        return _json({"error": err.message, "code": err.code}, 404)
    except (ValueError, TypeError) as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"RecoveryPointArns": arns})


async def restores_in_flight(emu: Emulator, request: web.Request) -> web.Response:
    """GET: {"in_flight", "peak"}; POST: the same, then the high-water mark starts again from now."""
    return _json(seeding.in_flight(emu, reset=request.method == "POST"))


ROUTES = {
    "/_emulator/network": define_network,
    "/_emulator/health": health,
    "/_emulator/stats": get_stats,
    "/_emulator/config": config,
    "/_emulator/stale": stale,
    "/_emulator/events": events,
    "/_emulator/restore-testing": restore_testing,
    "/_emulator/restore-testing/run": run_testing_plan,
    "/_emulator/recovery-points": seed_points,
    "/_emulator/restores-in-flight": restores_in_flight,
}


async def dispatch(emu: Emulator, request: web.Request) -> web.Response:
    handler = ROUTES.get(request.path.rstrip("/"))
    if handler is None:
        return _json({"error": f"unknown control endpoint {request.path}", "endpoints": sorted(ROUTES)}, 404)
    return await handler(emu, request)
