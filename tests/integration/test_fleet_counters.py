"""The fleet's coordination items on moto's DynamoDB and the RDS quotas on the emulator, through aiobotocore:
compare-and-set slots under a crowd of takers, what a write between a taker's read and its write does to the
take, a counter item without a version, lease expiry, the runner lease's hand-over and fencing token."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import boto3
import pytest
from prometheus_client import CollectorRegistry

from emulator.bootstrap import create_resources
from worker.adapters.aws import open_clients
from worker.adapters.fleet import FleetCounters, RunnerLease
from worker.adapters.rds import Rds
from worker.fleet import FleetSlots
from worker.fleet_limits import WAITER_SECONDS, Counter, FleetLimits, with_quota_defaults
from worker.leases import CLOCK_SKEW_SECONDS
from worker.metrics import Metrics


@pytest.fixture
def ledger_table(moto_server) -> str:
    return create_resources(f"t{uuid.uuid4().hex[:8]}").ledger_table


async def test_a_crowd_of_takers_gets_exactly_the_limit(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        counters = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)
        limit = [Counter("fleet#total", 3), Counter("fleet#kind#RDS", 5)]

        start = time.time() - 100  # each taker i began to wait at start + i, all before now

        async def take(i: int) -> bool:
            while (taken := (await counters.try_take(limit, f"w{i}/rp", start + i)).taken) is None:
                await asyncio.sleep(0.01)  # lost a race: read again, as FleetSlots does
            return taken

        results = await asyncio.gather(*(take(i) for i in range(12)))
        assert sum(results) == 3
        winners = {f"w{i}/rp" for i, won in enumerate(results) if won}
        assert set(await counters.holders("fleet#total")) == winners
        assert set(await counters.holders("fleet#kind#RDS")) == winners, "both counters or neither"
        losers = [i for i, won in enumerate(results) if not won]
        assert line(ledger_table) == {f"w{i}" for i in losers}, "every loser stands in line"
        first = sorted(winners)[0]
        await counters.release("fleet#total", first)
        await counters.release("fleet#kind#RDS", first)
        assert (await counters.try_take(limit, "late/rp")).taken is False, "the freed slot is owed to the line"
        assert (await counters.try_take(limit, f"w{losers[-1]}/rp", start + losers[-1])).taken is False
        assert (await counters.try_take(limit, f"w{losers[0]}/rp", start + losers[0])).taken is True, "the first"
        assert await counters.renew("fleet#total", first) is False, "a released slot is not renewed"


async def test_an_expired_holder_is_not_counted_and_is_dropped(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        now = int(time.time())
        stale = now - CLOCK_SKEW_SECONDS - 2  # expired, and beyond the skew margin
        slow = now - CLOCK_SKEW_SECONDS + 6  # expired by its own clock, within the margin: still counted
        boto3.client("dynamodb").put_item(
            TableName=ledger_table,
            Item={
                "pk": {"S": "fleet#total"},
                "holders": {"M": {"dead/rp": {"N": str(stale)}, "slow/rp": {"N": str(slow)}}},
                "version": {"N": "7"},
            },
        )
        counters = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)
        limit = [Counter("fleet#total", 2)]
        assert (await counters.try_take(limit, "new/rp")).taken is True
        assert (await counters.try_take(limit, "another/rp")).taken is False
    assert set(await_holders(ledger_table)) == {"slow/rp", "new/rp"}


class Between:
    """The DynamoDB client, with `hook` run between a taker's reads and its TransactWriteItems."""

    def __init__(self, client: Any, hook: Callable[[], Awaitable[None]]) -> None:
        self._client, self._hook = client, hook

    async def transact_write_items(self, **kwargs: Any) -> Any:
        await self._hook()
        return await self._client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def counter_item(table: str, pk: str = "fleet#total") -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True)
    return dict(item.get("Item", {}))


async def test_renewals_and_releases_between_a_read_and_a_write_do_not_make_the_taker_lose(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        others = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)
        limit = [Counter("fleet#total", 3)]
        for holder in ("a/rp", "b/rp"):
            assert (await others.try_take(limit, holder)).taken is True
        version = counter_item(ledger_table)["version"]

        async def renew_and_release() -> None:
            assert await others.renew("fleet#total", "a/rp") is True
            await others.release("fleet#total", "b/rp")

        taker = FleetCounters(Between(clients.dynamodb, renew_and_release), ledger_table, lease_seconds=60)
        assert counter_item(ledger_table)["version"] == version, "reading changes nothing"
        attempt = await taker.try_take(limit, "c/rp")
        assert attempt.taken is True, "a renewal or a release only ever leaves fewer slots than the taker saw"
        assert set(await others.holders("fleet#total")) == {"a/rp", "c/rp"}
        assert int(counter_item(ledger_table)["version"]["N"]) == int(version["N"]) + 1, "only the take bumps it"


async def test_a_renewal_of_an_entry_the_taker_would_drop_makes_it_read_again(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        late = int(time.time()) - CLOCK_SKEW_SECONDS - 5  # free for others by the clock rule, not yet removed
        boto3.client("dynamodb").put_item(
            TableName=ledger_table,
            Item={"pk": {"S": "fleet#total"}, "holders": {"M": {"late/rp": {"N": str(late)}}}, "version": {"N": "4"}},
        )
        others = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)

        async def late_renewal() -> None:
            assert await others.renew("fleet#total", "late/rp") is True

        taker = FleetCounters(Between(clients.dynamodb, late_renewal), ledger_table, lease_seconds=60)
        limit = [Counter("fleet#total", 1)]
        assert (await taker.try_take(limit, "new/rp")).taken is None, "the entry it would drop is live again"
        assert (await others.try_take(limit, "new/rp")).taken is False, "read again: the one slot is taken"
        assert set(await others.holders("fleet#total")) == {"late/rp"}


@pytest.mark.parametrize(
    "item",
    [
        {"holders": {"M": {"old/rp": {"N": "4102444800"}}}},  # holders, no version (expires in 2100)
        {},  # the key alone
        {"version": {"N": "3"}},  # a version, no holders
    ],
    ids=["no-version", "key-only", "no-holders"],
)
async def test_a_malformed_counter_item_is_reported_and_repaired_by_the_next_take(ledger_table, item):
    boto3.client("dynamodb").put_item(TableName=ledger_table, Item={"pk": {"S": "fleet#total"}, **item})
    before = set(item.get("holders", {}).get("M", {}))
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        counters = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)
        log = Events()
        slots = FleetSlots(counters, FleetLimits(total=5), "w1", 5.0, log)
        arn = "arn:aws:backup:eu-west-1:111122223333:recovery-point:x"
        async with slots.hold("111/eu-west-1", "RDS", arn):
            held = set(await counters.holders("fleet#total"))
            assert len(held - before) == 1 and before <= held, "the take kept the live entries"
        assert [e["counters"] for e in log.warnings] == [["fleet#total"]], "said once, then repaired"
        repaired = counter_item(ledger_table)
        assert int(repaired["version"]["N"]) == int(item.get("version", {}).get("N", "0")) + 1
        assert set(repaired["holders"]["M"]) == before
        assert (await counters.try_take([Counter("fleet#total", 5)], "next/rp")).malformed == ()


class Events:
    def __init__(self) -> None:
        self.warnings: list[dict[str, Any]] = []

    def info(self, *_: Any, **__: Any) -> None:
        pass

    def warning(self, event: str, **fields: Any) -> None:
        if event == "fleet.counter_malformed":
            self.warnings.append(fields)


def await_holders(table: str) -> dict[str, str]:
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "fleet#total"}}, ConsistentRead=True)
    return dict(item["Item"]["holders"]["M"])


def line(table: str, pk: str = "fleet#total") -> set[str]:
    """The workers standing in a counter's line."""
    return {name.removeprefix("w#") for name in counter_item(table, pk) if name.startswith("w#")}


async def test_a_slot_given_back_goes_to_the_worker_that_waited_longest(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        counters = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)
        one = [Counter("fleet#total", 1)]
        now = time.time()
        assert (await counters.try_take(one, "A/rp-1", now - 1)).taken is True
        assert (await counters.try_take(one, "B/rp-1", now - 10)).taken is False, "full"
        assert line(ledger_table) == {"B"}
        await counters.release("fleet#total", "A/rp-1")
        # A's next restore (woken at once by its own release) finds the slot owed to B, who waited longer.
        assert (await counters.try_take(one, "A/rp-2", time.time())).taken is False
        assert line(ledger_table) == {"A", "B"}
        assert (await counters.try_take(one, "B/rp-1", now - 10)).taken is True
        assert line(ledger_table) == {"A"}, "B left the line as it took"
        assert set(await counters.holders("fleet#total")) == {"B/rp-1"}


async def test_a_worker_stands_only_in_the_lines_of_counters_that_block_it(ledger_table):
    """X waits longest but for account 1, which stays full; a total slot freed must not wait for X."""
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        counters = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)
        total = Counter("fleet#total", 2)
        first, second = Counter("fleet#account#1", 1), Counter("fleet#account#2", 1)
        now = time.time()
        assert (await counters.try_take([total, first], "H/rp", now)).taken is True
        assert (await counters.try_take([total, second], "Z/rp", now)).taken is True
        assert (await counters.try_take([total, first], "X/rp", now - 100)).taken is False
        assert line(ledger_table) == {"X"} == line(ledger_table, first.pk), "both full: in both lines"
        await counters.release(total.pk, "Z/rp")
        await counters.release(second.pk, "Z/rp")
        assert (await counters.try_take([total, second], "Y/rp", now)).taken is False, "X is first in line"
        assert (await counters.try_take([total, first], "X/rp", now - 100)).taken is False, "account 1 is full"
        assert "X" not in line(ledger_table) and "X" in line(ledger_table, first.pk)
        assert (await counters.try_take([total, second], "Y/rp", now)).taken is True


async def test_a_worker_gone_from_the_line_holds_no_place_and_is_dropped(ledger_table):
    now = time.time()

    def entry(seen: float) -> dict[str, Any]:
        return {"M": {"since": {"N": repr(now - 900)}, "seen": {"N": repr(seen)}}}

    boto3.client("dynamodb").put_item(
        TableName=ledger_table,
        Item={
            "pk": {"S": "fleet#total"},
            "holders": {"M": {}},
            "version": {"N": "3"},
            "w#quiet": entry(now - WAITER_SECONDS - 2),  # stopped looking: not counted, kept a while
            "w#dead": entry(now - 2 * WAITER_SECONDS - 2),  # long gone: dropped by the next take
        },
    )
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        counters = FleetCounters(clients.dynamodb, ledger_table, lease_seconds=60)
        assert (await counters.try_take([Counter("fleet#total", 1)], "new/rp", now)).taken is True
    assert line(ledger_table) == {"quiet"}


async def test_the_runner_lease_has_one_holder_and_a_fencing_token(ledger_table):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        first = RunnerLease(clients.dynamodb, ledger_table, "periodic", "first", lease_seconds=30)
        second = RunnerLease(clients.dynamodb, ledger_table, "periodic", "second", lease_seconds=30)
        assert await first.hold() is True and first.held()
        assert await second.hold() is False and not second.held()
        assert await first.hold() is True, "renewed"
        token = first.token
        await first.release()
        assert not first.held()
        assert await second.hold() is True
        assert second.token == (token or 0) + 1, "a change of hands bumps the fencing token"
        # The old holder renewing with its stale token is refused by DynamoDB, not by its own bookkeeping.
        first.token, first._deadline = token, time.monotonic() + 30
        assert await first.hold() is False and not first.held()
        with pytest.raises(ValueError, match="clock-skew"):
            RunnerLease(clients.dynamodb, ledger_table, "periodic", "x", lease_seconds=2 * CLOCK_SKEW_SECONDS)


async def test_limits_derived_from_the_rds_quotas_keep_a_headroom(emulator):
    emulator.configure(max_db_instances=12, max_db_clusters=4)
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        quotas = await Rds(clients.rds, clients.ec2).account_quotas()
    assert quotas["DBInstances"] == 12 and quotas["DBClusters"] == 4
    derived = with_quota_defaults(FleetLimits(total=50, per_kind={"Aurora": 1}), quotas, headroom=2)
    assert derived.per_kind == {"RDS": 10, "Aurora": 1}, "a limit set by hand is kept"
    assert derived.total == 50
