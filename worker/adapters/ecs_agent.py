"""The ECS container agent's task scale-in protection endpoint: `PUT $ECS_AGENT_URI/task-protection/v1/state`
with `{"ProtectionEnabled": bool, "ExpiresInMinutes": n}` (AWS: "Amazon ECS task scale-in protection endpoint",
ECS developer guide). The agent answers 200 with `{"protection": {...}}`, or `{"failure": ...}` / `{"error": ...}`
when ECS refused; both are raised as ServiceUnavailable so the keeper tries again."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from worker.errors import ServiceUnavailable

PATH = "/task-protection/v1/state"
TIMEOUT_SECONDS = 10


class TaskProtection:
    def __init__(self, agent_uri: str) -> None:
        self._url = agent_uri.rstrip("/") + PATH

    async def set(self, enabled: bool, expires_in_minutes: int) -> None:
        body: dict[str, Any] = {"ProtectionEnabled": enabled}
        if enabled:
            body["ExpiresInMinutes"] = expires_in_minutes
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.put(self._url, json=body) as response,
            ):
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable(f"task protection endpoint: {type(exc).__name__}") from None
        answer = _json_object(text)
        if status != 200 or "protection" not in answer:
            problem = answer.get("failure") or answer.get("error") or text
            raise ServiceUnavailable(f"task protection refused (HTTP {status}): {str(problem)[:200]}")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
