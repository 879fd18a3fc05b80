"""ECS task scale-in protection while this task holds validations, so that scale-in never hands over an
hours-long restore. Checked often but written only on a change (held <-> idle) or when a protection set earlier
is past half its expiry (renewed before ECS lets it lapse)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

CHECK_SECONDS = 2.0


class ProtectionEndpoint(Protocol):
    async def set(self, enabled: bool, expires_in_minutes: int) -> None: ...


class ProtectionKeeper:
    def __init__(self, endpoint: ProtectionEndpoint, busy: Callable[[], bool], minutes: int, log: Any) -> None:
        self.endpoint, self.busy, self.minutes, self.log = endpoint, busy, minutes, log
        self.protected = False
        self._renew_at = 0.0

    async def sync(self) -> None:
        busy = self.busy()
        if busy and (not self.protected or time.monotonic() >= self._renew_at):
            await self.endpoint.set(True, self.minutes)
            self._renew_at = time.monotonic() + self.minutes * 30  # half the expiry, in seconds
            if not self.protected:
                self.log.info("task_protection.set", minutes=self.minutes)
            self.protected = True
        elif not busy and self.protected:
            await self.endpoint.set(False, self.minutes)
            self.protected = False
            self.log.info("task_protection.cleared")
