"""The bench's moto finds a receipt handle's message by index instead of scanning the queue: the same answers as
moto's own code for every case the worker meets (current and old handles, deleted, unknown, another queue)."""

import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.stand import free_port


@pytest.fixture
def sqs(tmp_path: Path):
    """The bench's moto in its own process (its patches must not reach the tests' moto)."""
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.moto_counting", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while "listening" not in (tmp_path / "moto.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield boto3.client("sqs", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def test_heartbeats_deletes_and_refusals_by_receipt_handle(sqs):
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    for n in range(30):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    got = []
    while len(got) < 30:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    assert sorted(m["Body"] for m in got) == sorted(f"m{n}" for n in range(30))
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
    handles = [m["ReceiptHandle"] for m in got]
    entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 600} for i, h in enumerate(handles[:10])]
    answer = sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
    assert len(answer["Successful"]) == 10 and not answer.get("Failed")
    # A handle of another queue, or one never given, is refused.
    bad = [{"Id": "0", "ReceiptHandle": handles[0], "VisibilityTimeout": 60}]
    assert sqs.change_message_visibility_batch(QueueUrl=other, Entries=bad)["Failed"][0]["Code"] == (
        "ReceiptHandleIsInvalid"
    )
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="nope", VisibilityTimeout=60)
    # Visibility 0 puts a message back at once; received again, it has a new handle and the old one still works.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles[0], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    assert [m["Body"] for m in again] == [got[0]["Body"]] and again[0]["ReceiptHandle"] != handles[0]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles[0], VisibilityTimeout=300)
    # Deletes: by any handle, twice is fine, and a deleted message's handle is refused for a heartbeat.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[0])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[1:10])]
    )
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles[1], VisibilityTimeout=60)
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=other, ReceiptHandle=handles[10])
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "20"
