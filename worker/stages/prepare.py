"""Make a restored instance usable by us alone: wait until available, reset its master password.

The new password is random, held only in memory for the checks, and never reused: the production secret
restored with the snapshot is never read.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from worker.adapters.rds import DbInstance
from worker.errors import DeadlineExceeded, NotFound, RestoreFailed

_log = structlog.get_logger("worker.prepare")
_FAILED_STATES = frozenset({"failed", "incompatible-restore", "incompatible-parameters", "storage-full"})
_ALPHABET = string.ascii_letters + string.digits


class InstancePort(Protocol):
    async def describe(self, identifier: str) -> DbInstance | None: ...
    async def set_master_password(self, identifier: str, password: str) -> None: ...


@dataclass(frozen=True)
class Connection:
    engine: str
    host: str
    port: int
    user: str
    database: str
    password: str = field(repr=False)


def new_password(length: int = 32) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


async def wait_until_usable(
    rds: InstancePort, identifier: str, deadline: float, *, first_delay: float = 0.5, max_delay: float = 30.0
) -> DbInstance:
    """Poll with capped backoff until the instance is available with nothing pending."""
    loop = asyncio.get_running_loop()
    delay = first_delay
    while True:
        instance = await rds.describe(identifier)
        if instance is None:
            raise NotFound(f"restored instance {identifier} does not exist")
        if instance.status in _FAILED_STATES:
            raise RestoreFailed(f"restored instance {identifier} is {instance.status}")
        if instance.available:
            return instance
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise DeadlineExceeded(f"instance {identifier} still {instance.status} at the restore deadline")
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_delay)


async def take_over(
    rds: InstancePort,
    identifier: str,
    deadline: float,
    database_override: str | None,
    *,
    known: DbInstance | None = None,
    **poll: float,
) -> Connection:
    """Available -> new master password -> applied -> how to connect. `known`: the instance as the caller just
    described it; when it is usable already, no describe is needed before the password reset."""
    if known is None or not known.available:
        await wait_until_usable(rds, identifier, deadline, **poll)
    password = new_password()
    await rds.set_master_password(identifier, password)
    _log.debug("stage.password_reset", identifier=identifier)
    # ModifyDBInstance answers before the change applies; wait for the pending value to clear.
    await asyncio.sleep(poll.get("first_delay", 0.5))
    instance = await wait_until_usable(rds, identifier, deadline, **poll)
    if not instance.host or not instance.port:
        raise RestoreFailed(f"instance {identifier} reports no endpoint")
    return Connection(
        engine=instance.engine,
        host=instance.host,
        port=int(instance.port),
        user=instance.master_username,
        database=database_override or instance.db_name or _default_database(instance.engine),
        password=password,
    )


def _default_database(engine: str) -> str:
    return "postgres" if "postgres" in engine else "mysql"
