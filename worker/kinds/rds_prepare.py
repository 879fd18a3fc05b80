"""Make a restored instance usable by us alone: wait until available, reset its master password.

The new password is random, held only in memory for the checks, and never reused: the production secret
restored with the snapshot is never read.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import structlog

from worker.errors import DeadlineExceeded, InstanceNotReady, NotFound, RestoreFailed
from worker.ports import Connection, DbInstance, InstancePort

_log = structlog.get_logger("worker.prepare")
_FAILED_STATES = frozenset({"failed", "incompatible-restore", "incompatible-parameters", "storage-full"})
_ALPHABET = string.ascii_letters + string.digits
# The first look after a password reset. RDS takes seconds to minutes; a shorter look costs an extra describe
# there, a longer one adds its whole length to every validation where the change applies quickly.
FIRST_LOOK_AFTER_RESET = 0.25


def new_password(length: int = 32) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


async def wait_until_usable(
    rds: InstancePort, identifier: str, deadline: float, *, first_delay: float = 0.5, max_delay: float = 30.0
) -> DbInstance:
    """Poll with capped backoff until the instance is available with nothing pending."""
    return await poll_until_available(
        rds.describe, identifier, deadline, "instance", _FAILED_STATES, first_delay=first_delay, max_delay=max_delay
    )


class _Usable(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def available(self) -> bool: ...


_U = TypeVar("_U", bound=_Usable)


async def poll_until_available(
    describe: Callable[[str], Awaitable[_U | None]],
    identifier: str,
    deadline: float,
    what: str,
    failed_states: frozenset[str],
    *,
    first_delay: float = 0.5,
    max_delay: float = 30.0,
) -> _U:
    """Describe with capped backoff until `available` (nothing pending); a failed state or the deadline ends it."""
    loop = asyncio.get_running_loop()
    delay = first_delay
    while True:
        found = await describe(identifier)
        if found is None:
            raise NotFound(f"restored {what} {identifier} does not exist")
        if found.status in failed_states:
            raise RestoreFailed(f"restored {what} {identifier} is {found.status}")
        if found.available:
            return found
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise DeadlineExceeded(f"{what} {identifier} still {found.status} at the restore deadline")
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_delay)


async def take_over(
    rds: InstancePort, identifier: str, deadline: float, database_override: str | None
) -> tuple[Connection, DbInstance]:
    """Available -> new master password -> applied -> how to connect, and the instance as last described.

    The instance is described before the reset rather than the reset tried blind: a refused ModifyDBInstance
    would count as an API error on every validation whose instance is still settling. Should a description lag
    behind the change, the checks' connection retries cover the gap (see `RdsInstance.run_checks`)."""
    await wait_until_usable(rds, identifier, deadline)
    password = new_password()
    try:
        await rds.set_master_password(identifier, password)
    except InstanceNotReady:
        # Available when described, busy again since (RDS's own post-restore work): wait once more.
        await wait_until_usable(rds, identifier, deadline)
        await rds.set_master_password(identifier, password)
    _log.debug("stage.password_reset", identifier=identifier)
    # RDS applies the change asynchronously (it is pending in the reply): look again shortly, then back off.
    await asyncio.sleep(FIRST_LOOK_AFTER_RESET)
    instance = await wait_until_usable(rds, identifier, deadline)
    if not instance.host or not instance.port:
        raise RestoreFailed(f"instance {identifier} reports no endpoint")
    connection = Connection(
        engine=instance.engine,
        host=instance.host,
        port=int(instance.port),
        user=instance.master_username,
        database=database_override or instance.db_name or _default_database(instance.engine),
        password=password,
    )
    return connection, instance


def _default_database(engine: str) -> str:
    return "postgres" if "postgres" in engine else "mysql"
