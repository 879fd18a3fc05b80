"""The chain append protocol on moto's DynamoDB and S3 through the worker's own adapters: concurrent appends to
one source make one unbroken chain, a redelivery never rewrites a linked record, and a crash between the S3
write and the link heals on redelivery without a fork."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import boto3
import pytest
from prometheus_client import CollectorRegistry

from worker.adapters.aws import open_clients
from worker.adapters.evidence import ChainLedger, S3Evidence
from worker.evidence.chain import EvidenceChain
from worker.evidence.checks import Entry, check_chains, check_records
from worker.metrics import Metrics

SOURCE = "arn:aws:rds:us-east-1:123456789012:db:orders"


@pytest.fixture
def table_and_bucket(moto_server):
    name = f"chain-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("s3").create_bucket(Bucket=name)
    yield name
    s3 = boto3.client("s3")
    for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)
    boto3.client("dynamodb").delete_table(TableName=name)


def record(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "validation_id": f"v{n}",
        "recovery_point_arn": f"arn:aws:backup:us-east-1:123456789012:recovery-point:rp-{n}",
        "source_resource_arn": SOURCE,
        "status": "PASSED",
        **extra,
    }


async def stored(store: S3Evidence) -> list[Entry]:
    return [Entry(key, await store.get_json(key) or {}) for key in await store.keys("validations/")]


async def test_concurrent_appends_make_one_unbroken_chain(table_and_bucket):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        store = S3Evidence(clients.s3, table_and_bucket)
        ledger = ChainLedger(clients.dynamodb, table_and_bucket)
        chain = EvidenceChain(ledger)
        sealed = await asyncio.gather(
            *(chain.append(f"validations/v{n}.json", record(n), store.put_json) for n in range(8))
        )
        entries = await stored(store)
        assert sorted(s["chain_seq"] for s in sealed if s) == list(range(1, 9))
        assert sorted(e.record["chain_seq"] for e in entries) == list(range(1, 9))
        assert check_records(entries) == [] and check_chains(entries) == []
        assert await ledger.head_seq(SOURCE) == 8


async def test_a_redelivery_never_rewrites_a_linked_record(table_and_bucket):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        store = S3Evidence(clients.s3, table_and_bucket)
        chain = EvidenceChain(ChainLedger(clients.dynamodb, table_and_bucket))
        first = await chain.append("validations/v1.json", record(1), store.put_json)
        await chain.append("validations/v2.json", record(2), store.put_json)
        again = await chain.append("validations/v1.json", record(1, cleanup_status="FAILED"), store.put_json)
        assert again is None
        assert await store.get_json("validations/v1.json") == first
        assert check_chains(await stored(store)) == []


async def test_a_crash_between_write_and_link_heals_without_a_fork(table_and_bucket):
    async with open_clients(Metrics(CollectorRegistry())) as clients:
        store = S3Evidence(clients.s3, table_and_bucket)
        chain = EvidenceChain(ChainLedger(clients.dynamodb, table_and_bucket))
        await chain.append("validations/v1.json", record(1), store.put_json)

        async def write_then_die(key: str, document: dict[str, Any]) -> None:
            await store.put_json(key, document)
            raise ConnectionError("worker killed after the S3 write")

        with pytest.raises(ConnectionError):
            await chain.append("validations/v2.json", record(2), write_then_die)
        await chain.append("validations/v3.json", record(3), store.put_json)  # takes position 2 meanwhile
        entries = await stored(store)
        assert [p.kind for p in check_chains(entries)] == ["chain_fork"]  # v2 written, never linked
        healed = await chain.append("validations/v2.json", record(2), store.put_json)  # the redelivery
        assert healed is not None and healed["chain_seq"] == 3
        assert check_chains(await stored(store)) == []
