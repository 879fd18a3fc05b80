"""The tests' moto isolates DynamoDB requests as DynamoDB does (emulator/moto_server.py): a GetItem never sees
an update of a TransactWriteItems that is cancelled, and no write is lost to a cancelled transaction's roll-back.

moto applies a transaction's items to the live table one by one and, when one fails, puts back a copy of the
table taken at its start; DynamoDB makes a transaction all or nothing and serializable against GetItem and
single-item writes (AWS: "DynamoDB transactions", isolation levels)."""

from __future__ import annotations

import threading
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.bootstrap import create_resources

ITEMS = 98  # with the first item and the one whose condition fails: 100, the most one transaction may hold


@pytest.fixture
def table(moto_server) -> str:
    name = create_resources(f"t{uuid.uuid4().hex[:8]}").ledger_table
    client = boto3.client("dynamodb")
    for key in ["first", "counted"] + [f"item-{n}" for n in range(ITEMS)]:
        client.put_item(TableName=name, Item={"pk": {"S": key}, "v": {"N": "0"}})
    return name


def cancelled_transaction(table: str) -> list[dict[str, object]]:
    """Sets `first` to 1, touches ITEMS others, then fails on a missing item: nothing of it may ever be seen."""

    def update(key: str, expression: str, condition: str = "attribute_exists(pk)") -> dict[str, object]:
        return {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": key}},
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }

    return [
        update("first", "SET v = :one"),
        *(update(f"item-{n}", "SET w = :one") for n in range(ITEMS)),
        update("missing", "SET v = :one"),
    ]


def test_reads_and_writes_never_see_or_lose_to_a_cancelled_transaction(table):
    client = boto3.client("dynamodb")
    done = threading.Event()
    seen: set[str] = set()
    increments = 0

    def read() -> None:
        reader = boto3.client("dynamodb")
        while not done.is_set():
            item = reader.get_item(TableName=table, Key={"pk": {"S": "first"}}, ConsistentRead=True)["Item"]
            seen.add(item["v"]["N"])

    def count() -> None:
        nonlocal increments
        writer = boto3.client("dynamodb")
        while not done.is_set():
            writer.update_item(
                TableName=table,
                Key={"pk": {"S": "counted"}},
                UpdateExpression="SET v = v + :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
            increments += 1

    threads = [threading.Thread(target=read), threading.Thread(target=count)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(10):
            with pytest.raises(ClientError, match="TransactionCanceled"):
                client.transact_write_items(TransactItems=cancelled_transaction(table))
    finally:
        done.set()
        for thread in threads:
            thread.join(30)
    assert seen == {"0"}, "a read saw an update of a transaction that was cancelled"
    counted = client.get_item(TableName=table, Key={"pk": {"S": "counted"}}, ConsistentRead=True)["Item"]
    assert int(counted["v"]["N"]) == increments, "an increment was lost to a transaction's roll-back"
