"""Fleet coordination items in the ledger table: slot counters (`fleet#...`) and runner leases (`runner#...`).

Counters: see worker/fleet_limits.py. A slot is taken by one TransactWriteItems over every counter that applies,
each conditioned on the counter's `version` (which only a take bumps) and on the expiry of every dead entry it
drops, so two workers never both take the last slot and a lease renewed meanwhile is never dropped. Renewal and
release touch only the holder's own entry, conditioned on it, and leave the version alone: a release can only
make a taker's view too full, never too empty, so it need not make takers read again. A worker's place in a
counter's line (`w#<worker>`, worker/fleet_limits.py) is written apart from the version: it orders the workers,
the version alone keeps the count.
Runner lease: one item per periodic job group, `owner`, `expires_at` and a fencing `token` bumped on every
change of hands. Both follow the clock-skew rule of worker/leases.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.fleet_limits import (
    WAITER_PREFIX,
    WAITER_SECONDS,
    Attempt,
    Counter,
    Waiter,
    blocks,
    live_holders,
    owner_of,
)
from worker.leases import CLOCK_SKEW_SECONDS, holder_deadline

LOST_RACE = ("TransactionCanceledException", "ConditionalCheckFailedException")
# Dead entries one take drops (each adds a condition; DynamoDB allows 4 KB of expression). More wait for the next.
MAX_DROPS = 50


@dataclass(frozen=True)
class CounterItem:
    exists: bool
    holders: dict[str, int] | None  # None: the item has no `holders` map
    version: int | None  # None: the item has no `version`
    waiters: dict[str, Waiter] = field(default_factory=dict)  # the line: worker -> its entry

    @property
    def malformed(self) -> bool:
        """An item without `holders` or `version` (the worker never writes one; DynamoDB never makes one)."""
        return self.exists and (self.holders is None or self.version is None)


@translate_errors
class FleetCounters:
    def __init__(self, client: Any, table: str, lease_seconds: int) -> None:
        self._client = client
        self.table = table
        self.lease_seconds = lease_seconds

    async def try_take(self, counters: list[Counter], holder: str, since: float | None = None) -> Attempt:
        """A slot in every counter, or none: see Attempt. `since`: when the restore began to wait (None: now);
        while a counter blocks it, this worker stands in that counter's line."""
        now = time.time()
        me, since = owner_of(holder), now if since is None else since
        items = [await self.read(counter.pk) for counter in counters]
        malformed = tuple(c.pk for c, item in zip(counters, items, strict=True) if item.malformed)
        lives = [live_holders(item.holders or {}, now) for item in items]
        blocked = [
            holder not in live and blocks(counter.limit, len(live), item.waiters, me, since, now)
            for counter, item, live in zip(counters, items, lives, strict=True)
        ]
        if any(blocked):
            await self._stand_in_line(counters, items, blocked, me, Waiter(since, now))
            return Attempt(False, malformed)
        writes = []
        for counter, item, live in zip(counters, items, lives, strict=True):
            holders = item.holders or {}
            dead = {name: holders[name] for name in sorted(set(holders) - set(live) - {holder})[:MAX_DROPS]}
            gone = [w for w, entry in item.waiters.items() if w == me or now - entry.seen > 2 * WAITER_SECONDS]
            update = self._take_one(counter.pk, item, holder, int(now) + self.lease_seconds, dead, gone[:MAX_DROPS])
            writes.append({"Update": update})
        try:
            await self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if error_code(exc) in LOST_RACE:
                return Attempt(None, malformed)
            raise
        return Attempt(True, malformed)

    async def _stand_in_line(
        self, counters: list[Counter], items: list[CounterItem], blocked: list[bool], me: str, entry: Waiter
    ) -> None:
        """Our entry in the line of every counter that blocks us; out of the line of those that do not."""
        names = {"#w": WAITER_PREFIX + me}
        for counter, item, blocking in zip(counters, items, blocked, strict=True):
            if blocking:
                value = {"M": {"since": {"N": repr(entry.since)}, "seen": {"N": repr(entry.seen)}}}
                update, values = "SET #w = :entry", {":entry": value}
            elif me in item.waiters:
                update, values = "REMOVE #w", {}
            else:
                continue
            try:
                await self._client.update_item(
                    TableName=self.table,
                    Key={"pk": {"S": counter.pk}},
                    UpdateExpression=update,
                    ConditionExpression="attribute_exists(pk)",  # a line is never an item of its own
                    ExpressionAttributeNames=names,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise

    async def renew(self, pk: str, holder: str) -> bool:
        """Extend the holder's lease; False when its entry is gone (it was late, and the slot may be someone's)."""
        return await self._own_entry(pk, holder, "SET holders.#h = :exp")

    async def release(self, pk: str, holder: str) -> None:
        await self._own_entry(pk, holder, "REMOVE holders.#h")

    async def holders(self, pk: str) -> dict[str, int]:
        """The live holders of a counter (what the fleet counts now)."""
        item = await self.read(pk)
        return live_holders(item.holders or {}, time.time())

    async def read(self, pk: str) -> CounterItem:
        response = await self._client.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return CounterItem(False, None, None)
        holders = None
        if "M" in item.get("holders", {}):
            holders = {name: int(value["N"]) for name, value in item["holders"]["M"].items()}
        version = int(item["version"]["N"]) if "N" in item.get("version", {}) else None
        return CounterItem(True, holders, version, _waiters(item))

    async def _own_entry(self, pk: str, holder: str, expression: str) -> bool:
        values = {":exp": {"N": str(int(time.time()) + self.lease_seconds)}} if ":exp" in expression else {}
        try:
            await self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": pk}},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(holders.#h)",
                ExpressionAttributeNames={"#h": holder},
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _take_one(
        self, pk: str, item: CounterItem, holder: str, expires: int, dead: dict[str, int], gone: list[str]
    ) -> dict[str, Any]:
        """Add our entry, bump the version, drop the dead entries: each condition is on what we read. Out of the
        line too, and drop the entries of workers long gone from it (unconditioned: the line only orders)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":next": {"N": str((item.version or 0) + 1)}}
        if not item.exists:
            conditions = ["attribute_not_exists(pk)"]
        elif item.version is None:  # a malformed item: taken as version 0, and given a version by this write
            conditions = ["attribute_not_exists(version)"]
        else:
            conditions = ["version = :version"]
            values[":version"] = {"N": str(item.version)}
        removes = []
        if item.holders is None:
            sets = ["holders = :mine"]
            values[":mine"] = {"M": {holder: {"N": str(expires)}}}
            conditions.append("attribute_not_exists(holders)")
        else:
            sets = ["holders.#me = :exp"]
            names["#me"] = holder
            values[":exp"] = {"N": str(expires)}
            for n, (name, expired) in enumerate(dead.items()):
                names[f"#d{n}"] = name
                values[f":d{n}"] = {"N": str(expired)}
                conditions.append(f"holders.#d{n} = :d{n}")
                removes.append(f"holders.#d{n}")
        sets.append("version = :next")
        for n, worker in enumerate(gone):
            names[f"#g{n}"] = WAITER_PREFIX + worker
            removes.append(f"#g{n}")
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return {
            "TableName": self.table,
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": update,
            "ConditionExpression": " AND ".join(conditions),
            **({"ExpressionAttributeNames": names} if names else {}),
            "ExpressionAttributeValues": values,
        }


def _waiters(item: dict[str, Any]) -> dict[str, Waiter]:
    found = {}
    for name, value in item.items():
        entry = value.get("M", {})
        if name.startswith(WAITER_PREFIX) and "N" in entry.get("since", {}) and "N" in entry.get("seen", {}):
            found[name.removeprefix(WAITER_PREFIX)] = Waiter(float(entry["since"]["N"]), float(entry["seen"]["N"]))
    return found


@translate_errors
class RunnerLease:
    """One worker of the fleet runs a group of periodic jobs; another takes over once its lease is free."""

    def __init__(self, client: Any, table: str, name: str, owner: str, lease_seconds: int) -> None:
        if lease_seconds <= 2 * CLOCK_SKEW_SECONDS:
            raise ValueError(f"a runner lease must exceed twice the clock-skew margin ({2 * CLOCK_SKEW_SECONDS} s)")
        self._client = client
        self.table = table
        self.pk = f"runner#{name}"
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.token: int | None = None  # the fencing token while we hold the lease
        self._deadline = 0.0

    def held(self) -> bool:
        return self.token is not None and time.monotonic() < self._deadline

    async def hold(self) -> bool:
        """Take the lease if it is free, renew it if ours; whether we hold it now."""
        sent = time.monotonic()
        now = int(time.time())
        renewing = self.held()
        if renewing:
            condition = "#owner = :me AND #token = :token"
            update = "SET #owner = :me, expires_at = :exp"
            values = {":token": {"N": str(self.token)}}
        else:
            condition = "attribute_not_exists(pk) OR #owner = :me OR expires_at < :free_before"
            update = "SET #owner = :me, expires_at = :exp, #token = if_not_exists(#token, :zero) + :one"
            values = {":free_before": {"N": str(now - CLOCK_SKEW_SECONDS)}, ":zero": {"N": "0"}, ":one": {"N": "1"}}
        try:
            response = await self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": self.pk}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#owner": "owner", "#token": "token"},
                ExpressionAttributeValues={
                    ":me": {"S": self.owner},
                    ":exp": {"N": str(now + self.lease_seconds)},
                    **values,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            self.token = None
            return False
        self.token = int(response["Attributes"]["token"]["N"])
        self._deadline = holder_deadline(sent, self.lease_seconds)
        return True

    async def release(self) -> None:
        """On shutdown: the next worker takes over at once instead of after the lease."""
        if self.token is None:
            return
        token, self.token = self.token, None
        try:
            await self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": self.pk}},
                UpdateExpression="SET expires_at = :zero",
                ConditionExpression="#owner = :me AND #token = :token",
                ExpressionAttributeNames={"#owner": "owner", "#token": "token"},
                ExpressionAttributeValues={":me": {"S": self.owner}, ":token": {"N": str(token)}, ":zero": {"N": "0"}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
