"""/metrics, /healthz (loop and consumer alive) and /readyz (queue and ledger reachable)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

Probe = Callable[[], Awaitable[None]]


def build_app(registry: CollectorRegistry, alive: Callable[[], bool], ready: Probe) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True}) if alive() else web.json_response({"ok": False}, status=503)

    async def readyz(_: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(5):
                await ready()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which kind
            return web.json_response({"ready": False, "error": type(exc).__name__}, status=503)
        return web.json_response({"ready": True})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def start_server(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (to stop it) and the bound port (useful when port is 0)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server: Any = site._server  # aiohttp exposes the bound port only on the private server
    sockets = server.sockets if server is not None else []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
