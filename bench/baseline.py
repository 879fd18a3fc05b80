"""The reference: validations handled the way the seed handles them, as AWS Lambda functions.

Every event is a fresh invocation that creates its own clients and database connection (warm containers: each
keeps its boto3 session, as a Lambda container keeps its module state). The copy event starts the restore; the
`Restore Job State Change` COMPLETED event triggers the test; nothing else learns that a restore finished.

`python -m bench.baseline` is the function runtime: invocations arrive as JSON lines on stdin, each finished
validation leaves one JSON line on stdout. The bench plays the event source mapping (receive, invoke, delete),
whose work AWS does not bill to the function, so its CPU is not counted here either.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import asyncpg
import boto3
import boto3.session

CHECKS = (
    "SELECT max(created_at) FROM events",
    "SELECT count(*) FROM events",
    "SELECT count(*) FROM events WHERE amount < 0",
)

_containers = threading.local()


def _session() -> boto3.session.Session:
    if not hasattr(_containers, "session"):
        _containers.session = boto3.session.Session()
    session: boto3.session.Session = _containers.session
    return session


def handler(event: dict[str, Any], bucket: str, role_arn: str) -> dict[str, Any] | None:
    """The function. Returns a summary for the bench once a validation is finished."""
    invoked = time.time()
    if "recoveryPointArn" in event:
        start_restore(event["recoveryPointArn"], event["backupVaultName"], role_arn)
        return None
    detail = event.get("detail", {})
    if event.get("detail-type") == "Restore Job State Change" and detail.get("status") == "COMPLETED":
        return test_restore(detail, bucket, invoked)
    return None


def start_restore(arn: str, vault: str, role_arn: str) -> None:
    backup = _session().client("backup")
    metadata = backup.get_recovery_point_restore_metadata(BackupVaultName=vault, RecoveryPointArn=arn)[
        "RestoreMetadata"
    ]
    metadata.update(
        DBInstanceIdentifier="bl-" + hashlib.sha256(arn.encode()).hexdigest()[:16],
        DBInstanceClass="db.t4g.micro",
        MultiAZ="false",
        PubliclyAccessible="false",
        DeletionProtection="false",
    )
    backup.start_restore_job(RecoveryPointArn=arn, Metadata=metadata, ResourceType="RDS", IamRoleArn=role_arn)


def test_restore(detail: dict[str, Any], bucket: str, invoked: float) -> dict[str, Any]:
    rds = _session().client("rds")
    identifier = detail["createdResourceArn"].rsplit(":", 1)[-1]
    _wait_available(rds, identifier)
    password = secrets.token_urlsafe(24)
    rds.modify_db_instance(DBInstanceIdentifier=identifier, MasterUserPassword=password, ApplyImmediately=True)
    time.sleep(0.5)
    instance = _wait_available(rds, identifier)
    checked = time.time()
    values = asyncio.run(_checks(instance, password))
    check_s = time.time() - checked
    record = {"recovery_point_arn": detail["recoveryPointArn"], "restored_instance_id": identifier, "values": values}
    s3 = _session().client("s3")
    s3.put_object(Bucket=bucket, Key=f"baseline/{identifier}.json", Body=json.dumps(record, default=str).encode())
    rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    return {
        "restore_started": _epoch(detail["creationDate"]),
        "restore_ended": _epoch(detail["completionDate"]),
        "detected": invoked,
        "check_s": check_s,
        "finished": time.time(),
    }


def _wait_available(rds: Any, identifier: str) -> dict[str, Any]:
    for _ in range(600):
        instance: dict[str, Any] = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
        if instance["DBInstanceStatus"] == "available" and not instance.get("PendingModifiedValues"):
            return instance
        time.sleep(0.5)
    raise TimeoutError(identifier)


async def _checks(instance: dict[str, Any], password: str) -> list[Any]:
    connection = await asyncpg.connect(
        host=instance["Endpoint"]["Address"],
        port=instance["Endpoint"]["Port"],
        user=instance["MasterUsername"],
        password=password,
        database=instance.get("DBName") or "postgres",
    )
    try:
        return [await connection.fetchval(sql) for sql in CHECKS]
    finally:
        await connection.close()


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def serve(bucket: str, role_arn: str, concurrency: int) -> None:
    """The runtime: one thread per concurrent invocation, results as JSON lines on stdout."""
    lock = threading.Lock()

    def invoke(line: str) -> None:
        try:
            result = handler(json.loads(line), bucket, role_arn)
        except Exception as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        if result is not None:
            with lock:
                sys.stdout.write(json.dumps(result) + "\n")
                sys.stdout.flush()

    with ThreadPoolExecutor(concurrency) as pool:
        for line in sys.stdin:
            if line.strip():
                pool.submit(invoke, line)


def spawn(env: dict[str, str], bucket: str, role_arn: str, concurrency: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.baseline", bucket, role_arn, str(concurrency)],
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
