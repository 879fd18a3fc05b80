"""The reconciler's reads and state in moto's DynamoDB, through aiobotocore: last PASSED validations in
BatchGetItems of 100 keys (unprocessed keys asked again, a bounded number of times, each call under a timeout),
and the state saved and read back over versions, in parts, refused when another runner saved since."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from prometheus_client import CollectorRegistry

from emulator.bootstrap import create_resources
from worker import coverage_state
from worker.adapters.aws import open_clients
from worker.adapters.coverage_store import HEAD, PART, CoverageStore
from worker.coverage_state import SavedState, SourceBackup
from worker.errors import ServiceUnavailable
from worker.metrics import Metrics

DB = "arn:aws:rds:us-east-1:111111111111:db:orders-"


@pytest.fixture
def ledger_table(moto_server) -> str:
    return create_resources(f"t{uuid.uuid4().hex[:8]}").ledger_table


def _calls(metrics: Metrics, operation: str) -> int:
    return int(metrics.aws_api_calls.labels("dynamodb", operation)._value.get())


class Withholding:
    """The real client, but each BatchGetItem answers only its first `serve` keys and leaves the rest
    unprocessed, as DynamoDB does under throttling or past 16 MB; `hang`: never answers."""

    def __init__(self, client, serve: int, hang: bool = False) -> None:
        self.client, self.serve, self.hang, self.calls = client, serve, hang, 0

    async def batch_get_item(self, RequestItems):
        self.calls += 1
        if self.hang:
            await asyncio.sleep(3600)
        ((table, request),) = RequestItems.items()
        served, left = request["Keys"][: self.serve], request["Keys"][self.serve :]
        response = (
            await self.client.batch_get_item(RequestItems={table: {**request, "Keys": served}})
            if served
            else {"Responses": {table: []}}
        )
        response["UnprocessedKeys"] = {table: {**request, "Keys": left}} if left else {}
        return response


async def test_last_passed_is_read_100_sources_a_call(ledger_table):
    dynamodb = boto3.client("dynamodb")
    for n in range(250):
        item = {"pk": {"S": f"src#{DB}{n}"}, "last_started_at": {"N": "5"}}
        if n % 5:
            item["last_passed_at"] = {"N": str(1_700_000_000 + n)}
        dynamodb.put_item(TableName=ledger_table, Item=item)
    metrics = Metrics(CollectorRegistry())
    async with open_clients(metrics) as clients:
        store = CoverageStore(clients.dynamodb, ledger_table)
        passed = await store.last_passed_many([f"{DB}{n}" for n in range(260)] + [f"{DB}3"])
        assert _calls(metrics, "BatchGetItem") == 3 and _calls(metrics, "GetItem") == 0
        assert passed == {f"{DB}{n}": 1_700_000_000 + n for n in range(250) if n % 5}
        assert await store.last_passed_many([]) == {} and _calls(metrics, "BatchGetItem") == 3

        withholding = Withholding(clients.dynamodb, serve=30)
        patient = CoverageStore(withholding, ledger_table)
        patient.pause = 0.001
        assert await patient.last_passed_many([f"{DB}{n}" for n in range(100)]) == {
            f"{DB}{n}": 1_700_000_000 + n for n in range(100) if n % 5
        }
        assert withholding.calls == 4, "30 keys a call: asked again until none is left"

        stingy = Withholding(clients.dynamodb, serve=0)
        bounded = CoverageStore(stingy, ledger_table, attempts=4)
        bounded.pause = 0.001
        with pytest.raises(ServiceUnavailable, match="4 calls"):
            await bounded.last_passed_many([f"{DB}1"])
        assert stingy.calls == 4

        hanging = CoverageStore(Withholding(clients.dynamodb, serve=100, hang=True), ledger_table, call_timeout=0.2)
        with pytest.raises(ServiceUnavailable):
            await asyncio.wait_for(hanging.last_passed_many([f"{DB}1"]), 10)


def _state(count: int, stopped: int = 0) -> SavedState:
    newest = datetime(2026, 12, 1, tzinfo=UTC)
    sources = {f"{DB}{n}": SourceBackup(f"{DB}{n}", "RDS", newest - timedelta(minutes=n)) for n in range(count)}
    return SavedState(newest, sources, {f"{DB}{n}" for n in range(stopped)}, {"prod", "central"})


async def test_the_state_is_saved_in_parts_read_back_and_guarded_by_its_version(ledger_table, monkeypatch):
    dynamodb = boto3.client("dynamodb")
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        store = CoverageStore(clients.dynamodb, ledger_table)
        assert await store.load(0) is None, "nothing stored yet: the runner's empty memory is current"

        monkeypatch.setattr(coverage_state, "PART_BYTES", 2_000)
        state = _state(1_000, stopped=3)
        assert await store.save(state, sources_changed=True) == 1
        assert state.parts > 2, "cut into parts"
        loaded = await store.load(-1)
        assert loaded is not None and (loaded.version, loaded.parts) == (1, state.parts)
        assert (loaded.listed_until, loaded.sources, loaded.reported_stopped, loaded.vaults) == (
            state.listed_until,
            state.sources,
            state.reported_stopped,
            state.vaults,
        )
        assert await store.load(1) is None, "the runner's memory is the stored version: nothing more read"

        # Only the watermark moved: the head alone is written.
        loaded.listed_until = state.listed_until + timedelta(minutes=15)
        assert await store.save(loaded, sources_changed=False) == 2
        head = dynamodb.get_item(TableName=ledger_table, Key={"pk": {"S": HEAD}})["Item"]
        assert head["version"] == {"N": "2"} and dynamodb.get_item(
            TableName=ledger_table, Key={"pk": {"S": f"{PART}0"}}
        )["Item"]["version"] == {"N": "1"}
        assert (await store.load(1)).listed_until == loaded.listed_until, "parts of an older save still count"

        # A stale runner (it read version 1) is refused, whatever it would write.
        stale = _state(5)
        stale.version = 1
        assert await store.save(stale, sources_changed=True) is None
        assert await store.save(stale, sources_changed=False) is None
        assert (await store.load(1)).version == 2

        # Fewer sources: fewer parts, and the surplus parts are deleted with the save.
        shrunk = _state(10)
        shrunk.version, shrunk.parts = 2, state.parts
        assert await store.save(shrunk, sources_changed=True) == 3 and shrunk.parts == 1
        keys = [item["pk"]["S"] for item in dynamodb.scan(TableName=ledger_table)["Items"]]
        assert sorted(key for key in keys if key.startswith(PART)) == [f"{PART}0"]
        assert (await store.load(2)).sources == shrunk.sources


async def test_a_state_too_large_to_store_leaves_a_full_listing_to_the_next_runner(ledger_table, monkeypatch):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        store = CoverageStore(clients.dynamodb, ledger_table)
        assert await store.save(_state(100), sources_changed=True) == 1
        monkeypatch.setattr(coverage_state, "MAX_PARTS", 0)
        big = _state(200)
        big.version, big.parts = 1, 1
        assert await store.save(big, sources_changed=True) == 2
        loaded = await store.load(0)
        assert loaded is not None and loaded.version == 2
        assert loaded.listed_until is None and loaded.sources == {}, "no watermark: list everything once"
