"""Helpers over plain boto3 clients: waiting for emulator states, source databases, EventBridge -> SQS."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import pymysql

T = TypeVar("T")
ROLE_ARN = "arn:aws:iam::123456789012:role/backup-test"
PASSWORD = "Source-pass-1"


def wait_for(
    probe: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.05, what: str = "condition"
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def describe_instance(rds: Any, identifier: str) -> dict[str, Any]:
    found: dict[str, Any] = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    return found


def wait_instance(rds: Any, identifier: str, status: str = "available", timeout: float = 30.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        inst = describe_instance(rds, identifier)
        return inst if inst["DBInstanceStatus"] == status and not inst["PendingModifiedValues"] else None

    return wait_for(probe, timeout, what=f"{identifier} to be {status}")


def wait_gone(rds: Any, identifier: str, timeout: float = 30.0) -> None:
    def probe() -> bool:
        try:
            describe_instance(rds, identifier)
        except rds.exceptions.DBInstanceNotFoundFault:
            return True
        return False

    wait_for(probe, timeout, what=f"{identifier} to be deleted")


def wait_backup_job(backup: Any, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        job: dict[str, Any] = backup.describe_backup_job(BackupJobId=job_id)
        return job if job["State"] in ("COMPLETED", "FAILED", "ABORTED") else None

    return wait_for(probe, timeout, what=f"backup job {job_id}")


def wait_copy_job(backup: Any, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        job: dict[str, Any] = backup.describe_copy_job(CopyJobId=job_id)["CopyJob"]
        return job if job["State"] in ("COMPLETED", "FAILED") else None

    return wait_for(probe, timeout, what=f"copy job {job_id}")


def wait_restore_job(backup: Any, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        job: dict[str, Any] = backup.describe_restore_job(RestoreJobId=job_id)
        return job if job["Status"] in ("COMPLETED", "FAILED", "ABORTED") else None

    return wait_for(probe, timeout, what=f"restore job {job_id}")


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def create_source(
    rds: Any, engine: str, identifier: str | None = None, password: str = PASSWORD, **settings: Any
) -> dict[str, Any]:
    """A 'production' instance on the emulator, available, with an ``events`` table. ``settings`` are more
    CreateDBInstance parameters (its network: DBSubnetGroupName, VpcSecurityGroupIds, ...)."""
    identifier = identifier or unique(f"src-{engine}")
    rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine=engine,
        DBInstanceClass="db.t3.micro",
        MasterUsername="app",
        MasterUserPassword=password,
        AllocatedStorage=20,
        **settings,
    )
    inst = wait_instance(rds, identifier)
    ddl = (
        "CREATE TABLE events (id serial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), note text)"
        if engine == "postgres"
        else "CREATE TABLE events (id int AUTO_INCREMENT PRIMARY KEY, created_at datetime(6) NOT NULL "
        "DEFAULT now(6), note text)"
    )
    run_sql(inst, password, ddl)
    return inst


def is_postgres(inst: dict[str, Any]) -> bool:
    return str(inst["Engine"]).startswith("postgres")


def run_sql(inst: dict[str, Any], password: str, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on an emulated instance with the real driver, as its master user."""
    endpoint = inst["Endpoint"]
    if is_postgres(inst):

        async def run() -> list[tuple[Any, ...]]:
            conn = await asyncpg.connect(
                host=endpoint["Address"],
                port=endpoint["Port"],
                user=inst["MasterUsername"],
                password=password,
                database=inst["DBName"],
                timeout=10,
            )
            try:
                return [tuple(r) for r in await conn.fetch(sql, *args)]
            finally:
                await conn.close()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(lambda: asyncio.run(run())).result()
    conn = pymysql.connect(
        host=endpoint["Address"],
        port=endpoint["Port"],
        user=inst["MasterUsername"],
        password=password,
        database=inst["DBName"],
        autocommit=True,
        connect_timeout=10,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args or None)
            return [tuple(r) for r in cur.fetchall()]
    finally:
        conn.close()


def insert_events(inst: dict[str, Any], password: str, notes: list[str]) -> None:
    mark = "$1" if is_postgres(inst) else "%s"
    for note in notes:
        run_sql(inst, password, f"INSERT INTO events (note) VALUES ({mark})", (note,))


def event_notes(inst: dict[str, Any], password: str) -> list[str]:
    return [row[0] for row in run_sql(inst, password, "SELECT note FROM events ORDER BY id")]


class EventRoute:
    """An EventBridge rule in moto whose target is a fresh SQS queue, as the Terraform rule does in AWS."""

    def __init__(self, events: Any, sqs: Any, pattern: dict[str, Any], name: str | None = None) -> None:
        self.events, self.sqs = events, sqs
        self.name = name or unique("bv-route")
        self.pattern = pattern
        self.queue_url: str = sqs.create_queue(QueueName=self.name)["QueueUrl"]
        self.queue_arn: str = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(Name=self.name, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=self.name, Targets=[{"Id": "queue", "Arn": self.queue_arn}])

    def receive(self, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """At least ``count`` envelopes (parsed bodies), or fewer if the timeout passes first."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            found.extend(self._poll(wait=1))
        return found

    def drain(self, seconds: float = 2.0) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds``."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found.extend(self._poll(wait=1))
        return found

    def _poll(self, wait: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait)
        bodies = []
        for message in response.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def delete(self) -> None:
        self.events.remove_targets(Rule=self.name, Ids=["queue"])
        self.events.delete_rule(Name=self.name)
        self.sqs.delete_queue(QueueUrl=self.queue_url)
