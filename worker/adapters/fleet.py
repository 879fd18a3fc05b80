"""Fleet coordination items in the ledger table: slot counters (`fleet#...`) and runner leases (`runner#...`).

Counters: see worker/fleet_limits.py. A slot is taken by one TransactWriteItems over every counter that applies,
each conditioned on the counter's `version` (which only a take bumps) and on the expiry of every dead entry it
drops, so two workers never both take the last slot and a lease renewed meanwhile is never dropped. Renewal and
release touch only the holder's own entry, conditioned on it, and leave the version alone: a release can only
make a taker's view too full, never too empty, so it need not make takers read again.
Runner lease: one item per periodic job group, `owner`, `expires_at` and a fencing `token` bumped on every
change of hands. Both follow the clock-skew rule of worker/leases.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.fleet_limits import Attempt, Counter, live_holders
from worker.leases import CLOCK_SKEW_SECONDS, holder_deadline

LOST_RACE = ("TransactionCanceledException", "ConditionalCheckFailedException")
# Dead entries one take drops (each adds a condition; DynamoDB allows 4 KB of expression). More wait for the next.
MAX_DROPS = 50


@dataclass(frozen=True)
class CounterItem:
    exists: bool
    holders: dict[str, int] | None  # None: the item has no `holders` map
    version: int | None  # None: the item has no `version`

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

    async def try_take(self, counters: list[Counter], holder: str) -> Attempt:
        """A slot in every counter, or none: see Attempt."""
        now = time.time()
        writes = []
        malformed: list[str] = []
        for counter in counters:
            item = await self.read(counter.pk)
            if item.malformed:
                malformed.append(counter.pk)
            holders = item.holders or {}
            live = live_holders(holders, now)
            if holder not in live and len(live) >= counter.limit:
                return Attempt(False, tuple(malformed))
            dead = {name: holders[name] for name in sorted(set(holders) - set(live) - {holder})[:MAX_DROPS]}
            writes.append({"Update": self._take_one(counter.pk, item, holder, int(now) + self.lease_seconds, dead)})
        try:
            await self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if error_code(exc) in LOST_RACE:
                return Attempt(None, tuple(malformed))
            raise
        return Attempt(True, tuple(malformed))

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
        return CounterItem(True, holders, version)

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

    def _take_one(self, pk: str, item: CounterItem, holder: str, expires: int, dead: dict[str, int]) -> dict[str, Any]:
        """Add our entry, bump the version, drop the dead entries: each condition is on what we read."""
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
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return {
            "TableName": self.table,
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": update,
            "ConditionExpression": " AND ".join(conditions),
            **({"ExpressionAttributeNames": names} if names else {}),
            "ExpressionAttributeValues": values,
        }


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
