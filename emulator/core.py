"""The emulator's shared context: configuration, state, databases, events and background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Coroutine
from typing import Any

from emulator.config import EmulatorConfig
from emulator.databases import Databases
from emulator.events import EventBus
from emulator.faults import Faults
from emulator.pgproxy import PgAuthProxy
from emulator.state import Store, Vault, now
from emulator.wire import ApiError

log = logging.getLogger("emulator")

# The account of the request being served (set by the dispatcher per request; background work started by a
# request inherits it, as asyncio tasks copy the context they are created in).
CALLER_ACCOUNT: contextvars.ContextVar[str | None] = contextvars.ContextVar("caller_account", default=None)


class Emulator:
    def __init__(
        self, config: EmulatorConfig, faults: Faults, databases: Databases, events: EventBus, proxy: PgAuthProxy | None
    ) -> None:
        self.config = config
        self.knobs = config.knobs
        self.faults = faults
        self.databases = databases
        self.events = events
        self.proxy = proxy
        self.store = Store()
        self.region = config.region
        self._tasks: set[asyncio.Task[Any]] = set()
        # Instances whose databases are still being built; deleting one waits for its build.
        self.building: dict[str, asyncio.Task[Any]] = {}
        # DynamoDB tables a restore job is still creating (moto holds them, the DynamoDB proxy says CREATING),
        # each with the event set when it turns ACTIVE.
        self.creating_tables: dict[str, asyncio.Event] = {}

    @property
    def account(self) -> str:
        """The calling account: the one its access key belongs to (`EmulatorConfig.accounts`), else the default."""
        return CALLER_ACCOUNT.get() or self.config.account_id

    def account_of_key(self, access_key_id: str | None) -> str:
        return self.config.accounts.get(access_key_id or "", self.config.account_id)

    # ------------------------------------------------------------ background work
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------ names and places
    def rds_arn(self, account: str, kind: str, name: str) -> str:
        return f"arn:aws:rds:{self.region}:{account}:{kind}:{name}"

    def vault_arn(self, account: str, name: str) -> str:
        return f"arn:aws:backup:{self.region}:{account}:backup-vault:{name}"

    def endpoint(self, engine_kind: str) -> tuple[str, int]:
        """Where clients connect: PostgreSQL through the password-checking proxy when it runs."""
        if engine_kind == "postgres" and self.proxy is not None:
            host = self.config.advertise_host or self.config.host
            return ("127.0.0.1" if host in ("0.0.0.0", "") else host), self.proxy.port  # noqa: S104
        engine = self.databases.engines[engine_kind]
        return engine.host, engine.port

    # ------------------------------------------------------------ vaults
    def vault(self, name: str, account: str | None = None) -> Vault:
        found = self.store.vaults.get((account or self.account, name))
        if found is None:
            raise ApiError(
                "ResourceNotFoundException", f"Backup vault {name} does not exist in account {account or self.account}."
            )
        return found

    def add_vault(self, name: str, account: str, **extra: Any) -> Vault:
        vault = Vault(name=name, account=account, arn=self.vault_arn(account, name), created=now(), **extra)
        self.store.vaults[(account, name)] = vault
        return vault

    def vault_by_arn(self, arn: str) -> tuple[str, str]:
        """(account, name) from a backup vault ARN; raises InvalidParameterValueException if malformed."""
        parts = arn.split(":")
        if len(parts) != 7 or parts[2] != "backup" or parts[5] != "backup-vault" or not parts[6]:
            raise ApiError("InvalidParameterValueException", f"Invalid backup vault ARN: {arn}")
        return parts[4], parts[6]
