"""Starting and stopping the emulator: inside an event loop (:func:`start`) or in a thread (:func:`run_in_thread`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import Future

from aiohttp import web

from emulator.client import ControlClient
from emulator.config import EmulatorConfig, Knobs
from emulator.core import Emulator
from emulator.databases import open_databases
from emulator.dispatch import Dispatcher
from emulator.events import EventBus
from emulator.faults import Faults
from emulator.pgproxy import PgAuthProxy
from emulator.restore_testing_schedule import run_schedules

__all__ = ["EmulatorConfig", "EmulatorHandle", "EmulatorServer", "Knobs", "run_in_thread", "start"]

log = logging.getLogger("emulator")


class EmulatorServer:
    """A running emulator inside the current event loop."""

    def __init__(self, emu: Emulator, runner: web.AppRunner, url: str) -> None:
        self.emulator = emu
        self.url = url
        self._runner = runner

    async def stop(self) -> None:
        """Stop serving, cancel jobs, flush events and drop every database and login this run created."""
        emu = self.emulator
        await self._runner.cleanup()
        await emu.close()
        await emu.events.stop()
        if emu.proxy is not None:
            await emu.proxy.stop()
        await emu.databases.close()


async def start(config: EmulatorConfig) -> EmulatorServer:
    """Connect to the databases, then serve. Raises ConnectionError if a database server is unreachable."""
    databases = await open_databases(
        config.postgres_url, config.mysql_url, config.max_concurrent_db_work, config.reap_orphans
    )
    faults = Faults(config.knobs, config.seed)
    events = EventBus(config.events_url, config.region, faults, config.event_queue_size, config.account_id)
    proxy = None
    try:
        await events.start()
        postgres = databases.engines.get("postgres")
        if postgres is not None and config.pg_auth_proxy:
            proxy = PgAuthProxy(postgres.host, postgres.port, postgres.passwords.get)
            await proxy.start(config.host, config.pg_proxy_port)
        emu = Emulator(config, faults, databases, events, proxy)
        emu.spawn(run_schedules(emu))
        app = web.Application()
        dispatcher = Dispatcher(emu)

        async def close_proxy(_: web.Application) -> None:
            await dispatcher.dynamodb.close()

        app.on_cleanup.append(close_proxy)
        # [\s\S], not ".": a percent-encoded newline in a path must reach the dispatcher (and its 404 JSON), too.
        app.router.add_route("*", r"/{tail:[\s\S]*}", dispatcher.__call__)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
    except BaseException:
        await events.stop(0)
        if proxy is not None:
            await proxy.stop()
        await databases.close()
        raise
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    return EmulatorServer(emu, runner, url)


class EmulatorHandle(ControlClient):
    """An emulator running in a background thread with its own event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread, server: EmulatorServer) -> None:
        super().__init__(server.url)
        self.server = server
        self.config = server.emulator.config
        self._loop = loop
        self._thread = thread

    def stop(self, timeout: float = 300.0) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop)
        try:
            future.result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(config: EmulatorConfig) -> EmulatorHandle:
    """Start an emulator in a daemon thread; returns once it serves (or raises what start() raised)."""
    loop = asyncio.new_event_loop()
    started: Future[EmulatorServer] = Future()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            started.set_result(loop.run_until_complete(start(config)))
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            started.set_exception(exc)
            loop.close()
            return
        loop.run_forever()
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=main, name="backup-emulator", daemon=True)
    thread.start()
    server = started.result()
    return EmulatorHandle(loop, thread, server)
