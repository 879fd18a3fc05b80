"""Lease renewals have connections of their own (`AwsClients.leases`): with the main DynamoDB client's pool full
of claims that a slow DynamoDB holds, a renewal still reaches DynamoDB at once instead of queueing behind them
past its lease. The DynamoDB here is moto behind a proxy that holds every write to a `rp#flood-` key until the
test lets it go."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from emulator.bootstrap import create_resources
from worker.adapters.aws import open_clients
from worker.adapters.ledger import Ledger
from worker.http import start_server
from worker.metrics import Metrics

POOL = 2  # the main client's connections: two held claims fill it
FLOOD = 6


class HoldingProxy:
    """Forwards to moto; writes to a `rp#flood-` key wait until `release` is set (or 60 s)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.release = asyncio.Event()
        self.held = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if b'"rp#flood-' in body:
            self.held += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), 60)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with aiohttp.ClientSession() as session, session.post(self.upstream, data=body, headers=headers) as up:
            return web.Response(body=await up.read(), status=up.status, content_type="application/json")


@contextlib.asynccontextmanager
async def serving(proxy: HoldingProxy) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/", proxy.handle)
    runner, port = await start_server(app, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proxy.release.set()
        await runner.cleanup()


@pytest.fixture
def ledger_table(moto_server) -> str:
    return create_resources(f"t{uuid.uuid4().hex[:8]}").ledger_table


async def test_a_renewal_is_not_queued_behind_claims_that_fill_the_pool(ledger_table, monkeypatch):
    proxy = HoldingProxy(os.environ["AWS_ENDPOINT_URL"])
    async with serving(proxy) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        async with open_clients(Metrics(CollectorRegistry()), max_pool=POOL, lease_pool=POOL) as clients:
            ledger = Ledger(clients.dynamodb, ledger_table, "me", 300, 1)
            leases = Ledger(clients.leases, ledger_table, "me", 300, 1)
            assert (await ledger.claim("held", "m-held", "v")).outcome == "claimed"
            before = (await ledger.item("held")).lease_expires_at  # type: ignore[union-attr]
            flood = [asyncio.create_task(ledger.claim(f"flood-{n}", f"m-{n}", "v")) for n in range(FLOOD)]
            while proxy.held < POOL:  # the pool is full: the other claims wait for a connection
                await asyncio.sleep(0.05)
            # On the main client the renewal would wait behind the held claims (the old wiring)...
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ledger.renew("held"), 2)
            # ...on the lease connections it reaches DynamoDB while they are still held.
            await asyncio.sleep(1.1)  # the lease is written in whole seconds
            await asyncio.wait_for(leases.renew("held"), 10)
            assert not any(task.done() for task in flood) and proxy.held == POOL
            after = await leases.item("held")
            assert after is not None and after.owner == "me" and after.lease_expires_at > before
            proxy.release.set()
            outcomes = await asyncio.wait_for(asyncio.gather(*flood), 60)
            assert [each.outcome for each in outcomes] == ["claimed"] * FLOOD
