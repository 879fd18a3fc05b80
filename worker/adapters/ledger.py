"""The DynamoDB ledger: one item per recovery point, claimed with a single conditional write.

Partition key `pk`, TTL attribute `expires_at`; the items and their rules are in worker/ledger_item.py. Every
write is a named operation of the flow (claim, mark_restoring, checkpoint_record, finish, ...).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from worker.adapters.aws import error_code, translate_errors
from worker.leases import CLOCK_SKEW_SECONDS
from worker.ledger_item import CHECKED, CLAIMED, DONE, RESTORING, ClaimResult, LedgerItem, ResourceEntry

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


def _to_attr(value: Any) -> dict[str, Any]:
    if isinstance(value, float):
        value = Decimal(str(value))
    return dict(_serialize(value))


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    plain = {key: _deserialize(value) for key, value in item.items()}
    return {key: int(value) if isinstance(value, Decimal) else value for key, value in plain.items()}


@translate_errors
class Ledger:
    def __init__(
        self,
        client: Any,
        table: str,
        owner: str,
        lease_seconds: int,
        ttl_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._clock = clock  # this worker's wall clock: leases are written and judged by it
        self.table = table
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._ttl_seconds = ttl_days * 86400

    async def claim(
        self, recovery_point_arn: str, message_id: str, validation_id: str, *, force: bool = False
    ) -> ClaimResult:
        """Take the recovery point unless it is done or another message's lease is alive (by the clock-skew rule
        of worker/leases.py: an expired lease stays another's until it ended `CLOCK_SKEW_SECONDS` ago).

        The lease belongs to a message, not only to a worker: a duplicate of the message delivered to the same
        process must not pass as a retry of the original. With `force` (on-demand `--force`) a DONE item is
        taken too, once per forcing message, as a new generation (see `_reopen`).
        """
        result = await self._claim(recovery_point_arn, message_id, validation_id)
        if force and result.outcome == "done":
            return await self._reopen(recovery_point_arn, message_id)
        return result

    async def _reopen(self, recovery_point_arn: str, message_id: str) -> ClaimResult:
        """DONE -> CLAIMED, its restore job and record forgotten, the generation (part of the idempotency
        token and of the validation id) one up, its evidence-chain link cleared for the new record. Only from
        DONE, and only once per message: a redelivered forcing message resumes its own run through the
        ordinary claim instead of starting a third."""
        now = int(self._clock())
        try:
            response = await self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"rp#{recovery_point_arn}"}},
                UpdateExpression=(
                    "SET #owner = :me, message_id = :mid, forced_by = :mid, lease_expires_at = :lease,"
                    " updated_at = :now, claimed_at = :now, #state = :claimed, expires_at = :ttl,"
                    " generation = if_not_exists(generation, :zero) + :one"
                    " REMOVE restore_job_id, restore_started_at, #record, #status, resource_id, engine,"
                    " validation_id, chain_seq, chain_digest, taken_from, taken_lease, crash_hand_overs"
                ),
                ConditionExpression="#state = :done AND (attribute_not_exists(forced_by) OR forced_by <> :mid)",
                ExpressionAttributeNames={
                    "#owner": "owner",
                    "#state": "state",
                    "#record": "record",
                    "#status": "status",
                },
                ExpressionAttributeValues={
                    ":me": {"S": self.owner},
                    ":mid": {"S": message_id},
                    ":now": {"N": str(now)},
                    ":lease": {"N": str(now + self.lease_seconds)},
                    ":claimed": {"S": CLAIMED},
                    ":done": {"S": DONE},
                    ":ttl": {"N": str(now + self._ttl_seconds)},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            current = await self.item(recovery_point_arn) or LedgerItem(recovery_point_arn)
            return ClaimResult("done" if current.state == DONE else "held", current, self._clock())
        return ClaimResult("claimed", LedgerItem.from_attributes(_from_item(response["Attributes"])))

    async def _claim(self, recovery_point_arn: str, message_id: str, validation_id: str) -> ClaimResult:
        now = int(self._clock())
        key = {"pk": {"S": f"rp#{recovery_point_arn}"}}
        try:
            response = await self._client.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression=(
                    # First, what the claim takes over (read before this update's writes): a crashed holder?
                    "SET taken_from = if_not_exists(#owner, :nobody),"
                    " taken_lease = if_not_exists(lease_expires_at, :zero),"
                    " #owner = :me, message_id = :mid, lease_expires_at = :lease, updated_at = :now,"
                    " claimed_at = if_not_exists(claimed_at, :now),"
                    " validation_id = if_not_exists(validation_id, :vid),"
                    " #state = if_not_exists(#state, :claimed), expires_at = :ttl"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#state <> :done AND"
                    " (lease_expires_at < :free_before OR (#owner = :me AND message_id = :mid)))"
                ),
                ExpressionAttributeNames={"#owner": "owner", "#state": "state"},
                ExpressionAttributeValues={
                    ":me": {"S": self.owner},
                    ":mid": {"S": message_id},
                    ":lease": {"N": str(now + self.lease_seconds)},
                    ":now": {"N": str(now)},
                    # The clock-skew rule (worker/leases.py): another holder's lease is taken over only once it
                    # ended more than the margin ago by our clock; a release (lease 0) is free at once.
                    ":free_before": {"N": str(now - CLOCK_SKEW_SECONDS)},
                    ":nobody": {"S": ""},
                    ":zero": {"N": "0"},
                    ":vid": {"S": validation_id},
                    ":claimed": {"S": CLAIMED},
                    ":done": {"S": DONE},
                    ":ttl": {"N": str(now + self._ttl_seconds)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            current = await self.item(recovery_point_arn) or LedgerItem(recovery_point_arn)
            return ClaimResult("done" if current.state == DONE else "held", current, self._clock())
        return ClaimResult("claimed", LedgerItem.from_attributes(_from_item(response["Attributes"])))

    async def item(self, recovery_point_arn: str) -> LedgerItem | None:
        attributes = await self._get(f"rp#{recovery_point_arn}")
        return None if attributes is None else LedgerItem.from_attributes(attributes)

    async def resource(self, identifier: str) -> ResourceEntry | None:
        attributes = await self._get(f"res#{identifier}")
        if attributes is None:
            return None
        return ResourceEntry(
            identifier, str(attributes.get("recovery_point_arn", "")), int(attributes.get("created_at", 0))
        )

    async def mark_restoring(self, recovery_point_arn: str, job_id: str, resource_id: str, engine: str) -> None:
        await self._update(
            recovery_point_arn,
            state=RESTORING,
            restore_job_id=job_id,
            restore_started_at=int(self._clock()),
            resource_id=resource_id,
            engine=engine,
        )

    async def checkpoint_record(self, recovery_point_arn: str, record: dict[str, Any]) -> None:
        """The record draft, before cleanup: a crash after it needs no second restore."""
        await self._update(recovery_point_arn, state=CHECKED, record=json.dumps(record))

    async def finish(self, recovery_point_arn: str, status: str) -> None:
        await self._update(recovery_point_arn, state=DONE, status=status)

    async def _get(self, pk: str) -> dict[str, Any] | None:
        response = await self._client.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        item = response.get("Item")
        return _from_item(item) if item else None

    async def _update(self, recovery_point_arn: str, **fields: Any) -> None:
        """Record progress; only the current owner may write (a stale worker gets ConditionalCheckFailed)."""
        fields["updated_at"] = int(self._clock())
        names = {f"#f{index}": name for index, name in enumerate(fields)}
        values = {f":v{index}": _to_attr(value) for index, value in enumerate(fields.values())}
        values[":me"] = {"S": self.owner}
        await self._client.update_item(
            TableName=self.table,
            Key={"pk": {"S": f"rp#{recovery_point_arn}"}},
            UpdateExpression="SET " + ", ".join(f"{n} = :v{i}" for i, n in enumerate(names)),
            ConditionExpression="#owner = :me",
            ExpressionAttributeNames={**names, "#owner": "owner"},
            ExpressionAttributeValues=values,
        )

    async def renew(self, recovery_point_arn: str) -> None:
        await self._update(recovery_point_arn, lease_expires_at=int(self._clock()) + self.lease_seconds)

    async def release(self, recovery_point_arn: str) -> None:
        """Let another worker resume at once (shutdown): the lease ends now, progress is kept."""
        await self._update(recovery_point_arn, lease_expires_at=0)

    async def hand_over(self, recovery_point_arn: str) -> None:
        """Release after taking over from a crashed holder, counting it (`ClaimResult.after_crash`)."""
        await self._client.update_item(
            TableName=self.table,
            Key={"pk": {"S": f"rp#{recovery_point_arn}"}},
            UpdateExpression=(
                "SET lease_expires_at = :zero, updated_at = :now,"
                " crash_hand_overs = if_not_exists(crash_hand_overs, :zero) + :one"
            ),
            ConditionExpression="#owner = :me",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={
                ":me": {"S": self.owner},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":now": {"N": str(int(self._clock()))},
            },
        )

    async def record_resource(self, identifier: str, recovery_point_arn: str) -> None:
        now = int(self._clock())
        await self._client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"res#{identifier}"},
                "recovery_point_arn": {"S": recovery_point_arn},
                "created_at": {"N": str(now)},
                "expires_at": {"N": str(now + self._ttl_seconds)},
            },
        )

    async def admit_sample(self, source_arn: str, recovery_point_arn: str, min_interval_seconds: int) -> bool:
        """At most one validation per source per interval; the same recovery point is always re-admitted."""
        now = int(self._clock())
        try:
            await self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"src#{source_arn}"}},
                UpdateExpression="SET last_started_at = :now, last_rp = :rp, expires_at = :ttl",
                ConditionExpression=("attribute_not_exists(pk) OR last_started_at <= :cutoff OR last_rp = :rp"),
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":cutoff": {"N": str(now - min_interval_seconds)},
                    ":rp": {"S": recovery_point_arn},
                    ":ttl": {"N": str(now + self._ttl_seconds)},
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    async def source_history(self, source_arn: str) -> dict[str, int]:
        item = await self._get(f"src#{source_arn}") or {}
        raw = item.get("last_row_counts")
        return {str(k): int(v) for k, v in json.loads(raw).items()} if isinstance(raw, str) else {}

    async def save_source_history(self, source_arn: str, row_counts: dict[str, int], passed: bool) -> None:
        expression = "SET last_row_counts = :counts"
        values: dict[str, Any] = {":counts": {"S": json.dumps(row_counts, sort_keys=True)}}
        if passed:
            expression += ", last_passed_at = :now"
            values[":now"] = {"N": str(int(self._clock()))}
        await self._client.update_item(
            TableName=self.table,
            Key={"pk": {"S": f"src#{source_arn}"}},
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )

    async def ping(self) -> None:
        await self._client.describe_table(TableName=self.table)
