"""DynamoDB source tables for the demo and the tests: an `orders` table in the AWS stand-in (moto)."""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta
from typing import Any

import boto3

INDEX = "by_day"  # partition "day" (one value here), sorted by updated_at: the freshness check's Query


def create_orders_table(name: str, items: int, span: timedelta, client: Any = None) -> str:
    """A table of `items` orders whose `updated_at` (epoch seconds) spreads evenly over `span` up to now;
    returns its ARN. Keys `order-0` .. `order-<items-1>`, status "paid", amounts >= 0."""
    ddb = client or boto3.client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "day", "AttributeType": "S"},
            {"AttributeName": "updated_at", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "day", "KeyType": "HASH"},
                    {"AttributeName": "updated_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    now, step = time.time(), span.total_seconds() / max(items - 1, 1)
    for number in range(items):
        item = {
            "pk": {"S": f"order-{number}"},
            "day": {"S": "all"},
            "updated_at": {"N": str(int(now - (items - 1 - number) * step))},
            "status": {"S": "paid"},
            "amount": {"N": str(10 + number)},
        }
        ddb.put_item(TableName=name, Item=item)
    return str(ddb.describe_table(TableName=name)["Table"]["TableArn"])


def delete_table(name: str, client: Any = None) -> None:
    ddb = client or boto3.client("dynamodb")
    with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
        ddb.delete_table(TableName=name)
