"""Fleet coordination items in the ledger table: slot counters (`fleet#...`) and runner leases (`runner#...`).

Counters: see worker/fleet_limits.py. A slot is taken by one TransactWriteItems over every counter that applies,
each a compare-and-set on the counter's `version`, so two workers never both take the last slot. Renewal and
release touch only the holder's own entry and bump the version, which makes a concurrent taker read again.
Runner lease: one item per periodic job group, `owner`, `expires_at` and a fencing `token` bumped on every
change of hands. Both follow the clock-skew rule of worker/leases.py.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.fleet_limits import Counter, live_holders
from worker.leases import CLOCK_SKEW_SECONDS, holder_deadline

LOST_RACE = ("TransactionCanceledException", "ConditionalCheckFailedException")


@translate_errors
class FleetCounters:
    def __init__(self, client: Any, table: str, lease_seconds: int) -> None:
        self._client = client
        self.table = table
        self.lease_seconds = lease_seconds

    async def try_take(self, counters: list[Counter], holder: str) -> bool | None:
        """True: a slot in every counter is ours. False: one is full. None: another worker wrote in between."""
        now = time.time()
        writes = []
        for counter in counters:
            holders, version = await self._read(counter.pk)
            live = live_holders(holders, now)
            if holder not in live and len(live) >= counter.limit:
                return False
            live[holder] = int(now) + self.lease_seconds
            writes.append({"Update": self._compare_and_set(counter.pk, live, version)})
        try:
            await self._client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if error_code(exc) in LOST_RACE:
                return None
            raise
        return True

    async def renew(self, pk: str, holder: str) -> bool:
        """Extend the holder's lease; False when its entry is gone (it was late, and the slot may be someone's)."""
        return await self._own_entry(pk, holder, "SET holders.#h = :exp, version = version + :one")

    async def release(self, pk: str, holder: str) -> None:
        await self._own_entry(pk, holder, "REMOVE holders.#h SET version = version + :one")

    async def holders(self, pk: str) -> dict[str, int]:
        """The live holders of a counter (what the fleet counts now)."""
        holders, _ = await self._read(pk)
        return live_holders(holders, time.time())

    async def _own_entry(self, pk: str, holder: str, expression: str) -> bool:
        values = {":one": {"N": "1"}}
        if ":exp" in expression:
            values[":exp"] = {"N": str(int(time.time()) + self.lease_seconds)}
        try:
            await self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": pk}},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(holders.#h)",
                ExpressionAttributeNames={"#h": holder},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    async def _read(self, pk: str) -> tuple[dict[str, int], int]:
        response = await self._client.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        item = response.get("Item") or {}
        holders = {name: int(value["N"]) for name, value in item.get("holders", {}).get("M", {}).items()}
        return holders, int(item.get("version", {}).get("N", "0"))

    def _compare_and_set(self, pk: str, holders: dict[str, int], version: int) -> dict[str, Any]:
        condition = "attribute_not_exists(pk)" if version == 0 else "version = :version"
        values: dict[str, Any] = {
            ":holders": {"M": {name: {"N": str(expires)} for name, expires in holders.items()}},
            ":next": {"N": str(version + 1)},
        }
        if version:
            values[":version"] = {"N": str(version)}
        return {
            "TableName": self.table,
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": "SET holders = :holders, version = :next",
            "ConditionExpression": condition,
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
