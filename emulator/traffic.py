"""Production stand-in traffic: source databases with an `events` table being written, backed up and copied
into a central vault, so AWS Backup events flow EventBridge -> SQS -> worker. The demo uses it once; the
compose stack runs it forever (`backup-traffic`) so the dashboards move."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomysql
import asyncpg
import boto3

from emulator import traffic_aurora

ROLE_ARN = "arn:aws:iam::{account}:role/backup-validator-demo"
_DDL = {
    "postgres": "CREATE TABLE IF NOT EXISTS events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL,"
    " amount numeric(12,2) NOT NULL)",
    "mysql": "CREATE TABLE IF NOT EXISTS events (id BIGINT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME(6)"
    " NOT NULL, amount DECIMAL(12,2) NOT NULL)",
}


@dataclass
class Source:
    identifier: str
    engine: str
    arn: str
    host: str
    port: int
    user: str
    database: str
    password: str = field(repr=False)

    @property
    def family(self) -> str:
        return "postgres" if "postgres" in self.engine else "mysql"


class Traffic:
    def __init__(self, source_vault: str = "production", central_vault: str = "central") -> None:
        self.rds = boto3.client("rds")
        self.backup = boto3.client("backup")
        self.source_vault = source_vault
        self.central_vault = central_vault
        self.central_vault_arn = ""
        self.role_arn = ""

    async def prepare_vaults(self) -> None:
        for name in (self.source_vault, self.central_vault):
            with contextlib.suppress(self.backup.exceptions.AlreadyExistsException):
                await asyncio.to_thread(self.backup.create_backup_vault, BackupVaultName=name)
        described = await asyncio.to_thread(self.backup.describe_backup_vault, BackupVaultName=self.central_vault)
        self.central_vault_arn = described["BackupVaultArn"]
        self.role_arn = ROLE_ARN.format(account=self.central_vault_arn.split(":")[4])

    async def create_source(self, identifier: str, engine: str) -> Source:
        password = secrets.token_urlsafe(18)
        if traffic_aurora.is_aurora(engine):
            cluster = await traffic_aurora.create_cluster(self.rds, identifier, engine, password)
            login = (cluster["MasterUsername"], cluster["DatabaseName"])
            endpoint = (cluster["Endpoint"], int(cluster["Port"]))
            source = Source(identifier, engine, cluster["DBClusterArn"], *endpoint, *login, password)
            await self.execute(source, [_DDL[source.family]])
            return source
        try:
            await asyncio.to_thread(
                self.rds.create_db_instance,
                DBInstanceIdentifier=identifier,
                Engine=engine,
                DBInstanceClass="db.t4g.micro",
                AllocatedStorage=20,
                MasterUsername="app",
                MasterUserPassword=password,
                DBName="orders",
            )
        except self.rds.exceptions.DBInstanceAlreadyExistsFault:
            raise SystemExit(f"source {identifier} already exists on this emulator") from None
        raw = await self._wait_available(identifier)
        source = Source(
            identifier=identifier,
            engine=engine,
            arn=raw["DBInstanceArn"],
            host=raw["Endpoint"]["Address"],
            port=int(raw["Endpoint"]["Port"]),
            user=raw["MasterUsername"],
            database=raw.get("DBName") or "orders",
            password=password,
        )
        await self.execute(source, [_DDL[source.family]])
        return source

    async def _wait_available(self, identifier: str) -> dict[str, Any]:
        for _ in range(600):
            response = await asyncio.to_thread(self.rds.describe_db_instances, DBInstanceIdentifier=identifier)
            raw: dict[str, Any] = response["DBInstances"][0]
            if raw["DBInstanceStatus"] == "available":
                return raw
            await asyncio.sleep(0.2)
        raise TimeoutError(f"source {identifier} never became available")

    async def write_rows(self, source: Source, count: int, span: timedelta, negative: int = 0) -> None:
        """`count` rows spread over the last `span`, the newest now; `negative` of them with amount < 0."""
        now = datetime.now(UTC)
        rows = [
            (now - span * (index / max(1, count - 1)), -1.0 if index < negative else 10.0 + index)
            for index in range(count)
        ]
        if source.family == "postgres":
            many: tuple[str, list[Any]] = ("INSERT INTO events (created_at, amount) VALUES ($1, $2)", rows)
        else:
            naive = [(moment.replace(tzinfo=None), amount) for moment, amount in rows]
            many = ("INSERT INTO events (created_at, amount) VALUES (%s, %s)", naive)
        await self.execute(source, [], many)

    async def execute(self, source: Source, statements: list[str], many: tuple[str, list[Any]] | None = None) -> None:
        """Run statements (then one parameterised statement over many rows) as the source's master user."""
        if source.family == "postgres":
            connection = await asyncpg.connect(
                host=source.host,
                port=source.port,
                user=source.user,
                password=source.password,
                database=source.database,
            )
            try:
                for statement in statements:
                    await connection.execute(statement)
                if many is not None:
                    await connection.executemany(*many)
            finally:
                await connection.close()
            return
        mysql = await aiomysql.connect(
            host=source.host,
            port=source.port,
            user=source.user,
            password=source.password,
            db=source.database,
            autocommit=True,
        )
        try:
            async with mysql.cursor() as cursor:
                for statement in statements:
                    await cursor.execute(statement)
                if many is not None:
                    await cursor.executemany(*many)
        finally:
            mysql.close()

    async def backup_and_copy(self, source: Source, tags: dict[str, str] | None = None) -> str:
        """Back the source up (with these recovery point tags), copy the recovery point to the central vault;
        returns the copy's ARN."""
        job = await asyncio.to_thread(
            self.backup.start_backup_job,
            BackupVaultName=self.source_vault,
            ResourceArn=source.arn,
            IamRoleArn=self.role_arn,
            **({"RecoveryPointTags": tags} if tags else {}),
        )
        done = await self._wait_job("describe_backup_job", "BackupJobId", job["BackupJobId"])
        copy = await asyncio.to_thread(
            self.backup.start_copy_job,
            RecoveryPointArn=done["RecoveryPointArn"],
            SourceBackupVaultName=self.source_vault,
            DestinationBackupVaultArn=self.central_vault_arn,
            IamRoleArn=self.role_arn,
        )
        copied = await self._wait_job("describe_copy_job", "CopyJobId", copy["CopyJobId"])
        return str(copied["CopyJob"]["DestinationRecoveryPointArn"])

    async def _wait_job(self, operation: str, key: str, job_id: str) -> dict[str, Any]:
        for _ in range(1200):
            response: dict[str, Any] = await asyncio.to_thread(getattr(self.backup, operation), **{key: job_id})
            state = response.get("State") or response.get("CopyJob", {}).get("State")
            if state == "COMPLETED":
                return response
            if state in {"FAILED", "ABORTED", "EXPIRED"}:
                raise RuntimeError(f"{operation} {job_id} ended {state}")
            await asyncio.sleep(0.25)
        raise TimeoutError(f"{operation} {job_id} did not finish")

    async def mark_stale(self, source: Source, minutes: int, column: str = "created_at") -> None:
        """Ask the emulator to make this source's restores lose their newest `minutes` of events (of items, by
        their `column` attribute, for a DynamoDB table)."""
        body = {"source_arn": source.arn, "table": "events", "column": column, "minutes": minutes}
        url = os.environ["AWS_ENDPOINT_URL_BACKUP"].rstrip("/") + "/_emulator/stale"
        request = urllib.request.Request(  # noqa: S310 - the emulator's own control endpoint
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        await asyncio.to_thread(lambda: urllib.request.urlopen(request, timeout=10).read())  # noqa: S310

    async def delete_source(self, source: Source) -> None:
        if traffic_aurora.is_aurora(source.engine):
            await traffic_aurora.delete_cluster(self.rds, source.identifier)
            return
        await asyncio.to_thread(
            self.rds.delete_db_instance, DBInstanceIdentifier=source.identifier, SkipFinalSnapshot=True
        )


async def _forever(count: int, interval: float, central_vault: str, rounds: int | None) -> None:
    traffic = Traffic(central_vault=central_vault)
    await traffic.prepare_vaults()
    engines = ["postgres", "mariadb"]
    suffix = secrets.token_hex(2)
    sources = [
        await traffic.create_source(f"orders-{engines[i % 2]}-{suffix}-{i}", engines[i % 2]) for i in range(count)
    ]
    done = 0
    while rounds is None or done < rounds:
        started = time.monotonic()
        for source in sources:
            await traffic.write_rows(source, 20, timedelta(minutes=30))
            arn = await traffic.backup_and_copy(source)
            print(f"copied {source.identifier} -> {arn}", flush=True)
        done += 1
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="backup-traffic",
        description="Create source databases on the emulator and keep writing, backing up and copying them "
        "into the central vault. AWS endpoints come from AWS_ENDPOINT_URL*.",
    )
    parser.add_argument("--sources", type=int, default=4, help="number of source databases (alternating engines)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between backup rounds")
    parser.add_argument("--central-vault", default="central", help="vault the recovery points are copied to")
    parser.add_argument("--rounds", type=int, default=None, help="stop after this many rounds (default: never)")
    args = parser.parse_args(argv)
    if args.sources < 1 or args.interval < 0:
        print("backup-traffic: --sources must be >= 1 and --interval >= 0", file=sys.stderr)
        return 2
    asyncio.run(_forever(args.sources, args.interval, args.central_vault, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
