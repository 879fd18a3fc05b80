"""A local stand-in for the ECS container agent's task scale-in protection endpoint, recording every call.

`PUT /task-protection/v1/state` takes `{"ProtectionEnabled": bool, "ExpiresInMinutes": 1..2880}` (ExpiresInMinutes
optional, 120 by default) and answers `{"protection": {"ExpirationDate", "ProtectionEnabled", "TaskArn"}}`; a
body ECS would refuse gets HTTP 400 with `{"error": {"Code", "Message"}}`. `GET` answers the current state.
Source: "Amazon ECS task scale-in protection endpoint", Amazon ECS developer guide.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

PATH = "/task-protection/v1/state"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/validators/0123456789abcdef0123456789abcdef"


@dataclass
class AgentState:
    calls: list[dict[str, Any]] = field(default_factory=list)  # each PUT body, with `at` (time.time())
    enabled: bool = False
    expires: datetime | None = None

    def protection(self) -> dict[str, Any]:
        if self.expires is not None and datetime.now(UTC) >= self.expires:
            self.enabled, self.expires = False, None
        expiration = self.expires.isoformat().replace("+00:00", "Z") if self.expires else None
        return {"protection": {"ExpirationDate": expiration, "ProtectionEnabled": self.enabled, "TaskArn": TASK_ARN}}


def _refusal(message: str) -> web.Response:
    error = {"error": {"Arn": TASK_ARN, "Code": "InvalidParameterException", "Message": message}}
    return web.json_response(error, status=400)


def build_app(state: AgentState) -> web.Application:
    async def put(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _refusal("request body is not JSON")
        enabled = body.get("ProtectionEnabled") if isinstance(body, dict) else None
        if not isinstance(enabled, bool):
            return _refusal("ProtectionEnabled is required and must be a boolean")
        minutes = body.get("ExpiresInMinutes", 120)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 2880:
            return _refusal("ExpiresInMinutes must be an integer from 1 to 2880")
        state.calls.append({**body, "at": time.time()})
        state.enabled = enabled
        state.expires = datetime.now(UTC) + timedelta(minutes=minutes) if enabled else None
        return web.json_response(state.protection())

    async def get(_: web.Request) -> web.Response:
        return web.json_response(state.protection())

    app = web.Application()
    # ECS_AGENT_URI is http://169.254.170.2/api/<task id>-<n>: the endpoint sits under that prefix.
    app.router.add_put("/api/{task}" + PATH, put)
    app.router.add_get("/api/{task}" + PATH, get)
    return app


@dataclass
class AgentHandle:
    url: str  # what ECS puts in ECS_AGENT_URI
    state: AgentState
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def start_in_thread(host: str = "127.0.0.1") -> AgentHandle:
    """The stand-in on a free port, served by its own thread until `stop()`."""
    state = AgentState()
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(build_app(state))
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, host, 0)
        loop.run_until_complete(site.start())
        started["port"] = runner.addresses[0][1]
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, name="ecs-agent-stand-in", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the ECS agent stand-in did not start")
    return AgentHandle(f"http://{host}:{started['port']}/api/{TASK_ARN.rsplit('/', 1)[1]}", state, loop, thread)
